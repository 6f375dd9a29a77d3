"""The sync engine end to end: ``sync_provider`` reading moto through the AWS driver.

test_sync_engine.py pins the engine's rules with in-memory records; these prove the same rules
hold with the real driver, the real wire format and the real failures a region can have.
"""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.inventory import sync
from portal.inventory.models import Host, HostInterval, Provider, SyncStatus
from tests.helpers import host, open_intervals, run_sync

SECRET = "sYnC/tEsT+K7MDENG/bPxRfiCY-never-logged"
CREDENTIALS = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": SECRET}

# Query budget of one sync (see the 2,000-instance test): fixed cost, plus cost per batch.
RUN_QUERIES, BATCH_QUERIES = 10, 8


def writes(queries):
    """Statements that write host or host interval rows.

    On PostgreSQL new rows go in by COPY on the driver's own cursor, which Django does not log;
    the ids drawn from the sequence just before (``nextval``) give every such insert away.
    """
    return [q["sql"] for q in queries
            if (q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE", "COPY"}
                and "inventory_host" in q["sql"]) or "nextval(" in q["sql"]]


@pytest.fixture
def provider(make_provider, aws):
    return make_provider(settings=aws.settings(), credentials=CREDENTIALS)


@pytest.fixture
def proxied(make_provider, aws, fault_proxy):
    """A provider that reads moto through the fault proxy, with a 1 s read timeout."""
    settings = aws.settings(endpoint_url=fault_proxy.url, read_timeout=1)
    return make_provider(name="aws-proxied", settings=settings, credentials=CREDENTIALS)


def test_first_sync_creates_hosts_with_their_facts(provider, aws):
    web, api, batch = aws.run_instances("eu-west-1", 3, instance_type="m5.large", zone="c",
                                        tags={"team": "search"})
    db, spare = aws.run_instances("us-east-1", 2, instance_type="r5.large", name="db")
    aws.stop("us-east-1", spare)
    described = aws.describe("eu-west-1", web)

    run = run_sync(provider)

    assert run.status == SyncStatus.SUCCEEDED and run.message == ""
    assert (run.seen, run.created, run.scopes_total, run.scopes_done) == (5, 5, 2, 2)
    assert set(Host.objects.filter(tenant=provider.tenant, provider=provider)
               .values_list("external_id", flat=True)) == {web, api, batch, db, spare}
    row = host(web)
    assert (row.scope, row.region, row.zone, row.name) == ("eu-west-1", "eu-west-1",
                                                           "eu-west-1c", web)
    assert (row.state, row.instance_type, row.vcpus, row.memory_mib) == ("running", "m5.large",
                                                                         2, 8192)
    assert row.tags == {"team": "search"} and row.launched_at == described["LaunchTime"]
    assert row.addresses == [described["PrivateIpAddress"], described["PublicIpAddress"]]
    assert (host(db).name, host(db).memory_mib, host(spare).state) == ("db", 16384, "stopped")
    interval = open_intervals(web).get()
    assert (interval.vcpus, interval.memory_mib, interval.sockets) == (2, 8192, 1)
    assert HostInterval.objects.count() == 4 and not open_intervals(spare).exists()
    provider.refresh_from_db()
    assert provider.last_run_id == run.pk and provider.sync_lease_owner == ""


def test_resync_with_nothing_changed_writes_no_host_rows(provider, aws):
    aws.run_instances("eu-west-1", 4)
    aws.run_instances("us-east-1", 3)
    run_sync(provider)

    with CaptureQueriesContext(connection) as ctx:
        run = run_sync(provider)

    assert writes(ctx.captured_queries) == []
    assert (Host.objects.count(), HostInterval.objects.count()) == (7, 7)
    assert run.status == SyncStatus.SUCCEEDED
    assert (run.seen, run.created, run.updated, run.unchanged, run.archived) == (7, 0, 0, 7, 0)


def test_terminated_instance_is_archived_and_its_interval_closed(provider, aws):
    kept, gone = aws.run_instances("eu-west-1", 2)
    run_sync(provider)
    aws.terminate("eu-west-1", gone)

    run = run_sync(provider)

    archived = host(gone)
    assert run.archived == 1 and archived.archived_at is not None
    assert archived.intervals.get().ended_at == archived.archived_at
    assert host(kept).archived_at is None and open_intervals(kept).count() == 1


def test_stopped_instance_closes_its_interval_and_stays_active(provider, aws):
    instance, = aws.run_instances("eu-west-1")
    run_sync(provider)
    aws.stop("eu-west-1", instance)

    run = run_sync(provider)

    row = host(instance)
    assert (run.updated, run.archived) == (1, 0)
    assert row.state == "stopped" and row.archived_at is None
    assert row.intervals.count() == 1 and not open_intervals(instance).exists()


def test_started_again_instance_opens_a_new_interval(provider, aws):
    instance, = aws.run_instances("eu-west-1")
    run_sync(provider)
    aws.stop("eu-west-1", instance)
    run_sync(provider)
    aws.start("eu-west-1", instance)

    run_sync(provider)

    intervals = list(host(instance).intervals.order_by("started_at", "pk"))
    assert host(instance).state == "running"
    assert [interval.ended_at is None for interval in intervals] == [False, True]
    assert intervals[1].started_at >= intervals[0].ended_at


def test_resized_instance_closes_and_reopens_its_interval(provider, aws):
    instance, = aws.run_instances("us-east-1", instance_type="m5.large")
    run_sync(provider)
    aws.resize("us-east-1", instance, "m5.2xlarge")

    run = run_sync(provider)

    sizes = list(host(instance).intervals.order_by("started_at", "pk")
                 .values_list("vcpus", "memory_mib", "ended_at"))
    assert run.updated == 1 and host(instance).instance_type == "m5.2xlarge"
    assert [(vcpus, memory) for vcpus, memory, _ in sizes] == [(2, 8192), (8, 32768)]
    assert [ended is None for _, _, ended in sizes] == [False, True]


@pytest.mark.parametrize(("mode", "phrase"), [
    ("error", "The service is unavailable"),
    ("slow", "did not answer within 1 s"),
])
def test_failing_region_keeps_its_hosts_and_makes_the_run_partial(
    proxied, aws, fault_proxy, mode, phrase
):
    eu = aws.run_instances("eu-west-1", 2)
    us = aws.run_instances("us-east-1", 3)
    run_sync(proxied)
    # Gone from both regions: only the region read whole may archive its host.
    aws.terminate("eu-west-1", eu[0])
    aws.terminate("us-east-1", us[0])
    fault_proxy.fail("us-east-1", mode)

    run = run_sync(proxied)

    assert run.status == SyncStatus.PARTIAL and run.message == "1 scope(s) failed."
    assert list(run.errors) == ["us-east-1"] and phrase in run.errors["us-east-1"]
    assert (run.scopes_done, run.archived) == (2, 1)
    assert Host.objects.active().filter(scope="us-east-1").count() == 3
    assert all(open_intervals(external_id).count() == 1 for external_id in us)
    assert host(eu[0]).archived_at is not None and not open_intervals(eu[0]).exists()


def test_rejected_key_fails_the_run_and_keeps_the_hosts(provider, aws):
    instance, = aws.run_instances("eu-west-1")
    run_sync(provider)
    aws.reject_credentials()

    run = run_sync(provider)

    assert run.status == SyncStatus.FAILED
    assert run.message.startswith(
        "AWS rejected the access key AKIA…MPLE for region eu-west-1: AWS was not able to "
        "validate the provided access credentials"
    )
    assert host(instance).archived_at is None and open_intervals(instance).count() == 1


def test_provider_being_synced_elsewhere_is_skipped(provider, aws):
    aws.run_instances("eu-west-1")
    assert sync.claim(provider.pk, "other-worker")

    run = run_sync(provider)

    provider.refresh_from_db()
    assert run.status == SyncStatus.SKIPPED and run.message
    assert not Host.objects.exists()
    assert provider.sync_lease_owner == "other-worker"


def test_expired_lease_is_taken_over(provider, aws):
    instance, = aws.run_instances("eu-west-1")
    Provider.objects.filter(pk=provider.pk).update(
        sync_lease_owner="crashed-worker", sync_lease_until=timezone.now() - timedelta(minutes=1)
    )

    run = run_sync(provider)

    provider.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED and host(instance).state == "running"
    assert (provider.sync_lease_owner, provider.sync_lease_until) == ("", None)


def test_secret_key_never_reaches_logs_or_runs(proxied, aws, fault_proxy, caplog):
    # The strictest case: an operator has turned SDK debugging on (settings quiet botocore).
    for name in (None, "botocore", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    aws.run_instances("eu-west-1", 2)
    aws.run_instances("us-east-1")

    runs = [run_sync(proxied)]
    fault_proxy.fail("us-east-1", "error")
    runs.append(run_sync(proxied))
    aws.reject_credentials()
    runs.append(run_sync(proxied))

    assert [run.status for run in runs] == ["succeeded", "partial", "failed"]
    # botocore's request-level debug lines were captured, so the check below had its chance.
    assert any(record.name.startswith("botocore") for record in caplog.records)
    assert SECRET not in caplog.text
    assert not any(SECRET in record.getMessage() for record in caplog.records)
    assert not any(SECRET in f"{run.message} {run.errors}" for run in runs)


def test_two_thousand_instances_sync_in_a_bounded_number_of_queries(make_provider, aws):
    aws.run_instances("eu-west-1", 2000, instance_type="t3.micro")
    provider = make_provider(settings=aws.settings(["eu-west-1"]), credentials=CREDENTIALS)

    with CaptureQueriesContext(connection) as first:
        first_run = run_sync(provider)
    with CaptureQueriesContext(connection) as again:
        second_run = run_sync(provider)

    # A run costs the same ten queries whatever its size (load the provider, open the run,
    # claim, start, save the plan, list the scope's active hosts for archiving, save, release,
    # finish, mark the provider) and each batch of 1,000 at most eight (select the hosts, read
    # changed facts, savepoint, insert or update hosts, select and insert intervals, release,
    # save progress, renew: seven on a first sync, six on a quiet resync). 2,000 instances are
    # two batches; one query per host would add thousands.
    bound = RUN_QUERIES + 2 * BATCH_QUERIES
    assert len(first.captured_queries) <= bound
    assert len(again.captured_queries) <= bound
    assert (first_run.created, second_run.unchanged, second_run.created) == (2000, 2000, 0)
    # The detector sees the first sync's inserts (on either database), so its silence on the
    # resync means nothing was written.
    assert writes(first.captured_queries) and writes(again.captured_queries) == []
    assert HostInterval.objects.filter(ended_at__isnull=True).count() == 2000
