"""The server-rendered pages: who may see and do what, and what each page shows.

Personas (tests/conftest.py): alice (admin) and oscar (operator) may change acme's providers;
victor (viewer) and fiona (finance) only read; mallory is an admin of globex and must see
nothing of acme. Rows are written straight into the database; no provider is involved except
where a button talks to one.
"""

import json
import re
from datetime import timedelta
from html import unescape as html_unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.inventory.models import Host, Provider, SyncRun
from tests.factories import make_host, make_hosts
from tests.web.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY

# Pages everyone of the tenant may read: (URL name, attribute of the acme fixture or None).
READ_PAGES = [
    ("web:dashboard", None),
    ("inventory:host_list", None),
    ("inventory:host_detail", "host"),
    ("inventory:provider_list", None),
    ("inventory:provider_detail", "provider"),
    ("inventory:syncrun_list", None),
    ("inventory:syncrun_detail", "run"),
    ("inventory:syncrun_progress", "run"),
]
# Form pages only writers may open.
WRITE_PAGES = [
    ("inventory:provider_create", None),
    ("inventory:provider_edit", "provider"),
    ("inventory:provider_delete", "provider"),
]
# Every POST that changes something or calls a provider.
POST_ACTIONS = [
    ("inventory:provider_create", None),
    ("inventory:provider_edit", "provider"),
    ("inventory:provider_delete", "provider"),
    ("inventory:provider_check", "provider"),
    ("inventory:provider_sync", "provider"),
]
OBJECT_PAGES = [page for page in READ_PAGES + WRITE_PAGES if page[1]]
OBJECT_ACTIONS = [action for action in POST_ACTIONS if action[1]]
LIST_PAGES = ["web:dashboard", "inventory:host_list", "inventory:provider_list",
              "inventory:syncrun_list"]

# A refused port on the loopback: the driver fails at once, with no retries configured.
REFUSED = {"regions": ["eu-west-1"], "endpoint_url": "http://127.0.0.1:9", "max_attempts": 1}


def url_of(name, target, acme):
    return reverse(name, args=[getattr(acme, target).pk]) if target else reverse(name)


def valid_provider_data(tenant, **overrides):
    data = {
        "tenant": tenant.pk, "name": "acme-aws-2", "kind": "aws", "enabled": "on",
        "sync_interval": "900", "regions": "eu-west-1, us-east-1",
        "endpoint_url": "", "access_key_id": "AKIANEWKEY000111", "secret_access_key": "new-s3cret",
    }
    data.update(overrides)
    return data


def listed_names(response) -> list[str]:
    return [host.name for host in response.context["page"]]


def field_error(html: str, field: str) -> str:
    """The error text rendered for ``field``, checking it sits right after the field's input."""
    errors = re.search(rf'id="id_{field}_errors">(.*?)</div>', html, re.S)
    assert errors, f"no error shown for {field}"
    between = html[html.index(f'name="{field}"'):errors.start()]
    assert "name=" not in between.split(">", 1)[1], f"{field}'s error is not next to it"
    return html_unescape(errors.group(1).strip())


def nothing_changed(acme):
    provider = Provider.objects.get(pk=acme.provider.pk)
    assert provider.name == "acme-aws"
    assert provider.credentials["secret_access_key"] == SECRET_ACCESS_KEY
    assert Provider.objects.count() == 1
    assert SyncRun.objects.count() == 1
    assert not AuditEvent.objects.exists()


# --- access --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "target"), READ_PAGES + WRITE_PAGES)
def test_anonymous_get_is_sent_to_login(client, acme, name, target):
    url = url_of(name, target, acme)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('web:login')}?next={url}"


@pytest.mark.parametrize(("name", "target"), POST_ACTIONS)
def test_anonymous_post_is_sent_to_login_and_changes_nothing(client, acme, name, target):
    url = url_of(name, target, acme)

    response = client.post(url, valid_provider_data(acme.tenant))

    assert response.status_code == 302
    assert response.url.startswith(reverse("web:login"))
    nothing_changed(acme)


def test_anonymous_htmx_request_redirects_the_whole_page(client, acme):
    url = reverse("inventory:syncrun_progress", args=[acme.run.pk])

    response = client.get(url, headers={"HX-Request": "true"})

    # A plain 302 would be followed inside the XHR and put the login form into the page.
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{reverse('web:login')}?next={url}"


@pytest.mark.parametrize(("name", "target"), OBJECT_PAGES)
def test_outsider_gets_404_for_acme_objects(client_for, outsider_user, acme, globex, name,
                                            target):
    client = client_for(outsider_user)

    response = client.get(url_of(name, target, acme))

    assert response.status_code == 404


@pytest.mark.parametrize(("name", "target"), OBJECT_ACTIONS)
def test_outsider_post_gets_404_and_changes_nothing(client_for, outsider_user, acme, globex,
                                                    name, target):
    client = client_for(outsider_user)

    response = client.post(url_of(name, target, acme), valid_provider_data(acme.tenant))

    assert response.status_code == 404
    assert Provider.objects.filter(tenant=acme.tenant).count() == 1
    assert SyncRun.objects.filter(provider=acme.provider).count() == 1
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("name", LIST_PAGES)
def test_lists_show_only_the_users_tenant(client_for, admin_user, outsider_user, acme, globex,
                                          name):
    outsider_page = client_for(outsider_user).get(reverse(name)).content.decode()
    acme_page = client_for(admin_user).get(reverse(name)).content.decode()

    # Each sees its own provider; the same page for acme proves the names would show.
    assert "globex-aws" in outsider_page
    assert "acme-aws" not in outsider_page
    assert "acme-aws" in acme_page
    assert "globex-aws" not in acme_page


def test_outsider_host_list_has_no_acme_hosts(client_for, outsider_user, acme, globex):
    response = client_for(outsider_user).get(reverse("inventory:host_list"))

    assert listed_names(response) == ["globex-db-000"]
    assert "acme-web-000" not in response.content.decode()


def test_outsider_cannot_add_a_provider_to_acme(client_for, outsider_user, acme, globex):
    client = client_for(outsider_user)

    response = client.post(reverse("inventory:provider_create"),
                           valid_provider_data(acme.tenant))

    assert response.status_code == 200
    assert "Select a valid choice" in field_error(response.content.decode(), "tenant")
    assert not Provider.objects.filter(tenant=acme.tenant, name="acme-aws-2").exists()


@pytest.mark.parametrize("persona", ["viewer_user", "finance_user"])
@pytest.mark.parametrize(("name", "target"), READ_PAGES)
def test_readers_may_read_every_page(request, client_for, acme, persona, name, target):
    client = client_for(request.getfixturevalue(persona))

    response = client.get(url_of(name, target, acme))

    assert response.status_code == 200


@pytest.mark.parametrize("persona", ["viewer_user", "finance_user"])
@pytest.mark.parametrize(("name", "target"), WRITE_PAGES)
def test_readers_get_403_on_change_forms(request, client_for, acme, persona, name, target):
    client = client_for(request.getfixturevalue(persona))

    response = client.get(url_of(name, target, acme))

    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["viewer_user", "finance_user"])
@pytest.mark.parametrize(("name", "target"), POST_ACTIONS)
def test_readers_get_403_on_changes_and_nothing_changes(request, client_for, acme, persona,
                                                        name, target):
    client = client_for(request.getfixturevalue(persona))

    response = client.post(url_of(name, target, acme), valid_provider_data(acme.tenant))

    assert response.status_code == 403
    nothing_changed(acme)


@pytest.mark.parametrize(("persona", "buttons"), [
    ("viewer_user", False), ("finance_user", False), ("operator_user", True),
    ("admin_user", True),
])
def test_provider_page_offers_buttons_only_to_writers(request, client_for, acme, persona,
                                                      buttons):
    client = client_for(request.getfixturevalue(persona))

    html = client.get(acme.provider.get_absolute_url()).content.decode()

    for url_name in ("provider_check", "provider_sync", "provider_edit", "provider_delete"):
        url = reverse(f"inventory:{url_name}", args=[acme.provider.pk])
        assert (url in html) is buttons, url_name


@pytest.mark.parametrize("persona", ["operator_user", "admin_user"])
@pytest.mark.parametrize(("name", "target"), WRITE_PAGES)
def test_writers_may_open_change_forms(request, client_for, acme, persona, name, target):
    client = client_for(request.getfixturevalue(persona))

    response = client.get(url_of(name, target, acme))

    assert response.status_code == 200


@pytest.mark.parametrize(("name", "target"), [*READ_PAGES, *WRITE_PAGES])
def test_superuser_sees_every_tenant(client_for, django_user_model, acme, name, target):
    root = django_user_model.objects.create_superuser("root", password="pw-root")

    response = client_for(root).get(url_of(name, target, acme))

    assert response.status_code == 200


# --- provider changes ------------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["operator_user", "admin_user"])
def test_writer_adds_a_provider(request, client_for, acme, persona):
    user = request.getfixturevalue(persona)

    response = client_for(user).post(reverse("inventory:provider_create"),
                                     valid_provider_data(acme.tenant))

    provider = Provider.objects.get(name="acme-aws-2")
    assert response.status_code == 302
    assert response.url == provider.get_absolute_url()
    assert provider.tenant == acme.tenant
    assert provider.settings == {"regions": ["eu-west-1", "us-east-1"]}
    assert provider.sync_interval == 900
    assert provider.credentials == {"access_key_id": "AKIANEWKEY000111",
                                    "secret_access_key": "new-s3cret"}
    event = AuditEvent.objects.get(action="provider.create")
    assert (event.user, event.tenant, event.object_id) == (user, acme.tenant, str(provider.pk))
    assert event.changes["credentials"] == "changed"
    assert event.changes["name"] == "acme-aws-2"
    assert "new-s3cret" not in json.dumps(event.changes)
    assert "AKIANEWKEY000111" not in json.dumps(event.changes)


def test_edit_with_blank_credentials_keeps_the_stored_ones(client_for, operator_user, acme):
    data = valid_provider_data(acme.tenant, name="acme-aws-renamed", access_key_id="",
                               secret_access_key="", endpoint_url="https://ec2.example.test")

    response = client_for(operator_user).post(
        reverse("inventory:provider_edit", args=[acme.provider.pk]), data
    )

    provider = Provider.objects.get(pk=acme.provider.pk)
    assert response.status_code == 302
    assert provider.name == "acme-aws-renamed"
    assert provider.settings["endpoint_url"] == "https://ec2.example.test"
    assert provider.credentials == {"access_key_id": ACCESS_KEY_ID,
                                    "secret_access_key": SECRET_ACCESS_KEY}
    event = AuditEvent.objects.get(action="provider.update")
    assert event.changes["name"] == "acme-aws-renamed"
    assert "credentials" not in event.changes


def test_edit_keeps_settings_the_form_does_not_know(client_for, admin_user, acme):
    acme.provider.settings = {"regions": ["eu-west-1"], "read_timeout": 45}
    acme.provider.save()

    client_for(admin_user).post(reverse("inventory:provider_edit", args=[acme.provider.pk]),
                                valid_provider_data(acme.tenant, regions=""))

    provider = Provider.objects.get(pk=acme.provider.pk)
    assert provider.settings == {"read_timeout": 45}


def test_edit_with_new_credentials_replaces_them(client_for, admin_user, acme):
    data = valid_provider_data(acme.tenant, name="acme-aws")

    client_for(admin_user).post(reverse("inventory:provider_edit", args=[acme.provider.pk]),
                                data)

    provider = Provider.objects.get(pk=acme.provider.pk)
    assert provider.credentials == {"access_key_id": "AKIANEWKEY000111",
                                    "secret_access_key": "new-s3cret"}
    event = AuditEvent.objects.get(action="provider.update")
    assert event.changes == {"credentials": "changed", "sync_interval": 900,
                             "regions": ["eu-west-1", "us-east-1"]}


def test_edit_of_another_kind_leaves_its_settings_and_credentials(client_for, admin_user,
                                                                  make_provider):
    cluster = make_provider(name="acme-k8s", kind="kubernetes",
                            settings={"api_url": "https://k8s.example.test"})
    url = reverse("inventory:provider_edit", args=[cluster.pk])
    client = client_for(admin_user)

    page = client.get(url).content.decode()
    response = client.post(url, {"name": "acme-k8s-2", "sync_interval": "600",
                                 "enabled": "on"})

    cluster.refresh_from_db()
    assert 'id="settings-elsewhere"' in page and 'name="regions"' not in page
    assert response.status_code == 302
    assert (cluster.name, cluster.sync_interval, cluster.kind) == ("acme-k8s-2", 600,
                                                                   "kubernetes")
    assert cluster.settings == {"api_url": "https://k8s.example.test"}
    assert cluster.credentials["secret_access_key"] == "s3cr3t-value"


def test_edit_cannot_move_a_provider_to_another_tenant(client_for, admin_user, acme, globex):
    data = valid_provider_data(globex.tenant, name="acme-aws")

    client_for(admin_user).post(reverse("inventory:provider_edit", args=[acme.provider.pk]),
                                data)

    assert Provider.objects.get(pk=acme.provider.pk).tenant == acme.tenant


def test_delete_asks_first_then_deletes(client_for, operator_user, acme):
    client = client_for(operator_user)
    url = reverse("inventory:provider_delete", args=[acme.provider.pk])

    confirm = client.get(url)
    response = client.post(url)

    assert "1 host with their metering intervals" in " ".join(confirm.content.decode().split())
    assert Provider.objects.filter(pk=acme.provider.pk).exists() is False
    assert Host.objects.count() == 0
    assert response.url == reverse("inventory:provider_list")
    event = AuditEvent.objects.get(action="provider.delete")
    assert (event.object_repr, event.user, event.tenant) == ("acme-aws", operator_user,
                                                            acme.tenant)


def test_check_shows_a_readable_failure(client_for, operator_user, acme):
    Provider.objects.filter(pk=acme.provider.pk).update(settings=REFUSED)

    response = client_for(operator_user).post(
        reverse("inventory:provider_check", args=[acme.provider.pk]), follow=True
    )

    html = response.content.decode()
    assert response.redirect_chain == [(acme.provider.get_absolute_url(), 302)]
    assert "alert-danger" in html
    assert "Connection to “acme-aws” failed: Could not reach the EC2 endpoint" in html
    assert "http://127.0.0.1:9" in html
    event = AuditEvent.objects.get(action="provider.check")
    assert event.changes == {"ok": False}


def test_check_reports_success_against_moto(client_for, admin_user, acme, aws):
    Provider.objects.filter(pk=acme.provider.pk).update(settings=aws.settings(["eu-west-1"]))

    response = client_for(admin_user).post(
        reverse("inventory:provider_check", args=[acme.provider.pk]), follow=True
    )

    html = response.content.decode()
    assert "alert-success" in html
    assert "Connection to “acme-aws” works: Account" in html
    assert "1 region reachable" in html
    assert AuditEvent.objects.get(action="provider.check").changes == {"ok": True}


def test_sync_now_against_a_refused_endpoint_records_a_failed_run(
    client_for, operator_user, acme, django_capture_on_commit_callbacks
):
    Provider.objects.filter(pk=acme.provider.pk).update(settings=REFUSED)
    client = client_for(operator_user)

    # The task is sent when the request's transaction commits; run it (inline) right then.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("inventory:provider_sync", args=[acme.provider.pk]))

    run = SyncRun.objects.exclude(pk=acme.run.pk).get()
    assert response.url == run.get_absolute_url()
    assert run.status == "failed"
    assert run.triggered_by == "oscar"
    assert run.message
    page = client.get(response.url).content.decode()
    assert "Could not reach the EC2 endpoint http://127.0.0.1:9" in page
    assert 'hx-trigger="every 1s"' not in page
    event = AuditEvent.objects.get(action="provider.sync")
    assert event.changes == {"sync_run": run.pk}


def test_sync_now_against_moto_fills_the_host_list(
    client_for, admin_user, acme, aws, django_capture_on_commit_callbacks
):
    Provider.objects.filter(pk=acme.provider.pk).update(settings=aws.settings(["eu-west-1"]))
    aws.run_instances("eu-west-1", 3, name="shop")
    client = client_for(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("inventory:provider_sync", args=[acme.provider.pk]))

    run = SyncRun.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[1])
    assert (run.status, run.created) == ("succeeded", 3)
    hosts = client.get(reverse("inventory:host_list"), {"provider": acme.provider.pk})
    assert listed_names(hosts).count("shop") == 3


# --- credentials never leave the server ------------------------------------------------------

def test_credentials_appear_on_no_page(client_for, admin_user, acme):
    client = client_for(admin_user)
    bodies = {}

    for name, target in READ_PAGES + WRITE_PAGES:
        bodies[name] = client.get(url_of(name, target, acme)).content.decode()
    # A form sent back with an error must not echo the new secret either.
    bodies["edit with error"] = client.post(
        reverse("inventory:provider_edit", args=[acme.provider.pk]),
        valid_provider_data(acme.tenant, sync_interval="5", secret_access_key="typed-s3cret",
                            access_key_id="AKIATYPED0000"),
    ).content.decode()
    bodies["create with error"] = client.post(
        reverse("inventory:provider_create"),
        valid_provider_data(acme.tenant, regions="nowhere", secret_access_key="typed-s3cret"),
    ).content.decode()

    assert "Ensure this value is greater than or equal to 60" in bodies["edit with error"]
    assert "not an AWS region name" in bodies["create with error"]
    assert "Stored. Leave blank to keep it." in bodies["inventory:provider_edit"]
    for page, body in bodies.items():
        for secret in (SECRET_ACCESS_KEY, ACCESS_KEY_ID, "typed-s3cret", "AKIATYPED0000",
                       acme.provider.credentials_encrypted[:40]):
            assert secret not in body, f"{page} shows a credential"


# --- forms -----------------------------------------------------------------------------------

def test_provider_form_shows_each_error_next_to_its_field(client_for, admin_user, acme):
    data = valid_provider_data(acme.tenant, sync_interval="30", regions="eu-west-1, narnia",
                               endpoint_url="not a url", access_key_id="", secret_access_key="")

    response = client_for(admin_user).post(reverse("inventory:provider_create"), data)

    html = response.content.decode()
    assert response.status_code == 200
    assert field_error(html, "sync_interval") == (
        "Ensure this value is greater than or equal to 60."
    )
    assert field_error(html, "regions") == (
        "'narnia' is not an AWS region name such as 'eu-west-1'."
    )
    assert field_error(html, "endpoint_url") == "Enter a valid URL."
    assert field_error(html, "access_key_id") == "This field is required."
    assert field_error(html, "secret_access_key") == "This field is required."
    assert re.search(r'name="sync_interval"[^>]*is-invalid|is-invalid[^>]*name="sync_interval"',
                     html)
    assert Provider.objects.count() == 1


def test_provider_form_wants_both_keys_to_replace_them(client_for, admin_user, acme):
    data = valid_provider_data(acme.tenant, name="acme-aws", secret_access_key="")

    response = client_for(admin_user).post(
        reverse("inventory:provider_edit", args=[acme.provider.pk]), data
    )

    assert "Enter both the key ID and the secret" in field_error(
        response.content.decode(), "secret_access_key"
    )
    assert Provider.objects.get(pk=acme.provider.pk).credentials["access_key_id"] == ACCESS_KEY_ID


def test_provider_form_refuses_a_duplicate_name(client_for, admin_user, acme):
    data = valid_provider_data(acme.tenant, name="acme-aws")

    response = client_for(admin_user).post(reverse("inventory:provider_create"), data)

    assert "already exists" in response.content.decode()
    assert Provider.objects.count() == 1


def test_edit_form_shows_the_stored_settings(client_for, admin_user, acme):
    acme.provider.settings = {"regions": ["eu-west-1", "eu-central-1"],
                              "endpoint_url": "https://ec2.example.test"}
    acme.provider.save()

    form = client_for(admin_user).get(
        reverse("inventory:provider_edit", args=[acme.provider.pk])
    ).context["form"]

    assert form["regions"].value() == "eu-west-1, eu-central-1"
    assert form["endpoint_url"].value() == "https://ec2.example.test"
    assert form["access_key_id"].value() is None


# --- host list -------------------------------------------------------------------------------

@pytest.fixture
def estate(acme, make_provider):
    """Four acme hosts on two providers; one archived."""
    Host.objects.all().delete()
    metal = make_provider(name="acme-metal", kind="redfish")
    now = timezone.now()
    make_host(acme.provider, "web-1", instance_type="m5.large", vcpus=2, memory_mib=8192)
    make_host(acme.provider, "web-2", state="stopped", region="us-east-1",
              instance_type="t3.micro", vcpus=1, memory_mib=1024,
              last_seen=now - timedelta(days=2))
    make_host(acme.provider, "old-1", archived_at=now)
    make_host(metal, "metal-1", kind="bare_metal", region="dc-paris", vcpus=64,
              memory_mib=524288)
    return metal


@pytest.mark.parametrize(("params", "expected"), [
    ({}, ["metal-1", "web-1", "web-2"]),
    ({"provider": "METAL"}, ["metal-1"]),
    ({"kind": "bare_metal"}, ["metal-1"]),
    ({"state": "stopped"}, ["web-2"]),
    ({"region": "us-east-1"}, ["web-2"]),
    ({"archived": "true"}, ["old-1"]),
    ({"archived": "any"}, ["metal-1", "old-1", "web-1", "web-2"]),
    ({"q": "WEB"}, ["web-1", "web-2"]),
    ({"q": "i-web-2"}, ["web-2"]),
    ({"q": "t3.mic"}, ["web-2"]),
    ({"state": "running", "q": "web"}, ["web-1"]),
])
def test_host_filters_and_search(client_for, viewer_user, estate, params, expected):
    if params.get("provider") == "METAL":
        params = {**params, "provider": estate.pk}

    response = client_for(viewer_user).get(reverse("inventory:host_list"), params)

    assert listed_names(response) == expected


@pytest.mark.parametrize(("sort", "expected"), [
    ("name", ["metal-1", "web-1", "web-2"]),
    ("-name", ["web-2", "web-1", "metal-1"]),
    ("vcpus", ["web-2", "web-1", "metal-1"]),
    ("-vcpus", ["metal-1", "web-1", "web-2"]),
    ("-memory", ["metal-1", "web-1", "web-2"]),
    ("provider", ["web-1", "web-2", "metal-1"]),
    # Ties keep the order rows were created in (the primary key breaks them).
    ("state", ["web-1", "metal-1", "web-2"]),
    ("-region", ["web-2", "web-1", "metal-1"]),
    ("type", ["metal-1", "web-1", "web-2"]),
    ("last_seen", ["web-2", "web-1", "metal-1"]),
    ("nonsense", ["metal-1", "web-1", "web-2"]),
])
def test_host_sort(client_for, viewer_user, estate, sort, expected):
    response = client_for(viewer_user).get(reverse("inventory:host_list"), {"sort": sort})

    assert listed_names(response) == expected


def test_sort_headers_flip_and_keep_the_filters(client_for, viewer_user, estate):
    response = client_for(viewer_user).get(
        reverse("inventory:host_list"), {"state": "running", "sort": "vcpus", "page": "1"}
    )

    html = response.content.decode()
    # The current column flips; another column sorts ascending; the page starts over.
    assert 'href="?state=running&amp;sort=-vcpus" hx-get="?state=running&amp;sort=-vcpus"' in html
    assert 'href="?state=running&amp;sort=name"' in html
    assert 'aria-sort="ascending"' in html


def test_host_list_pages_by_fifty(client_for, viewer_user, acme):
    make_hosts(acme.provider, 120, prefix="bulk")
    client = client_for(viewer_user)
    url = reverse("inventory:host_list")

    first = client.get(url, {"q": "bulk"})
    third = client.get(url, {"q": "bulk", "page": "3"})
    beyond = client.get(url, {"q": "bulk", "page": "99"})

    assert listed_names(first) == [f"bulk-{n:03d}" for n in range(50)]
    assert listed_names(third) == [f"bulk-{n:03d}" for n in range(100, 120)]
    assert beyond.context["page"].number == 3
    assert 'href="?q=bulk&amp;page=2"' in first.content.decode()
    assert "120 hosts" in first.content.decode()


def test_host_list_answers_htmx_with_the_table_only(client_for, viewer_user, estate):
    response = client_for(viewer_user).get(
        reverse("inventory:host_list"), {"q": "web"}, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith("<div id=\"host-table\"")
    assert "<html" not in html and "host-filter\" method" not in html
    assert "web-1" in html and "metal-1" not in html
    assert "HX-Request" in response["Vary"]


def test_host_list_works_as_a_plain_form(client_for, viewer_user, estate):
    html = client_for(viewer_user).get(reverse("inventory:host_list")).content.decode()

    assert '<form id="host-filter" method="get" action="/hosts/"' in html
    assert 'name="q"' in html and 'type="submit"' in html
    assert '<input type="hidden" name="sort" value="name" form="host-filter">' in html


def count_queries(client, url, **kwargs) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **kwargs)
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("htmx", [False, True])
def test_host_list_query_count_does_not_grow_with_rows(client_for, viewer_user, acme,
                                                       make_provider, htmx):
    client = client_for(viewer_user)
    url = reverse("inventory:host_list")
    headers = {"HX-Request": "true"} if htmx else {}
    make_hosts(acme.provider, 4)

    few, response = count_queries(client, url, headers=headers)
    assert len(response.context["page"]) == 5

    # Forty-five more, on several providers, so a per-row provider lookup would show.
    for n in range(5):
        make_hosts(make_provider(name=f"more-{n}"), 9, prefix=f"more-{n}")
    many, response = count_queries(client, url, headers=headers)

    assert len(response.context["page"]) == 50
    assert many == few


# --- other pages -----------------------------------------------------------------------------

def test_host_detail_shows_facts_tags_addresses_and_intervals(client_for, viewer_user, acme):
    response = client_for(viewer_user).get(acme.host.get_absolute_url())

    html = response.content.decode()
    for fact in ("acme-web-000", "i-acme-web-00000", "m5.xlarge", "16 GiB", "Linux/UNIX",
                 "ec2-uuid-1234", "eu-west-1a", "10.1.2.3", "2001:db8::7", "team", "shop"):
        assert fact in html, fact
    intervals = html[html.index('id="intervals"'):]
    assert intervals.count("<tr>") == 3
    assert ">open</span>" in intervals
    assert "4.00" in intervals and "8 GiB" in intervals


def test_dashboard_totals_and_hosts_by_provider(client_for, viewer_user, acme, make_provider):
    metal = make_provider(name="acme-metal", kind="redfish")
    make_hosts(metal, 2, state="stopped", vcpus=8, memory_mib=32768)
    make_hosts(metal, 1, prefix="gone", archived_at=timezone.now())

    response = client_for(viewer_user).get(reverse("web:dashboard"))

    totals = response.context["totals"]
    assert (totals["hosts"], totals["running"]) == (3, 1)
    assert (totals["all_vcpus"], totals["running_vcpus"]) == (20, 4)
    assert response.context["states"] == ["running", "stopped"]
    rows = {row["name"]: row["cells"] for row in response.context["providers"]}
    assert rows == {"acme-aws": [1, 0], "acme-metal": [0, 2]}
    html = response.content.decode()
    assert 'data-total="hosts">3<' in html
    assert 'data-total="memory">80 GiB<' in html
    assert "host-chart-segment bg-secondary" in html
    assert f'href="{acme.run.get_absolute_url()}"' in html


def test_dashboard_query_count_does_not_grow_with_providers(client_for, viewer_user, acme,
                                                            make_provider):
    client = client_for(viewer_user)
    few, _ = count_queries(client, reverse("web:dashboard"))

    for n in range(4):
        provider = make_provider(name=f"more-{n}")
        make_hosts(provider, 3, prefix=f"more-{n}")
        SyncRun.objects.create(provider=provider, status="succeeded")
    many, response = count_queries(client, reverse("web:dashboard"))

    assert len(response.context["providers"]) == 5
    assert many == few


def test_demo_badge_only_in_demo_mode(client_for, viewer_user, settings):
    client = client_for(viewer_user)

    settings.PORTAL_DEMO = True
    demo = client.get(reverse("web:dashboard")).content.decode()
    settings.PORTAL_DEMO = False
    normal = client.get(reverse("web:dashboard")).content.decode()

    assert "demo mode" in demo
    assert "demo mode" not in normal


def test_syncrun_detail_shows_counts_errors_and_message(client_for, viewer_user, acme):
    response = client_for(viewer_user).get(acme.run.get_absolute_url())

    html = response.content.decode()
    assert 'data-count="seen">12<' in html and 'data-count="unchanged">7<' in html
    assert "us-east-1" in html and "did not answer within 20 s" in html
    assert "1 scope(s) failed." in html
    assert "took 2 min 0 s" in html
    assert 'style="width: 100%"' in html


def test_syncrun_list_filters_by_provider_and_status(client_for, viewer_user, acme,
                                                     make_provider):
    other = make_provider(name="acme-other")
    failed = SyncRun.objects.create(provider=other, status="failed", message="nope")
    SyncRun.objects.create(provider=other, status="succeeded")
    client = client_for(viewer_user)
    url = reverse("inventory:syncrun_list")

    by_provider = client.get(url, {"provider": acme.provider.pk}).context["page"]
    by_status = client.get(url, {"status": "failed"}).context["page"]
    everything = client.get(url).context["page"]

    assert [run.pk for run in by_provider] == [acme.run.pk]
    assert [run.pk for run in by_status] == [failed.pk]
    assert len(everything) == 3


def test_progress_polls_while_running(client_for, viewer_user, acme):
    run = SyncRun.objects.create(provider=acme.provider, status="running", scopes_total=4,
                                 scopes_done=1, seen=250, started_at=timezone.now())
    client = client_for(viewer_user)

    page = client.get(run.get_absolute_url()).content.decode()
    fragment = client.get(reverse("inventory:syncrun_progress", args=[run.pk]),
                          headers={"HX-Request": "true"}).content.decode()

    progress_url = reverse("inventory:syncrun_progress", args=[run.pk])
    for html in (page, fragment):
        assert f'hx-get="{progress_url}" hx-trigger="every 1s"' in html
        assert 'aria-valuenow="25"' in html
        assert "progress-bar-animated" in html
    assert fragment.lstrip().startswith('<div id="syncrun-progress"')
    assert 'data-count="seen">250<' in fragment


def test_progress_stops_polling_once_finished(client_for, viewer_user, acme):
    run = SyncRun.objects.create(provider=acme.provider, status="running", scopes_total=4,
                                 scopes_done=3, started_at=timezone.now())
    client = client_for(viewer_user)
    url = reverse("inventory:syncrun_progress", args=[run.pk])
    polling = client.get(url).content.decode()

    SyncRun.objects.filter(pk=run.pk).update(status="succeeded", scopes_done=4,
                                             finished_at=timezone.now())
    finished = client.get(url).content.decode()

    assert "hx-trigger" in polling
    assert "hx-trigger" not in finished and "hx-get" not in finished
    assert 'aria-valuenow="100"' in finished and ">Succeeded<" in finished


# --- login and logout ------------------------------------------------------------------------

def test_login_form_logs_in_and_goes_to_the_dashboard(client, viewer_user):
    page = client.get(reverse("web:login"))

    response = client.post(reverse("web:login"), {"username": "victor",
                                                  "password": "pw-victor"})

    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    assert response.url == reverse("web:dashboard")
    assert client.get(reverse("web:dashboard")).status_code == 200


def test_login_with_a_wrong_password_says_so(client, viewer_user):
    response = client.post(reverse("web:login"), {"username": "victor", "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_login_returns_to_the_page_asked_for(client, viewer_user, acme):
    url = acme.host.get_absolute_url()

    response = client.post(f"{reverse('web:login')}?next={url}",
                           {"username": "victor", "password": "pw-victor", "next": url})

    assert response.url == url


def test_logout_needs_post(client_for, viewer_user):
    client = client_for(viewer_user)

    refused = client.get(reverse("web:logout"))
    response = client.post(reverse("web:logout"))

    assert refused.status_code == 405
    assert response.url == reverse("web:login")
    assert client.get(reverse("web:dashboard")).status_code == 302


def test_navbar_links_every_section_and_logs_out_by_post(client_for, viewer_user):
    html = client_for(viewer_user).get(reverse("web:dashboard")).content.decode()

    for url in (reverse("web:dashboard"), reverse("inventory:host_list"),
                reverse("inventory:provider_list"), reverse("inventory:syncrun_list"),
                "/api/docs/"):
        assert f'href="{url}"' in html, url
    assert f'<form method="post" action="{reverse("web:logout")}"' in html


# --- OpenStack and Redfish provider forms ----------------------------------------------------

def test_add_page_offers_one_form_per_kind(client_for, admin_user, acme):
    client = client_for(admin_user)

    openstack = client.get(reverse("inventory:provider_create") + "?kind=openstack")
    redfish = client.get(reverse("inventory:provider_create") + "?kind=redfish")
    unknown = client.get(reverse("inventory:provider_create") + "?kind=mainframe")

    assert 'name="auth_url"' in openstack.content.decode()
    assert 'name="application_credential_secret"' in openstack.content.decode()
    assert 'name="bmcs"' in redfish.content.decode()
    assert 'name="auth_url"' not in redfish.content.decode()
    assert unknown.status_code == 404


def test_writer_adds_an_openstack_provider(client_for, operator_user, acme):
    data = {
        "tenant": acme.tenant.pk, "name": "acme-cloud", "enabled": "on", "sync_interval": "600",
        "auth_url": "https://keystone.example.test/v3", "regions": "RegionOne, RegionTwo",
        "project_name": "admin", "project_domain_name": "Default",
        "user_domain_name": "Default", "interface": "public", "services": ["compute"],
        "all_projects": "on", "verify": "on", "username": "portal", "password": "os-s3cret",
        # Ignored: the kind comes from the page, not from what is posted.
        "kind": "aws",
    }

    response = client_for(operator_user).post(
        reverse("inventory:provider_create") + "?kind=openstack", data
    )

    provider = Provider.objects.get(name="acme-cloud")
    assert response.status_code == 302
    assert provider.kind == "openstack"
    assert provider.settings == {
        "auth_url": "https://keystone.example.test/v3", "regions": ["RegionOne", "RegionTwo"],
        "project_name": "admin", "project_domain_name": "Default",
        "user_domain_name": "Default", "interface": "public", "services": ["compute"],
        "all_projects": True, "verify": True, "auth_type": "password",
    }
    assert provider.credentials == {"username": "portal", "password": "os-s3cret"}
    assert "os-s3cret" not in json.dumps(AuditEvent.objects.get(action="provider.create").changes)


def test_openstack_form_wants_one_complete_login(client_for, admin_user, acme):
    data = {
        "tenant": acme.tenant.pk, "name": "acme-cloud", "sync_interval": "600",
        "auth_url": "https://keystone.example.test/v3", "interface": "public",
        "services": ["compute", "baremetal"], "username": "portal",
    }

    response = client_for(admin_user).post(
        reverse("inventory:provider_create") + "?kind=openstack", data
    )

    assert response.status_code == 200
    assert "Give either a user name and password or an application credential" in (
        response.content.decode()
    )
    assert not Provider.objects.filter(name="acme-cloud").exists()


def test_writer_adds_a_redfish_provider_with_one_bmc_per_line(client_for, admin_user, acme):
    data = {
        "tenant": acme.tenant.pk, "name": "acme-rack", "enabled": "on", "sync_interval": "900",
        "bmcs": "rack1-u01 https://10.0.0.11\n\n  rack1-u02   https://10.0.0.12  \n",
        "power_timeout": "60", "username": "root", "password": "calvin-s3cret",
    }

    response = client_for(admin_user).post(
        reverse("inventory:provider_create") + "?kind=redfish", data
    )

    provider = Provider.objects.get(name="acme-rack")
    assert response.status_code == 302
    assert provider.settings == {
        "bmcs": [
            {"name": "rack1-u01", "url": "https://10.0.0.11", "verify": False},
            {"name": "rack1-u02", "url": "https://10.0.0.12", "verify": False},
        ],
        "power_timeout": 60,
    }
    assert provider.credentials == {"username": "root", "password": "calvin-s3cret"}

    page = client_for(admin_user).get(reverse("inventory:provider_edit", args=[provider.pk]))
    assert page.context["form"]["bmcs"].value() == (
        "rack1-u01 https://10.0.0.11\nrack1-u02 https://10.0.0.12"
    )
    assert "calvin-s3cret" not in page.content.decode()


@pytest.mark.parametrize(("bmcs", "message"), [
    ("rack1-u01", "Line 1: write a name and a URL separated by a space"),
    ("rack1-u01 ftp://10.0.0.11", "BMC 1: url &#x27;ftp://10.0.0.11&#x27; is not an http"),
    ("a https://10.0.0.1\na https://10.0.0.2", "BMC 2: the name &#x27;a&#x27; is used twice"),
    ("   \n", "This field is required."),
])
def test_redfish_form_explains_a_bad_bmc_list(client_for, admin_user, acme, bmcs, message):
    data = {"tenant": acme.tenant.pk, "name": "acme-rack", "sync_interval": "900",
            "bmcs": bmcs, "username": "root", "password": "pw"}

    response = client_for(admin_user).post(
        reverse("inventory:provider_create") + "?kind=redfish", data
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Provider.objects.filter(name="acme-rack").exists()


def test_redfish_edit_keeps_per_bmc_logins_set_through_the_api(client_for, admin_user,
                                                                make_provider):
    rack = make_provider(
        name="acme-rack", kind="redfish",
        settings={"bmcs": [{"name": "u01", "url": "https://10.0.0.11", "verify": True}]},
        credentials={"username": "root", "password": "old",
                     "bmcs": {"u01": {"password": "special"}}},
    )
    data = {"tenant": rack.tenant_id, "name": "acme-rack", "sync_interval": "900",
            "bmcs": "u01 https://10.0.0.11", "verify": "on",
            "username": "admin", "password": "new"}

    response = client_for(admin_user).post(
        reverse("inventory:provider_edit", args=[rack.pk]), data
    )

    rack.refresh_from_db()
    assert response.status_code == 302
    assert rack.credentials == {"username": "admin", "password": "new",
                                "bmcs": {"u01": {"password": "special"}}}


def test_host_page_shows_hardware_what_runs_on_it_and_where_it_runs(client_for, viewer_user,
                                                                      make_provider):
    cloud = make_provider(name="acme-cloud", kind="openstack", credentials={})
    machine = make_host(cloud, "compute-1", kind="bare_metal", serial="CZ2041XYZ",
                        manufacturer="HPE", model="ProLiant DL380", bios_version="U30",
                        mac_addresses=["aa:bb:cc:00:11:22"], threads=64, cores=32,
                        location="Paris DC2 rack 7")
    guests = [make_host(cloud, f"vm-{n}", parent=machine, provider_status="ACTIVE")
              for n in range(2)]
    client = client_for(viewer_user)

    machine_page = client.get(reverse("inventory:host_detail", args=[machine.pk]))
    guest_page = client.get(reverse("inventory:host_detail", args=[guests[0].pk]))

    html = machine_page.content.decode()
    assert "ProLiant DL380" in html and "CZ2041XYZ" in html and "aa:bb:cc:00:11:22" in html
    assert "Paris DC2 rack 7" in html and "32 / 64" in html
    children = re.search(r'id="children">(.*?)</ul>', html, re.S).group(1)
    assert "vm-0" in children and "vm-1" in children
    guest = guest_page.content.decode()
    assert re.search(r'id="parent">\s*<a href="[^"]+">compute-1</a>', guest)
    assert "provider says “ACTIVE”" in guest


def test_hand_registered_host_page_links_to_its_edit_form_for_writers_only(
        client_for, operator_user, viewer_user, acme, make_provider):
    manual = make_provider(name="by-hand", kind="manual", credentials={})
    host = make_host(manual, "rack-7-u12", kind="bare_metal", serial="SN-7-12")
    synced = Host.objects.filter(provider=acme.provider).first()
    url = reverse("inventory:host_detail", args=[host.pk])

    as_operator = client_for(operator_user).get(url).content.decode()
    as_viewer = client_for(viewer_user).get(url).content.decode()
    synced_page = client_for(operator_user).get(
        reverse("inventory:host_detail", args=[synced.pk])
    ).content.decode()

    assert reverse("registry:host_edit", args=[host.pk]) in as_operator
    assert 'id="edit-by-hand"' not in as_viewer
    assert 'id="edit-by-hand"' not in synced_page


def test_provider_page_lists_its_projects_with_host_counts_and_mapping(
        client_for, viewer_user, tenant, make_provider):
    from portal.inventory.models import ProviderProject

    cloud = make_provider(name="acme-cloud", kind="openstack", credentials={})
    now = timezone.now()
    ProviderProject.objects.create(provider=cloud, external_id="p-web", name="web",
                                   mapped_tenant=tenant, first_seen=now, last_seen=now)
    ProviderProject.objects.create(provider=cloud, external_id="p-lab", name="lab",
                                   first_seen=now, last_seen=now)
    make_host(cloud, "vm-1", project="p-web")
    make_host(cloud, "vm-2", project="p-web")
    make_host(cloud, "vm-3", project="p-web", archived_at=now)

    html = client_for(viewer_user).get(
        reverse("inventory:provider_detail", args=[cloud.pk])
    ).content.decode()

    table = re.search(r'id="projects">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    assert "lab" in rows[1] and "not mapped" in rows[1] and ">0</a>" in rows[1]
    assert "web" in rows[2] and "Acme" in rows[2] and ">2</a>" in rows[2]
