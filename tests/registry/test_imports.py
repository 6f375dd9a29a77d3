"""CSV imports against the database: all or nothing, plans, idempotence and metering."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.inventory.models import Host, HostInterval, Provider, SyncRun
from portal.registry import manual
from portal.registry.imports import import_csv
from tests.factories import make_host
from tests.registry.conftest import GOOD_ROWS, HEADER, csv_bytes


def snapshot():
    """Everything an import could write, to compare before and after."""
    hosts = list(Host.objects.order_by("pk").values())
    intervals = list(HostInterval.objects.order_by("pk").values())
    return hosts, intervals, SyncRun.objects.count(), AuditEvent.objects.count()


@pytest.fixture
def imported(admin_user, tenant, good_csv):
    """acme with the three hosts of the good file imported."""
    result = import_csv(good_csv, user=admin_user, dry_run=False, file_name="good.csv")
    assert result.ok and result.outcome.written
    return result


def test_a_good_file_creates_every_host_with_intervals_for_running_ones(admin_user, tenant,
                                                                       good_csv):
    result = import_csv(good_csv, user=admin_user, dry_run=False, file_name="good.csv")

    assert result.outcome.counts == {"create": 3, "update": 0, "unchanged": 0}
    provider = Provider.objects.get(tenant=tenant, kind="manual")
    assert provider.name == "Registered by hand"
    hosts = {host.external_id: host for host in Host.objects.filter(provider=provider)}
    assert set(hosts) == {"SN-0001", "SN-0002", "SN-0003"}
    db01 = hosts["SN-0001"]
    assert (db01.name, db01.serial, db01.kind, db01.state) == (
        "db-01", "SN-0001", "bare_metal", "running")
    assert (db01.sockets, db01.cores, db01.threads, db01.vcpus, db01.memory_mib) == (
        2, 32, 64, 64, 262144)
    assert (db01.location, db01.manufacturer, db01.model) == (
        "DC1 rack A3 U12", "Dell", "PowerEdge R650")
    assert db01.fingerprint
    assert hosts["SN-0003"].state == "stopped"
    assert hosts["SN-0003"].vcpus == 16
    open_intervals = HostInterval.objects.filter(ended_at__isnull=True)
    assert sorted(open_intervals.values_list("host__external_id", "vcpus", "memory_mib",
                                             "sockets")) == [
        ("SN-0001", 64, 262144, 2), ("SN-0002", 64, 262144, 2),
    ]


def test_a_write_is_recorded_as_a_succeeded_run_and_one_audit_event(imported, admin_user):
    (run,) = SyncRun.objects.all()
    provider = run.provider

    assert run.status == "succeeded"
    assert run.triggered_by == "csv import by alice"
    assert (run.seen, run.created, run.updated, run.unchanged) == (3, 3, 0, 0)
    assert provider.last_run == run
    (event,) = AuditEvent.objects.all()
    assert event.action == "manual_host.import"
    assert event.user == admin_user
    assert event.object_id == str(provider.pk)
    assert event.changes["file"] == "good.csv"
    assert event.changes["created"] == 3
    assert event.changes["created_serials"] == ["SN-0001", "SN-0002", "SN-0003"]


def test_importing_the_same_file_again_changes_nothing_and_writes_nothing(imported, admin_user,
                                                                         good_csv):
    before = snapshot()

    with CaptureQueriesContext(connection) as queries:
        result = import_csv(good_csv, user=admin_user, dry_run=False)

    assert result.outcome.counts == {"create": 0, "update": 0, "unchanged": 3}
    assert result.outcome.written is False
    assert snapshot() == before
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


def test_a_mixed_file_imports_nothing_and_reports_each_bad_row(admin_user, tenant):
    data = csv_bytes(
        GOOD_ROWS[0],
        "db-02,SN-0002,acme,99,32,,256,DC1,,,",
        GOOD_ROWS[2],
        "db-04,SN-0004,acme,2,32,,lots,DC1,,,",
    )

    result = import_csv(data, user=admin_user, dry_run=False)

    assert not result.ok
    assert [(e.row, e.column) for e in result.parsed.errors] == [(3, "sockets"), (5, "memory")]
    assert result.outcome is None
    assert not Host.objects.exists()
    assert not Provider.objects.filter(kind="manual").exists()
    assert not SyncRun.objects.exists() and not AuditEvent.objects.exists()


def test_a_dry_run_writes_nothing_and_shows_the_plan(imported, admin_user):
    before = snapshot()
    changed = GOOD_ROWS[0].replace("2,32,64,256 GiB", "2,32,64,512 GiB")
    data = csv_bytes(changed, GOOD_ROWS[1], "new-01,SN-0009,acme,1,8,,32,DC9,,,")

    result = import_csv(data, user=admin_user, dry_run=True)

    assert snapshot() == before
    plan = {item.registration.serial: item for item in result.outcome.planned}
    assert result.outcome.counts == {"create": 1, "update": 1, "unchanged": 1}
    assert plan["SN-0001"].action == "update"
    assert plan["SN-0001"].changes == {"memory_mib": (262144, 524288)}
    assert plan["SN-0002"].action == "unchanged"
    assert plan["SN-0009"].action == "create" and plan["SN-0009"].host is None
    assert [item.registration.row for item in result.outcome.planned] == [2, 3, 4]


def test_a_dry_run_on_a_new_tenant_creates_no_provider(admin_user, tenant, good_csv):
    result = import_csv(good_csv, user=admin_user, dry_run=True)

    assert result.outcome.counts["create"] == 3
    assert not Provider.objects.exists()


def test_an_update_writes_the_changes_and_resizes_the_metering_interval(imported, admin_user):
    host = Host.objects.get(external_id="SN-0001")
    (old,) = host.intervals.all()
    data = csv_bytes(GOOD_ROWS[0].replace("256 GiB,DC1 rack A3 U12", "512,DC1 rack A4 U01"))

    result = import_csv(data, user=admin_user, dry_run=False)

    (item,) = result.outcome.planned
    assert item.changes == {
        "memory_mib": (262144, 524288), "location": ("DC1 rack A3 U12", "DC1 rack A4 U01"),
    }
    host.refresh_from_db()
    assert (host.memory_mib, host.location) == (524288, "DC1 rack A4 U01")
    old.refresh_from_db()
    assert old.ended_at is not None
    assert host.intervals.get(ended_at__isnull=True).memory_mib == 524288
    event = AuditEvent.objects.latest("pk")
    assert event.changes["updated_serials"]["SN-0001"]["location"] == {
        "old": "DC1 rack A3 U12", "new": "DC1 rack A4 U01",
    }


def test_stopping_and_retiring_close_intervals_and_retired_hosts_are_archived(imported,
                                                                             admin_user):
    data = csv_bytes(GOOD_ROWS[0].replace(",running", ",stopped"),
                     GOOD_ROWS[1].replace(",running", ",retired"))

    import_csv(data, user=admin_user, dry_run=False)

    db01 = Host.objects.get(external_id="SN-0001")
    db02 = Host.objects.get(external_id="SN-0002")
    assert (db01.state, db01.archived_at) == ("stopped", None)
    assert db02.state == "terminated" and db02.archived_at is not None
    assert not HostInterval.objects.filter(ended_at__isnull=True).exists()
    assert SyncRun.objects.latest("pk").archived == 1


def test_a_retired_host_keeps_its_retirement_time_when_other_facts_change(imported, admin_user):
    import_csv(csv_bytes(GOOD_ROWS[1].replace(",running", ",retired")), user=admin_user,
               dry_run=False)
    retired_at = Host.objects.get(external_id="SN-0002").archived_at

    import_csv(csv_bytes(GOOD_ROWS[1].replace("db-02", "db-02-old")
                         .replace(",running", ",retired")), user=admin_user, dry_run=False)

    host = Host.objects.get(external_id="SN-0002")
    assert (host.name, host.archived_at) == ("db-02-old", retired_at)


def test_a_retired_host_comes_back_when_the_file_says_running(imported, admin_user):
    import_csv(csv_bytes(GOOD_ROWS[0].replace(",running", ",retired")), user=admin_user,
               dry_run=False)

    import_csv(csv_bytes(GOOD_ROWS[0]), user=admin_user, dry_run=False)

    host = Host.objects.get(external_id="SN-0001")
    assert (host.state, host.archived_at) == ("running", None)
    assert host.intervals.filter(ended_at__isnull=True).count() == 1


def test_hosts_left_out_of_a_file_are_never_archived(imported, admin_user):
    import_csv(csv_bytes(GOOD_ROWS[0]), user=admin_user, dry_run=False)

    assert Host.objects.active().count() == 3
    assert HostInterval.objects.filter(ended_at__isnull=True).count() == 2


def test_an_empty_state_cell_keeps_an_existing_hosts_state(imported, admin_user):
    row = GOOD_ROWS[2].replace(",stopped", ",")

    result = import_csv(csv_bytes(row), user=admin_user, dry_run=False)

    assert result.outcome.counts["unchanged"] == 1
    assert Host.objects.get(external_id="SN-0003").state == "stopped"


def test_columns_left_out_keep_what_is_stored_including_tags(imported, admin_user):
    Host.objects.filter(external_id="SN-0001").update(tags={"team": "db"})
    data = csv_bytes("db-01,SN-0001,2,32,256,DC1 rack A3 U12",
                     header="name,serial,sockets,cores,memory,location")

    result = import_csv(data, user=admin_user, dry_run=False)

    assert result.outcome.counts == {"create": 0, "update": 0, "unchanged": 1}
    host = Host.objects.get(external_id="SN-0001")
    assert (host.threads, host.manufacturer, host.tags) == (64, "Dell", {"team": "db"})


def test_rows_naming_a_tenant_the_user_cannot_write_refuse_the_whole_file(
        admin_user, viewer_user, tenant, other_tenant, good_csv):
    data = csv_bytes(GOOD_ROWS[0], GOOD_ROWS[1].replace("acme", "globex"))

    result = import_csv(data, user=admin_user, dry_run=False)

    assert [(e.row, e.column) for e in result.parsed.errors] == [(3, "tenant")]
    assert not Host.objects.exists()
    viewer_result = import_csv(good_csv, user=viewer_user, dry_run=False)
    assert [e.column for e in viewer_result.parsed.errors] == ["tenant"] * 3


def test_one_file_may_fill_several_tenants_each_with_its_own_provider(
        admin_user, tenant, other_tenant):
    from portal.tenancy.models import Membership

    Membership.objects.create(user=admin_user, tenant=other_tenant, role="operator")
    data = csv_bytes(GOOD_ROWS[0], GOOD_ROWS[1].replace("acme", "GLOBEX"))

    result = import_csv(data, user=admin_user, dry_run=False)

    assert len(result.outcome.runs) == 2
    assert Host.objects.get(external_id="SN-0002").tenant == other_tenant
    assert Provider.objects.filter(kind="manual").count() == 2
    assert AuditEvent.objects.filter(action="manual_host.import").count() == 2


def test_a_default_tenant_fills_rows_without_one(admin_user, tenant, other_tenant):
    from portal.tenancy.models import Membership

    Membership.objects.create(user=admin_user, tenant=other_tenant, role="admin")
    data = csv_bytes("a,S1,1,4,16,here", header="name,serial,sockets,cores,memory,location")

    result = import_csv(data, user=admin_user, default_tenant=other_tenant, dry_run=False)

    assert result.ok
    assert Host.objects.get(external_id="S1").tenant == other_tenant


def test_without_a_default_a_single_writable_tenant_is_used(admin_user, tenant):
    data = csv_bytes("a,S1,1,4,16,here", header="name,serial,sockets,cores,memory,location")

    result = import_csv(data, user=admin_user, dry_run=False)

    assert result.ok
    assert Host.objects.get(external_id="S1").tenant == tenant


# --- the manual provider -------------------------------------------------------------------

def test_manual_provider_for_creates_once_and_then_returns_the_same(tenant):
    first = manual.manual_provider_for(tenant)

    second = manual.manual_provider_for(tenant)

    assert first == second
    assert (first.kind, first.name, first.is_synced) == ("manual", "Registered by hand", False)
    assert first.is_sync_due() is False


def test_manual_provider_for_takes_another_name_when_the_first_is_used(tenant, make_provider):
    make_provider(name="Registered by hand")

    provider = manual.manual_provider_for(tenant)

    assert (provider.kind, provider.name) == ("manual", "Registered by hand (hosts)")
    assert manual.manual_provider_for(tenant) == provider


def test_manual_provider_for_finds_the_one_a_concurrent_request_created(tenant, monkeypatch):
    # The lookup misses (the other request had not committed yet), the create then collides.
    winner = Provider.objects.create(tenant=tenant, name="Registered by hand", kind="manual")
    calls = []
    real_find = manual._find_manual_provider

    def find(t):
        calls.append(t)
        return None if len(calls) == 1 else real_find(t)

    monkeypatch.setattr(manual, "_find_manual_provider", find)

    assert manual.manual_provider_for(tenant) == winner
    assert Provider.objects.filter(tenant=tenant).count() == 1


def test_register_refuses_a_serial_the_tenant_already_has_when_creating(tenant):
    registration = manual.Registration(tenant, "SN-1", {
        "name": "a", "sockets": 1, "cores": 2, "memory_mib": 2048, "location": "x",
    })
    manual.write([registration], triggered_by="test")

    with pytest.raises(manual.AlreadyRegistered, match="'SN-1' is already registered"):
        manual.write([registration], triggered_by="test", create_only=True)

    assert Host.objects.count() == 1


def test_a_synced_providers_hosts_are_never_touched(admin_user, tenant, make_provider):
    aws = make_provider()
    synced = make_host(aws, "db-01", serial="SN-0001",
                       first_seen=timezone.now() - timedelta(days=1))
    before = Host.objects.filter(pk=synced.pk).values().get()

    import_csv(csv_bytes(GOOD_ROWS[0]), user=admin_user, dry_run=False)

    assert Host.objects.filter(pk=synced.pk).values().get() == before
    assert Host.objects.filter(serial="SN-0001").count() == 2


def test_the_header_constant_lists_what_the_template_offers():
    from portal.registry.csv_import import TEMPLATE_COLUMNS

    assert set(HEADER.split(",")) <= set(TEMPLATE_COLUMNS)
