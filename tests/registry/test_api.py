"""The manual-hosts API: who may do what, messages a person can act on, audit, and imports.

Personas (tests/conftest.py): alice (admin) and oscar (operator) may register acme's hosts;
victor (viewer) and fiona (finance) only read; mallory, an admin of globex, sees nothing of
acme.
"""

import pytest
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.inventory.models import Host, HostInterval, Provider, SyncRun
from portal.registry import manual
from tests.factories import make_host
from tests.registry.conftest import GOOD_ROWS, csv_bytes

LIST_URL = "/api/manual-hosts/"
WRITERS = ["admin_user", "operator_user"]
READERS = ["viewer_user", "finance_user"]


def body(**overrides):
    data = {
        "tenant": "acme", "name": "db-01", "serial": "CZ2049ABCD", "sockets": 2, "cores": 32,
        "threads": 64, "memory_gib": 256, "location": "DC1 rack A3 U12",
        "manufacturer": "Dell", "model": "PowerEdge R650",
    }
    data.update(overrides)
    return data


def detail_url(host):
    return reverse("api:manualhost-detail", args=[host.pk])


@pytest.fixture
def client_as(request, api_client_for):
    """``client_as("admin_user")``: an API client for one of the persona fixtures."""
    return lambda persona: api_client_for(request.getfixturevalue(persona))


@pytest.fixture
def registered(tenant):
    """One running hand-registered host of acme, written the way the API writes it."""
    registration = manual.Registration(tenant, "SN-0001", {
        "name": "db-01", "sockets": 2, "cores": 32, "threads": 64, "memory_mib": 262144,
        "location": "DC1 rack A3 U12",
    })
    outcome = manual.write([registration], triggered_by="fixture")
    AuditEvent.objects.all().delete()
    return Host.objects.get(pk=outcome.planned[0].host_id)


@pytest.fixture
def synced_host(make_provider):
    return make_host(make_provider(), "aws-web")


# --- registering -----------------------------------------------------------------------------

@pytest.mark.parametrize("persona", WRITERS)
def test_writers_register_a_host_that_is_metered_at_once(client_as, tenant, persona):
    response = client_as(persona).post(LIST_URL, body(), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    host = Host.objects.get(pk=data["id"])
    assert data["url"] == f"http://testserver/api/manual-hosts/{host.pk}/"
    assert data["host_url"] == f"http://testserver/api/hosts/{host.pk}/"
    assert {key: data[key] for key in ("tenant", "serial", "kind", "state", "memory_gib",
                                       "memory_mib", "threads")} == {
        "tenant": "acme", "serial": "CZ2049ABCD", "kind": "bare_metal", "state": "running",
        "memory_gib": 256, "memory_mib": 262144, "threads": 64,
    }
    assert host.provider.kind == "manual" and host.external_id == "CZ2049ABCD"
    (interval,) = host.intervals.all()
    assert (interval.ended_at, interval.vcpus, interval.sockets) == (None, 64, 2)


def test_registration_is_audited_and_recorded_as_a_run(client_as, tenant, admin_user):
    response = client_as("admin_user").post(LIST_URL, body(), format="json")

    host = Host.objects.get(pk=response.json()["id"])
    (event,) = AuditEvent.objects.all()
    assert (event.action, event.user, event.object_id) == (
        "manual_host.create", admin_user, str(host.pk))
    assert event.changes["serial"] == "CZ2049ABCD"
    assert event.changes["memory_mib"] == 262144
    (run,) = SyncRun.objects.all()
    assert (run.status, run.triggered_by, run.created) == (
        "succeeded", "registration by alice", 1)


@pytest.mark.parametrize("persona", READERS)
def test_readers_may_not_register(client_as, tenant, persona):
    response = client_as(persona).post(LIST_URL, body(), format="json")

    assert response.status_code == 403
    assert "admin or operator role" in response.json()["detail"]
    assert not Host.objects.exists() and not AuditEvent.objects.exists()


def test_outsider_cannot_register_into_acme_and_is_not_told_it_exists(client_as, tenant,
                                                                      outsider_user):
    response = client_as("outsider_user").post(LIST_URL, body(), format="json")

    assert response.status_code == 400
    assert response.json()["tenant"] == ["No tenant 'acme' among yours; give the slug or id of "
                                         "one."]
    assert not Host.objects.exists()


def test_anonymous_gets_401(api_client_for, tenant):
    assert api_client_for(None).post(LIST_URL, body(), format="json").status_code == 401
    assert api_client_for(None).get(LIST_URL).status_code == 401


def test_tenant_may_be_left_out_when_the_user_writes_in_one_tenant_only(client_as, tenant):
    data = body()
    del data["tenant"]

    response = client_as("operator_user").post(LIST_URL, data, format="json")

    assert response.status_code == 201
    assert response.json()["tenant"] == "acme"


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"sockets": 0}, "sockets", "must be a whole number from 1 to 64."),
    ({"sockets": "two"}, "sockets", "must be a whole number from 1 to 64."),
    ({"sockets": True}, "sockets", "must be a whole number from 1 to 64."),
    ({"sockets": 4, "cores": 2}, "cores", "must be at least the number of sockets (4)"),
    ({"threads": 16}, "threads", "must be at least the number of cores (32)"),
    ({"memory_gib": "lots"}, "memory_gib", "must be an amount such as 256, 256 GiB"),
    ({"memory_gib": 0.5}, "memory_gib", "must be from 1 GiB to 64 TiB."),
    ({"memory_gib": 1.1}, "memory_gib", "is not a whole number of MiB"),
    ({"name": "=HYPERLINK(\"x\")"}, "name", "spreadsheets would run it as a formula"),
    ({"location": "@SUM(A1)"}, "location", "spreadsheets would run it as a formula"),
    ({"name": ""}, "name", "is required."),
    ({"serial": "no/ spaces? !"}, "serial", "letters, digits, spaces and"),
    ({"state": "sleeping"}, "state", "must be one of running, stopped, retired."),
    ({"kind": "mainframe"}, "kind", "must be one of bare_metal, virtual."),
    ({"tags": {"team": "=1+1"}}, "tags", "'team': must not start with"),
    ({"tenant": "nowhere"}, "tenant", "No tenant 'nowhere' among yours"),
    ({"location": None}, "location", "may not be null"),
])
def test_invalid_registration_is_refused_naming_the_field(client_as, tenant, change, field,
                                                          words):
    response = client_as("admin_user").post(LIST_URL, body(**change), format="json")

    assert response.status_code == 400
    data = response.json()
    assert words in " ".join(data[field]), data
    assert f"{field}: " in data["detail"]
    assert not Host.objects.exists()


def test_missing_facts_are_each_named(client_as, tenant):
    response = client_as("admin_user").post(LIST_URL, {"tenant": "acme"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) >= {"name", "serial", "sockets", "cores", "memory_gib",
                                    "location"}


def test_a_serial_already_registered_is_refused_pointing_at_the_host(client_as, registered):
    response = client_as("admin_user").post(LIST_URL, body(serial="SN-0001"), format="json")

    assert response.status_code == 400
    assert response.json()["serial"] == [
        f"is already registered in tenant 'acme' (host #{registered.pk}); change that host "
        f"with PATCH /api/manual-hosts/{registered.pk}/."
    ]
    assert Host.objects.count() == 1


def test_the_same_serial_may_be_registered_in_another_tenant(client_as, registered,
                                                             outsider_user):
    response = client_as("outsider_user").post(
        LIST_URL, body(tenant="globex", serial="SN-0001"), format="json"
    )

    assert response.status_code == 201
    assert Host.objects.filter(external_id="SN-0001").count() == 2


# --- reading -----------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", [*WRITERS, *READERS])
def test_every_member_reads_the_list_and_the_detail(client_as, registered, synced_host,
                                                    persona):
    client = client_as(persona)

    listed = client.get(LIST_URL).json()
    detail = client.get(detail_url(registered))

    assert [item["serial"] for item in listed["results"]] == ["SN-0001"]
    assert detail.status_code == 200
    assert detail.json()["memory_gib"] == 256


def test_outsider_sees_no_acme_host(client_as, registered):
    client = client_as("outsider_user")

    assert client.get(LIST_URL).json()["results"] == []
    assert client.get(detail_url(registered)).status_code == 404
    assert client.patch(detail_url(registered), {"name": "x"}, format="json").status_code == 404
    assert client.delete(detail_url(registered)).status_code == 404
    assert Host.objects.get(pk=registered.pk).name == "db-01"


def test_a_synced_host_is_not_found_among_manual_hosts(client_as, synced_host):
    response = client_as("viewer_user").get(detail_url(synced_host))

    assert response.status_code == 404


def test_the_list_filters_by_state_and_hides_retired_hosts_by_default(client_as, registered):
    client = client_as("viewer_user")
    manual.retire(registered, triggered_by="test")

    assert client.get(LIST_URL).json()["count"] == 0
    retired = client.get(LIST_URL, {"state": "retired"}).json()["results"]
    assert [(item["serial"], item["state"]) for item in retired] == [("SN-0001", "retired")]
    assert client.get(LIST_URL, {"state": "running"}).json()["count"] == 0


# --- changing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", WRITERS)
def test_writers_change_a_host_and_its_interval_follows(client_as, registered, persona):
    (before,) = registered.intervals.all()

    response = client_as(persona).patch(detail_url(registered), {"memory_gib": "512 GiB"},
                                        format="json")

    assert response.status_code == 200, response.content
    assert response.json()["memory_gib"] == 512
    before.refresh_from_db()
    assert before.ended_at is not None
    assert registered.intervals.get(ended_at__isnull=True).memory_mib == 524288
    (event,) = AuditEvent.objects.all()
    assert event.action == "manual_host.update"
    assert event.changes == {"memory_mib": {"old": 262144, "new": 524288}}


def test_a_patch_that_changes_nothing_writes_nothing(client_as, registered):
    runs = SyncRun.objects.count()

    response = client_as("admin_user").patch(detail_url(registered), {"name": "db-01"},
                                             format="json")

    assert response.status_code == 200
    assert SyncRun.objects.count() == runs
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"serial": "SN-9999"}, "serial", "cannot change"),
    ({"tenant": "acme", "serial": "SN-0001", "cores": 1}, "cores",
     "at least the number of sockets (2)"),
    ({"threads": 8}, "threads", "at least the number of cores (32)"),
])
def test_invalid_changes_are_refused(client_as, registered, change, field, words):
    response = client_as("admin_user").patch(detail_url(registered), change, format="json")

    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    registered.refresh_from_db()
    assert (registered.cores, registered.threads) == (32, 64)


def test_a_host_cannot_move_to_another_tenant(client_as, registered, admin_user, other_tenant):
    from portal.tenancy.models import Membership

    Membership.objects.create(user=admin_user, tenant=other_tenant, role="admin")

    response = client_as("admin_user").patch(detail_url(registered), {"tenant": "globex"},
                                             format="json")

    assert response.status_code == 400
    assert "cannot move to another tenant" in response.json()["tenant"][0]


@pytest.mark.parametrize("persona", READERS)
def test_readers_may_not_change_or_retire(client_as, registered, persona):
    client = client_as(persona)

    patched = client.patch(detail_url(registered), {"name": "x"}, format="json")
    deleted = client.delete(detail_url(registered))

    assert (patched.status_code, deleted.status_code) == (403, 403)
    registered.refresh_from_db()
    assert (registered.name, registered.archived_at) == ("db-01", None)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("persona", WRITERS)
def test_delete_retires_the_host_and_closes_its_interval(client_as, registered, persona):
    response = client_as(persona).delete(detail_url(registered))

    assert response.status_code == 204
    registered.refresh_from_db()
    assert registered.archived_at is not None and registered.state == "terminated"
    assert not registered.intervals.filter(ended_at__isnull=True).exists()
    (event,) = AuditEvent.objects.all()
    assert event.action == "manual_host.retire"
    assert event.changes["state"] == {"old": "running", "new": "retired"}
    assert client_as(persona).get(detail_url(registered)).json()["state"] == "retired"


def test_a_retired_host_comes_back_with_a_patch(client_as, registered):
    client = client_as("admin_user")
    client.delete(detail_url(registered))

    response = client.patch(detail_url(registered), {"state": "running"}, format="json")

    assert response.json()["state"] == "running"
    assert response.json()["archived_at"] is None
    assert registered.intervals.filter(ended_at__isnull=True).count() == 1


def test_changing_a_synced_host_is_refused_in_words(client_as, synced_host):
    client = client_as("admin_user")

    patched = client.patch(detail_url(synced_host), {"name": "x"}, format="json")
    deleted = client.delete(detail_url(synced_host))

    assert (patched.status_code, deleted.status_code) == (409, 409)
    assert "comes from provider 'aws-main' (AWS)" in patched.json()["detail"]
    assert "only hand-registered hosts can be changed here" in deleted.json()["detail"]
    synced_host.refresh_from_db()
    assert (synced_host.name, synced_host.archived_at) == ("aws-web", None)


def test_a_reader_changing_a_synced_host_gets_403_first(client_as, synced_host):
    response = client_as("viewer_user").patch(detail_url(synced_host), {"name": "x"},
                                              format="json")

    assert response.status_code == 403


def test_put_is_not_offered(client_as, registered):
    response = client_as("admin_user").put(detail_url(registered), body(), format="json")

    assert response.status_code == 405


# --- syncing a manual provider -----------------------------------------------------------------

def test_sync_now_is_refused_for_the_manual_provider(client_as, registered):
    provider = registered.provider
    runs = SyncRun.objects.count()

    response = client_as("operator_user").post(
        reverse("api:provider-sync", args=[provider.pk])
    )

    assert response.status_code == 409
    assert response.json()["detail"].startswith("Hand-registered hosts are not synced")
    assert SyncRun.objects.count() == runs
    assert not AuditEvent.objects.exists()


def test_the_manual_provider_is_never_due_for_a_scheduled_sync(registered):
    from portal.inventory.tasks import due_providers

    assert registered.provider not in due_providers()


# --- importing ---------------------------------------------------------------------------------

def test_import_is_a_dry_run_by_default_and_answers_with_the_plan(client_as, tenant, upload,
                                                                  good_csv):
    response = upload(client_as("operator_user"), good_csv)

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["dry_run"], data["written"], data["file"]) == (True, False, "hosts.csv")
    assert data["counts"] == {"create": 3, "update": 0, "unchanged": 0}
    assert data["plan"][0] == {
        "row": 2, "action": "create", "tenant": "acme", "serial": "SN-0001", "name": "db-01",
        "host_id": None, "changes": {},
    }
    assert data["sync_runs"] == []
    assert not Host.objects.exists() and not AuditEvent.objects.exists()


def test_import_writes_when_asked_and_a_second_import_changes_nothing(client_as, tenant, upload,
                                                                      good_csv):
    client = client_as("admin_user")

    first = upload(client, good_csv, dry_run="false").json()
    second = upload(client, good_csv, dry_run="false").json()

    assert first["written"] is True
    assert first["counts"]["create"] == 3
    (run_url,) = first["sync_runs"]
    assert run_url.startswith("http://testserver/api/sync-runs/")
    assert all(row["host_id"] for row in first["plan"])
    assert second["written"] is False
    assert second["counts"] == {"create": 0, "update": 0, "unchanged": 3}
    assert HostInterval.objects.count() == 2
    assert SyncRun.objects.count() == 1
    assert AuditEvent.objects.filter(action="manual_host.import").count() == 1


def test_import_plan_shows_field_changes_old_and_new(client_as, registered, upload):
    data = csv_bytes("db-01,SN-0001,acme,2,32,64,512,DC1 rack A3 U12,,,")

    response = upload(client_as("admin_user"), data)

    (row,) = response.json()["plan"]
    assert row["action"] == "update"
    assert row["host_id"] == registered.pk
    assert row["changes"] == {"memory_mib": {"old": 262144, "new": 524288}}


def test_a_file_with_bad_rows_is_refused_listing_each_bad_cell(client_as, tenant, upload):
    data = csv_bytes(GOOD_ROWS[0], "db-02,SN-0002,acme,0,32,,256,DC1,,,", GOOD_ROWS[2],
                     "db-04,SN-0001,acme,2,32,,256,DC1,,,")

    response = upload(client_as("admin_user"), data, dry_run="false")

    assert response.status_code == 400
    data = response.json()
    assert data["rows"] == [
        {"row": 3, "column": "sockets", "message": "must be a whole number from 1 to 64."},
        {"row": 5, "column": "serial",
         "message": "serial 'SN-0001' is already on row 2; list each host once."},
    ]
    assert data["error_count"] == 2 and data["file"] == []
    assert data["detail"].startswith("2 problems in the file; nothing was imported.")
    assert not Host.objects.exists()


def test_a_file_in_another_encoding_is_refused_as_a_whole(client_as, tenant, upload):
    data = csv_bytes("café,S1,acme,1,4,,16,here,,,", encoding="latin-1")

    response = upload(client_as("admin_user"), data)

    assert response.status_code == 400
    body_ = response.json()
    assert body_["rows"] == [] and body_["error_count"] == 1
    assert "not UTF-8 text" in body_["file"][0]
    assert "CSV UTF-8" in body_["detail"]


def test_a_file_over_the_size_limit_is_refused(client_as, tenant, upload, settings, good_csv):
    settings.PORTAL_IMPORT_MAX_BYTES = 100

    response = upload(client_as("admin_user"), good_csv, dry_run="false")

    assert response.status_code == 400
    assert "the limit is 100 bytes" in response.json()["file"][0]
    assert not Host.objects.exists()


def test_a_request_declaring_a_huge_body_is_refused_before_it_is_read(client_as, tenant,
                                                                      settings):
    settings.PORTAL_IMPORT_MAX_BYTES = 1000
    client = client_as("admin_user")

    response = client.generic(
        "POST", "/api/manual-hosts/import/", b"x" * 70_000,
        content_type="multipart/form-data; boundary=nothing",
    )

    assert response.status_code == 400
    assert "the limit is 1000 bytes" in response.json()["file"][0]


@pytest.mark.parametrize("persona", READERS)
def test_readers_may_not_import(client_as, tenant, upload, good_csv, persona):
    response = upload(client_as(persona), good_csv, dry_run="false")

    assert response.status_code == 403
    assert not Host.objects.exists()


def test_outsider_import_naming_acme_is_refused_row_by_row(client_as, tenant, upload, good_csv,
                                                           outsider_user):
    response = upload(client_as("outsider_user"), good_csv, dry_run="false")

    assert response.status_code == 400
    assert [(row["row"], row["column"]) for row in response.json()["rows"]] == [
        (2, "tenant"), (3, "tenant"), (4, "tenant"),
    ]
    assert not Host.objects.exists()


def test_a_default_tenant_must_be_one_the_user_may_write(client_as, tenant, other_tenant,
                                                        viewer_user, operator_user, upload,
                                                        good_csv):
    from portal.tenancy.models import Membership

    Membership.objects.create(user=operator_user, tenant=other_tenant, role="viewer")

    response = upload(client_as("operator_user"), good_csv, tenant="globex")

    assert response.status_code == 400
    assert "admin or operator role in tenant 'globex'" in response.json()["tenant"][0]


def test_an_import_without_a_file_says_so(client_as, tenant):
    response = client_as("admin_user").post("/api/manual-hosts/import/", {},
                                            format="multipart")

    assert response.status_code == 400
    assert response.json()["file"] == ["No file was submitted."]


def test_no_manual_provider_appears_before_the_first_write(client_as, tenant, upload, good_csv):
    upload(client_as("admin_user"), good_csv)

    assert not Provider.objects.filter(kind="manual").exists()
