"""The registry's pages: register, edit, retire and import, with every persona.

Personas (tests/conftest.py): alice (admin) and oscar (operator) may register acme's hosts;
victor (viewer) and fiona (finance) only read; mallory, an admin of globex, sees nothing of
acme.
"""

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.inventory.models import Host, SyncRun
from portal.registry import manual
from portal.registry.csv_import import read_hosts
from tests.factories import make_host
from tests.registry.conftest import GOOD_ROWS, csv_bytes

WRITERS = ["admin_user", "operator_user"]
READERS = ["viewer_user", "finance_user"]
# Pages only writers may open: (URL name, needs the host's pk).
WRITE_PAGES = [
    ("registry:host_create", False),
    ("registry:host_edit", True),
    ("registry:host_retire", True),
    ("registry:import", False),
    ("registry:import_template", False),
]


@pytest.fixture
def client_as(request):
    """``client_as("admin_user")``: a test client logged in as one of the personas."""
    def make(persona):
        client = Client()
        client.force_login(request.getfixturevalue(persona))
        return client

    return make


@pytest.fixture
def registered(tenant):
    registration = manual.Registration(tenant, "SN-0001", {
        "name": "db-01", "sockets": 2, "cores": 32, "threads": 64, "memory_mib": 262144,
        "location": "DC1 rack A3 U12",
    })
    outcome = manual.write([registration], triggered_by="fixture")
    AuditEvent.objects.all().delete()
    return Host.objects.get(pk=outcome.planned[0].host_id)


def url_of(name, needs_pk, host):
    return reverse(name, args=[host.pk]) if needs_pk else reverse(name)


def form_data(tenant, **overrides):
    data = {
        "tenant": tenant.pk, "name": "db-02", "serial": "CZ2049ABCD", "kind": "bare_metal",
        "state": "running", "sockets": "2", "cores": "32", "threads": "64", "memory": "256",
        "location": "DC1 rack A3 U14", "manufacturer": "Dell", "model": "PowerEdge R650",
    }
    data.update(overrides)
    return data


def field_error(html: str, field: str) -> str:
    found = re.search(rf'id="id_{field}_errors">(.*?)</div>', html, re.S)
    assert found, f"no error shown for {field}"
    return unescape(found.group(1).strip())


def csv_file(content: bytes, name: str = "hosts.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def payload_of(html: str) -> str:
    found = re.search(r'name="payload" value="([^"]+)"', html)
    assert found, "no Import now button"
    return found.group(1)


# --- access --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "needs_pk"), [*WRITE_PAGES, ("registry:host_list", False)])
def test_anonymous_is_sent_to_login(client, registered, name, needs_pk):
    url = url_of(name, needs_pk, registered)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('web:login')}?next={url}"


@pytest.mark.parametrize("persona", READERS)
@pytest.mark.parametrize(("name", "needs_pk"), WRITE_PAGES)
def test_readers_get_403_on_every_write_page(client_as, registered, persona, name, needs_pk):
    response = client_as(persona).get(url_of(name, needs_pk, registered))

    assert response.status_code == 403


@pytest.mark.parametrize("persona", READERS)
def test_readers_posting_change_nothing(client_as, registered, tenant, persona):
    client = client_as(persona)

    created = client.post(reverse("registry:host_create"), form_data(tenant))
    edited = client.post(reverse("registry:host_edit", args=[registered.pk]),
                         form_data(tenant, name="renamed"))
    retired = client.post(reverse("registry:host_retire", args=[registered.pk]))
    imported = client.post(reverse("registry:import"),
                           {"file": csv_file(csv_bytes(*GOOD_ROWS)), "dry_run": ""})

    assert [r.status_code for r in (created, edited, retired, imported)] == [403] * 4
    assert list(Host.objects.values_list("name", "archived_at")) == [("db-01", None)]
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("persona", [*WRITERS, *READERS])
def test_every_member_reads_the_list(client_as, registered, persona):
    response = client_as(persona).get(reverse("registry:host_list"))

    assert response.status_code == 200
    assert [host.name for host in response.context["page"]] == ["db-01"]


@pytest.mark.parametrize(("persona", "writer"), [
    ("admin_user", True), ("operator_user", True), ("viewer_user", False),
    ("finance_user", False),
])
def test_only_writers_are_offered_registration_and_import(client_as, registered, persona,
                                                          writer):
    html = client_as(persona).get(reverse("registry:host_list")).content.decode()

    assert (reverse("registry:host_create") in html) is writer
    assert (reverse("registry:import") in html) is writer
    assert (reverse("registry:host_edit", args=[registered.pk]) in html) is writer
    assert reverse("registry:host_list") in html


def test_outsider_sees_no_acme_host_and_cannot_open_one(client_as, registered):
    client = client_as("outsider_user")

    listed = client.get(reverse("registry:host_list"))
    edit = client.get(reverse("registry:host_edit", args=[registered.pk]))
    retire = client.post(reverse("registry:host_retire", args=[registered.pk]))

    assert list(listed.context["page"]) == []
    assert (edit.status_code, retire.status_code) == (404, 404)
    assert Host.objects.get(pk=registered.pk).archived_at is None


def test_outsider_cannot_register_into_acme(client_as, tenant, other_tenant):
    client = client_as("outsider_user")

    page = client.get(reverse("registry:host_create"))
    response = client.post(reverse("registry:host_create"), form_data(tenant))

    assert list(page.context["form"].fields["tenant"].queryset) == [other_tenant]
    assert response.status_code == 200
    assert "Select a valid choice" in field_error(response.content.decode(), "tenant")
    assert not Host.objects.exists()


def test_a_synced_host_has_no_edit_page(client_as, make_provider):
    host = make_host(make_provider(), "aws-web")

    response = client_as("admin_user").get(reverse("registry:host_edit", args=[host.pk]))

    assert response.status_code == 404


# --- registering and editing -----------------------------------------------------------------

@pytest.mark.parametrize("persona", WRITERS)
def test_writers_register_a_host(client_as, tenant, persona):
    response = client_as(persona).post(reverse("registry:host_create"), form_data(tenant))

    host = Host.objects.get(external_id="CZ2049ABCD")
    assert response.status_code == 302
    assert response.url == host.get_absolute_url()
    assert (host.provider.kind, host.memory_mib, host.threads) == ("manual", 262144, 64)
    assert host.intervals.filter(ended_at__isnull=True).count() == 1
    (event,) = AuditEvent.objects.all()
    assert event.action == "manual_host.create"


def test_the_form_offers_the_only_writable_tenant_already_chosen(client_as, tenant):
    form = client_as("admin_user").get(reverse("registry:host_create")).context["form"]

    assert form.fields["tenant"].initial == tenant.pk
    assert form.fields["state"].initial == "running"


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"sockets": "0"}, "sockets", "Must be a whole number from 1 to 64."),
    ({"cores": "1", "sockets": "2"}, "cores", "Must be at least the number of sockets (2)"),
    ({"threads": "8"}, "threads", "Must be at least the number of cores (32)"),
    ({"memory": "lots"}, "memory", "Must be an amount such as 256, 256 GiB"),
    ({"name": "=cmd|' /C calc'!A0"}, "name", "spreadsheets would run it as a formula"),
    ({"serial": "bad serial!"}, "serial", "letters, digits, spaces and"),
    ({"location": ""}, "location", "This field is required."),
])
def test_invalid_input_is_shown_next_to_its_field(client_as, tenant, change, field, words):
    response = client_as("admin_user").post(reverse("registry:host_create"),
                                            form_data(tenant, **change))

    assert response.status_code == 200
    assert words in field_error(response.content.decode(), field)
    assert not Host.objects.exists()


def test_a_serial_already_registered_is_refused_on_the_form(client_as, registered, tenant):
    response = client_as("admin_user").post(reverse("registry:host_create"),
                                            form_data(tenant, serial="SN-0001"))

    assert "Already registered in Acme as “db-01”" in field_error(
        response.content.decode(), "serial")
    assert Host.objects.count() == 1


def test_the_edit_form_shows_the_host_and_fixes_tenant_and_serial(client_as, registered):
    form = client_as("operator_user").get(
        reverse("registry:host_edit", args=[registered.pk])
    ).context["form"]

    assert form.initial["memory"] == 256
    assert form.initial["serial"] == "SN-0001"
    assert form.fields["tenant"].disabled and form.fields["serial"].disabled


def test_editing_saves_the_change_and_audits_old_and_new(client_as, registered, tenant):
    data = form_data(tenant, name="db-01", serial="IGNORED", memory="512", threads="64",
                     location="DC1 rack A3 U12", manufacturer="", model="")

    response = client_as("operator_user").post(
        reverse("registry:host_edit", args=[registered.pk]), data
    )

    assert response.status_code == 302
    registered.refresh_from_db()
    assert (registered.external_id, registered.memory_mib) == ("SN-0001", 524288)
    (event,) = AuditEvent.objects.all()
    assert event.action == "manual_host.update"
    assert event.changes == {"memory_mib": {"old": 262144, "new": 524288}}


def test_retiring_archives_the_host_after_a_confirmation_page(client_as, registered):
    client = client_as("admin_user")
    url = reverse("registry:host_retire", args=[registered.pk])

    page = client.get(url)
    response = client.post(url)

    assert "Retire “db-01”?" in page.content.decode()
    assert response.status_code == 302
    registered.refresh_from_db()
    assert registered.archived_at is not None
    assert not registered.intervals.filter(ended_at__isnull=True).exists()
    assert AuditEvent.objects.get().action == "manual_host.retire"


# --- importing ---------------------------------------------------------------------------------

def test_the_import_form_is_a_dry_run_unless_unticked(client_as, tenant):
    response = client_as("admin_user").get(reverse("registry:import"))

    form = response.context["form"]
    assert form.fields["dry_run"].initial is True
    assert 'name="dry_run"' in response.content.decode()
    assert "checked" in str(form["dry_run"])


def test_a_dry_run_shows_the_plan_and_import_now_writes_exactly_that_file(client_as, tenant,
                                                                          registered):
    client = client_as("operator_user")
    changed = "db-01,SN-0001,acme,2,32,64,512,DC1 rack A3 U12,,,"
    content = csv_bytes(changed, *GOOD_ROWS[1:])

    plan = client.post(reverse("registry:import"), {"file": csv_file(content), "dry_run": "on"})

    html = plan.content.decode()
    assert plan.context["counts"] == {"create": 2, "update": 1, "unchanged": 0}
    assert "256 GiB → 512 GiB" in html
    assert Host.objects.count() == 1 and not AuditEvent.objects.exists()

    done = client.post(reverse("registry:import_confirm"), {"payload": payload_of(html)})

    assert done.status_code == 200
    assert "Written." in done.content.decode()
    assert Host.objects.count() == 3
    assert Host.objects.get(external_id="SN-0001").memory_mib == 524288
    assert AuditEvent.objects.get().action == "manual_host.import"


def test_import_now_refuses_an_altered_or_someone_elses_plan(client_as, tenant, admin_user):
    plan = client_as("operator_user").post(
        reverse("registry:import"), {"file": csv_file(csv_bytes(*GOOD_ROWS)), "dry_run": "on"}
    )
    payload = payload_of(plan.content.decode())

    altered = client_as("operator_user").post(reverse("registry:import_confirm"),
                                              {"payload": payload[:-3] + "abc"})
    stolen = client_as("admin_user").post(reverse("registry:import_confirm"),
                                          {"payload": payload})

    assert altered.status_code == stolen.status_code == 302
    assert altered.url == reverse("registry:import")
    assert not Host.objects.exists()


def test_unticking_dry_run_imports_at_once(client_as, tenant):
    response = client_as("admin_user").post(
        reverse("registry:import"), {"file": csv_file(csv_bytes(*GOOD_ROWS)), "dry_run": ""}
    )

    assert response.status_code == 200
    assert Host.objects.count() == 3
    assert 'name="payload"' not in response.content.decode()


def test_a_bad_file_shows_every_bad_cell_in_a_table_and_imports_nothing(client_as, tenant):
    content = csv_bytes(GOOD_ROWS[0], "db-02,SN-0002,acme,0,32,,256,DC1,,,",
                        "=cmd,SN-0003,acme,1,16,,128,DC2,,,")

    response = client_as("admin_user").post(
        reverse("registry:import"), {"file": csv_file(content), "dry_run": ""}
    )

    html = response.content.decode()
    table = html[html.index('id="import-errors"'):]
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>\s*<td><code>(\w+)</code></td>", table)
    assert rows == [("3", "sockets"), ("4", "name")]
    assert "Nothing was imported" in html
    assert not Host.objects.exists()


def test_a_file_in_another_encoding_is_refused_with_advice(client_as, tenant):
    content = csv_bytes("café,S1,acme,1,4,,16,here,,,", encoding="utf-16")

    response = client_as("admin_user").post(reverse("registry:import"),
                                            {"file": csv_file(content)})

    assert "CSV UTF-8" in unescape(response.content.decode())
    assert not Host.objects.exists()


def test_a_file_over_the_size_limit_is_refused(client_as, tenant, settings):
    settings.PORTAL_IMPORT_MAX_BYTES = 50

    response = client_as("admin_user").post(
        reverse("registry:import"), {"file": csv_file(csv_bytes(*GOOD_ROWS)), "dry_run": ""}
    )

    assert "the limit is 50 bytes" in response.content.decode()
    assert not Host.objects.exists()


def test_a_file_too_big_to_carry_asks_to_choose_it_again(client_as, tenant, monkeypatch):
    from portal.registry import pending

    monkeypatch.setattr(pending, "MAX_TOKEN_CHARS", 10)

    response = client_as("admin_user").post(
        reverse("registry:import"), {"file": csv_file(csv_bytes(*GOOD_ROWS)), "dry_run": "on"}
    )

    html = response.content.decode()
    assert 'name="payload"' not in html
    assert "too big to carry over; choose it again" in html
    assert 'type="file"' in html


def test_the_template_download_is_a_csv_the_import_accepts(client_as, tenant):
    response = client_as("operator_user").get(reverse("registry:import_template"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="hosts-template.csv"' in response["Content-Disposition"]
    assert response.content.decode().startswith("name,serial,tenant,sockets,cores")
    parsed = read_hosts(response.content, tenants={"acme": tenant}, max_bytes=10_000)
    assert parsed.ok and [row.tenant for row in parsed.rows] == [tenant, tenant]


# --- navigation and providers -------------------------------------------------------------------

@pytest.mark.parametrize(("persona", "writer"), [
    ("admin_user", True), ("viewer_user", False), ("finance_user", False),
])
def test_the_navigation_links_the_registry_and_import_for_writers(client_as, tenant, persona,
                                                                   writer):
    html = client_as(persona).get(reverse("web:dashboard")).content.decode()
    nav = html[html.index('id="nav-main"'):html.index("</nav>")]

    assert reverse("registry:host_list") in nav
    assert (reverse("registry:import") in nav) is writer


def test_the_manual_provider_page_offers_no_sync_or_connection_test(client_as, registered):
    provider = registered.provider

    html = client_as("admin_user").get(provider.get_absolute_url()).content.decode()

    assert reverse("inventory:provider_sync", args=[provider.pk]) not in html
    assert reverse("inventory:provider_check", args=[provider.pk]) not in html
    assert "never synced" in html
    assert reverse("inventory:provider_edit", args=[provider.pk]) in html


@pytest.mark.parametrize("action", ["provider_sync", "provider_check"])
def test_posting_sync_or_check_for_the_manual_provider_is_refused_politely(client_as,
                                                                           registered, action):
    provider = registered.provider
    runs = SyncRun.objects.count()

    response = client_as("operator_user").post(
        reverse(f"inventory:{action}", args=[provider.pk]), follow=True
    )

    assert response.redirect_chain[-1][0] == provider.get_absolute_url()
    assert "Hand-registered hosts are not synced" in unescape(response.content.decode())
    assert SyncRun.objects.count() == runs
    assert not AuditEvent.objects.exists()
