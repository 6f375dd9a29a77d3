"""The sync engine's rules, driven by in-memory record streams (no provider involved).

The AWS-backed tests in test_sync_aws.py prove the same rules end to end; these pin down the
engine's edge cases and its query shape precisely.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.inventory import sync
from portal.inventory.models import Host, HostInterval, SyncRun
from providers.base import HostRecord, ScopeDone, ScopeFailed, ScopePlan


def records(scope, count, *, state="running", vcpus=2, prefix="i-"):
    return [
        HostRecord(
            scope=scope, external_id=f"{prefix}{scope}-{n}", name=f"host-{scope}-{n}",
            state=state, region=scope, vcpus=vcpus, memory_mib=4096, sockets=1,
            tags={"team": "a"}, addresses=("10.0.0.1",),
        )
        for n in range(count)
    ]


def stream(*scopes):
    """``stream(("r1", recs), ("r2", None))``: a ScopePlan, then each scope done or failed."""
    yield ScopePlan(tuple(name for name, _ in scopes))
    for name, recs in scopes:
        if recs is None:
            yield ScopeFailed(name, f"{name} timed out")
            continue
        yield from recs
        yield ScopeDone(name)


def run_for(provider):
    return SyncRun.objects.create(provider=provider)


def writes(queries):
    """Statements that write hosts or intervals.

    On PostgreSQL new rows arrive by COPY, which Django's query log does not show; the id draw
    from the sequence that precedes every COPY stands in for it.
    """
    return [
        q["sql"] for q in queries
        if "nextval(" in q["sql"]
        or (q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"} and "inventory_host" in q["sql"])
    ]


@pytest.fixture
def provider(make_provider):
    return make_provider()


def test_first_sync_creates_hosts_and_opens_intervals(provider):
    run = run_for(provider)

    sync.reconcile(provider, run, stream(("r1", records("r1", 3)), ("r2", records("r2", 2))))

    assert (run.created, run.seen, run.scopes_done, run.scopes_total) == (5, 5, 2, 2)
    assert Host.objects.filter(provider=provider, tenant=provider.tenant).count() == 5
    assert HostInterval.objects.filter(ended_at__isnull=True).count() == 5
    host = Host.objects.get(external_id="i-r1-0")
    assert (host.vcpus, host.tags, host.addresses, host.scope) == (2, {"team": "a"},
                                                                   ["10.0.0.1"], "r1")


def test_resync_without_changes_writes_nothing(provider):
    sync.reconcile(provider, run_for(provider), stream(("r1", records("r1", 50))))
    run = run_for(provider)

    with CaptureQueriesContext(connection) as ctx:
        sync.reconcile(provider, run, stream(("r1", records("r1", 50))))

    assert writes(ctx.captured_queries) == []
    assert (run.created, run.updated, run.unchanged, run.archived) == (0, 0, 50, 0)


def test_changed_host_updates_only_changed_fields(provider):
    sync.reconcile(provider, run_for(provider), stream(("r1", records("r1", 2))))
    changed = records("r1", 2)
    changed[0] = HostRecord(**{**changed[0].__dict__, "name": "renamed"})
    run = run_for(provider)

    with CaptureQueriesContext(connection) as ctx:
        sync.reconcile(provider, run, stream(("r1", changed)))

    updates = [sql for sql in writes(ctx.captured_queries) if sql.startswith("UPDATE")]
    assert len(updates) == 1
    assert '"name"' in updates[0] and '"vcpus"' not in updates[0]
    assert (run.updated, run.unchanged) == (1, 1)
    assert Host.objects.get(external_id="i-r1-0").name == "renamed"


def test_failed_scope_archives_nothing_and_keeps_intervals(provider):
    sync.reconcile(provider, run_for(provider),
                   stream(("r1", records("r1", 3)), ("r2", records("r2", 3))))
    run = run_for(provider)

    sync.reconcile(provider, run, stream(("r1", records("r1", 3)), ("r2", None)))

    assert run.errors == {"r2": "r2 timed out"}
    assert Host.objects.active().filter(scope="r2").count() == 3
    assert HostInterval.objects.filter(host__scope="r2", ended_at__isnull=True).count() == 3


def test_host_missing_from_complete_scope_is_archived_and_interval_closed(provider):
    sync.reconcile(provider, run_for(provider), stream(("r1", records("r1", 3))))
    run = run_for(provider)

    sync.reconcile(provider, run, stream(("r1", records("r1", 2))))

    gone = Host.objects.get(external_id="i-r1-2")
    assert run.archived == 1 and gone.archived_at is not None
    assert gone.intervals.get().ended_at == gone.archived_at


def test_archived_host_that_returns_is_restored_with_a_new_interval(provider):
    sync.reconcile(provider, run_for(provider), stream(("r1", records("r1", 1))))
    sync.reconcile(provider, run_for(provider), stream(("r1", [])))
    run = run_for(provider)

    sync.reconcile(provider, run, stream(("r1", records("r1", 1))))

    host = Host.objects.get(external_id="i-r1-0")
    assert host.archived_at is None and run.updated == 1
    assert host.intervals.count() == 2
    assert host.intervals.filter(ended_at__isnull=True).count() == 1


def test_stop_and_resize_close_and_reopen_intervals(provider):
    sync.reconcile(provider, run_for(provider), stream(("r1", records("r1", 1))))
    sync.reconcile(provider, run_for(provider), stream(("r1", records("r1", 1, state="stopped"))))
    host = Host.objects.get()
    assert host.state == "stopped" and host.archived_at is None
    assert not host.intervals.filter(ended_at__isnull=True).exists()

    sync.reconcile(provider, run_for(provider), stream(("r1", records("r1", 1, vcpus=2))))
    sync.reconcile(provider, run_for(provider), stream(("r1", records("r1", 1, vcpus=8))))

    sizes = list(host.intervals.order_by("pk").values_list("vcpus", "ended_at"))
    assert [size for size, _ in sizes] == [2, 2, 8]
    assert [end is None for _, end in sizes] == [False, False, True]


def test_duplicate_records_in_one_batch_count_once(provider):
    recs = records("r1", 2)
    run = run_for(provider)

    sync.reconcile(provider, run, stream(("r1", recs + recs[:1])))

    assert run.created == 2 and Host.objects.count() == 2


def test_queries_grow_with_batches_not_rows(provider, settings):
    small, large = run_for(provider), run_for(provider)

    with CaptureQueriesContext(connection) as few:
        sync.reconcile(provider, small, stream(("a", records("a", 10))))
    with CaptureQueriesContext(connection) as many:
        sync.reconcile(provider, large, stream(("b", records("b", 2000))))

    # 2,000 rows are two batches: per batch a select, an insert, an interval select and insert,
    # plus savepoints and the progress save; the bound is what a third batch would break.
    assert len(many.captured_queries) <= 2 * len(few.captured_queries) + 4
    assert len(many.captured_queries) < 40
    assert Host.objects.filter(scope="b").count() == 2000


def test_last_seen_is_refreshed_once_per_granularity(provider):
    sync.reconcile(provider, run_for(provider), stream(("r1", records("r1", 2))))
    old = timezone.now() - sync.LAST_SEEN_GRANULARITY - timedelta(minutes=1)
    Host.objects.update(last_seen=old)
    run = run_for(provider)

    sync.reconcile(provider, run, stream(("r1", records("r1", 2))))

    assert run.unchanged == 2 and run.updated == 0
    assert all(h.last_seen > old for h in Host.objects.all())


def test_lease_is_exclusive_until_it_expires(provider):
    assert sync.claim(provider.pk, "worker-1", seconds=60)
    assert not sync.claim(provider.pk, "worker-2", seconds=60)

    provider.__class__.objects.filter(pk=provider.pk).update(
        sync_lease_until=timezone.now() - timedelta(seconds=1)
    )

    assert sync.claim(provider.pk, "worker-2", seconds=60)
    assert not sync.renew(provider.pk, "worker-1")
    assert sync.renew(provider.pk, "worker-2")


def test_first_sync_meeting_an_id_again_in_a_later_batch_updates_it(provider):
    first = records("r1", sync.BATCH_SIZE)
    again = HostRecord(**{**first[0].__dict__, "name": "seen-twice"})
    run = run_for(provider)

    sync.reconcile(provider, run, stream(("r1", [*first, again])))

    assert Host.objects.count() == sync.BATCH_SIZE
    assert Host.objects.get(external_id=again.external_id).name == "seen-twice"
    assert (run.created, run.updated, run.seen) == (sync.BATCH_SIZE, 1, sync.BATCH_SIZE + 1)


def test_a_scope_error_quoting_a_credential_is_stored_redacted(provider, caplog):
    secret = provider.credentials["secret_access_key"]
    failing = iter([ScopePlan(("r1",)), ScopeFailed("r1", f"rejected secret {secret}")])
    run = run_for(provider)

    sync.reconcile(provider, run, failing)

    assert run.errors == {"r1": "rejected secret [redacted]"}
    assert secret not in caplog.text


def test_redact_finds_nested_secrets_but_leaves_login_names_alone():
    from portal.inventory.checks import redact

    credentials = {"username": "admin", "password": "top-secret",
                   "bmcs": {"rack-u01": {"username": "root", "password": "per-bmc-pw"}}}
    text = "BMC rack-u01 (admin@https://bmc-admin.example) refused top-secret and per-bmc-pw"

    assert redact(text, credentials) == (
        "BMC rack-u01 (admin@https://bmc-admin.example) refused [redacted] and [redacted]"
    )
