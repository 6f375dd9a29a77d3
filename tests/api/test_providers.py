"""Providers through the API: validation, credential secrecy, audit, check and sync."""

import json
import logging

import pytest
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.inventory.models import Host, Provider, SyncRun
from portal.tenancy.models import Membership, Tenant
from tests.api.drivers import REJECTED_KEY_ID

KEY_ID = "AKIAIOSFODNN7SECRETID"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz-SECRET"
NEW_SECRET = "rotated-9f8e7d6c5b4a-SECRET"

LIST_URL = "/api/providers/"


def provider_body(**overrides):
    body = {
        "tenant": "acme",
        "name": "aws-eu",
        "kind": "aws",
        "settings": {"regions": ["eu-west-1", "us-east-1"], "connect_timeout": 5},
        "credentials": {"access_key_id": KEY_ID, "secret_access_key": SECRET},
    }
    body.update(overrides)
    return body


def detail_url(provider_id):
    return reverse("api:provider-detail", args=[provider_id])


@pytest.fixture
def operator(operator_user, api_client_for):
    return api_client_for(operator_user)


# --- creating and validation -----------------------------------------------------------------

def test_create_stores_provider_and_hides_credentials(operator, tenant):
    response = operator.post(LIST_URL, provider_body(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    provider = Provider.objects.get(pk=body["id"])
    assert body["tenant"] == "acme"
    assert body["has_credentials"] is True
    assert "credentials" not in body
    assert body["url"] == f"http://testserver/api/providers/{provider.pk}/"
    assert body["last_run"] is None
    assert provider.credentials == {"access_key_id": KEY_ID, "secret_access_key": SECRET}
    assert SECRET not in provider.credentials_encrypted


def test_every_aws_setting_is_accepted(operator, tenant):
    settings = {
        "regions": [], "home_region": "eu-central-1", "endpoint_url": "https://ec2.example:8443/",
        "connect_timeout": 2.5, "read_timeout": 30, "max_attempts": 3, "retry_mode": "adaptive",
        "page_size": 500,
    }

    response = operator.post(LIST_URL, provider_body(settings=settings), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["settings"] == settings


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"settings": {"regions": ["eu-west"]}}, "settings",
         "regions: 'eu-west' is not an AWS region name"),
        ({"settings": {"regions": "eu-west-1"}}, "settings", "regions: must be a list"),
        ({"settings": {"home_region": "Europe"}}, "settings",
         "home_region: 'Europe' is not an AWS region name"),
        ({"settings": {"max_attempts": 0}}, "settings", "max_attempts: must be a whole number"),
        ({"settings": {"page_size": 5000}}, "settings", "page_size: must be a whole number"),
        ({"settings": {"retry_mode": "legacy"}}, "settings", "retry_mode: must be one of"),
        ({"settings": {"regions": ["eu-west-1", "eu-west-1"]}}, "settings",
         "listed more than once"),
        ({"settings": {"endpoint_url": "ftp://files.example.com"}}, "settings",
         "endpoint_url: 'ftp://files.example.com' is not an http:// or https:// URL"),
        ({"settings": {"endpoint_url": "not a url"}}, "settings", "endpoint_url:"),
        ({"settings": {"regionz": ["eu-west-1"], "colour": "red"}}, "settings",
         "unknown key(s) 'colour', 'regionz'; aws settings accept: connect_timeout, "
         "endpoint_url, home_region, max_attempts, page_size, power_timeout, read_timeout, "
         "regions, retry_mode."),
        ({"settings": {"read_timeout": 0}}, "settings", "read_timeout: must be more than 0"),
        ({"settings": {"connect_timeout": "5"}}, "settings",
         "connect_timeout: must be a number of seconds"),
        ({"settings": ["eu-west-1"]}, "settings", "Expected a dictionary"),
        ({"sync_interval": 30}, "sync_interval", "must be at least 60 seconds"),
        ({"credentials": None}, "credentials", "may not be null"),
        ({"credentials": {"access_key_id": KEY_ID}}, "credentials",
         "aws credentials need secret_access_key"),
        ({"credentials": {"access_key_id": KEY_ID, "secret_access_key": 7}}, "credentials",
         "secret_access_key: must be a non-empty string"),
        ({"credentials": {"access_key_id": KEY_ID, "secret_access_key": SECRET, "pin": "1"}},
         "credentials", "unknown key(s) 'pin'"),
        ({"kind": "kubernetes"}, "kind", "'kubernetes' providers cannot be added yet"),
        ({"kind": "manual"}, "kind", "Hand-registered hosts need no provider"),
        ({"kind": "redfish", "settings": {}}, "settings", "redfish settings need bmcs"),
        ({"kind": "mainframe"}, "kind", "is not a valid choice"),
        ({"name": ""}, "name", "may not be blank"),
        ({"tenant": "nowhere"}, "tenant", "No tenant 'nowhere' among yours"),
        ({"tenant": True}, "tenant", "Give the tenant's slug or numeric id"),
    ],
)
def test_invalid_provider_is_refused_naming_the_field(operator, tenant, change, field, words):
    response = operator.post(LIST_URL, provider_body(**change), format="json")

    assert response.status_code == 400
    body = response.json()
    assert words in " ".join(body[field]), body
    assert f"{field}: " in body["detail"]
    assert not Provider.objects.exists()


def test_missing_credentials_are_refused_for_aws(operator, tenant):
    body = provider_body()
    del body["credentials"]

    response = operator.post(LIST_URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["credentials"] == [
        "This field is required for aws: give access_key_id, secret_access_key."
    ]


def test_short_sync_interval_message_is_actionable(operator, tenant):
    response = operator.post(LIST_URL, provider_body(sync_interval=59), format="json")

    assert response.status_code == 400
    assert "sync_interval: must be at least 60 seconds." in response.json()["detail"]


def test_credential_errors_never_quote_the_values(operator, tenant):
    credentials = {"access_key_id": KEY_ID, "secret_access_key": SECRET, "extra": SECRET}

    response = operator.post(LIST_URL, provider_body(credentials=credentials), format="json")

    assert response.status_code == 400
    assert SECRET.encode() not in response.content
    assert KEY_ID.encode() not in response.content


def test_duplicate_name_in_the_tenant_is_a_field_error(operator, make_provider):
    make_provider(name="aws-eu")

    response = operator.post(LIST_URL, provider_body(), format="json")

    assert response.status_code == 400
    assert response.json()["name"] == [
        "A provider named 'aws-eu' already exists in tenant 'acme'."
    ]


def test_same_name_in_another_tenant_is_fine(operator_user, operator, other_tenant, make_provider):
    make_provider(name="aws-eu", tenant=other_tenant)
    Membership.objects.create(user=operator_user, tenant=other_tenant, role="viewer")

    response = operator.post(LIST_URL, provider_body(), format="json")

    assert response.status_code == 201


def test_renaming_onto_an_existing_name_is_a_field_error(operator, make_provider):
    make_provider(name="aws-eu")
    other = make_provider(name="aws-us")

    response = operator.patch(detail_url(other.pk), {"name": "aws-eu"}, format="json")

    assert response.status_code == 400
    assert "already exists" in response.json()["name"][0]


def test_tenant_defaults_to_the_only_writable_one(operator, tenant):
    body = provider_body()
    del body["tenant"]

    response = operator.post(LIST_URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["tenant"] == "acme"


def test_tenant_is_required_with_several_writable_tenants(operator_user, operator, other_tenant):
    Membership.objects.create(user=operator_user, tenant=other_tenant, role="admin")
    body = provider_body()
    del body["tenant"]

    response = operator.post(LIST_URL, body, format="json")

    assert response.status_code == 400
    assert "several tenants" in response.json()["tenant"][0]


def test_tenant_may_be_given_by_id(operator, tenant):
    response = operator.post(LIST_URL, provider_body(tenant=tenant.pk), format="json")

    assert response.status_code == 201
    assert Provider.objects.get().tenant == tenant


def test_tenant_needs_a_write_role_there(operator_user, operator, other_tenant):
    Membership.objects.create(user=operator_user, tenant=other_tenant, role="viewer")

    response = operator.post(LIST_URL, provider_body(tenant="globex"), format="json")

    assert response.status_code == 400
    assert response.json()["tenant"] == [
        "You need the admin or operator role in tenant 'globex' to add providers there."
    ]


# --- updating ----------------------------------------------------------------------------------

def test_update_without_credentials_keeps_them(operator, make_provider):
    provider = make_provider()

    response = operator.patch(
        detail_url(provider.pk), {"sync_interval": 900, "settings": {"regions": ["eu-north-1"]}},
        format="json",
    )

    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.sync_interval == 900
    assert provider.settings == {"regions": ["eu-north-1"]}
    assert provider.credentials == {"access_key_id": "AKIDEXAMPLE",
                                    "secret_access_key": "s3cr3t-value"}


def test_put_without_credentials_keeps_them(operator, make_provider):
    provider = make_provider()
    body = provider_body(name="aws-main")
    del body["credentials"]

    response = operator.put(detail_url(provider.pk), body, format="json")

    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.credentials["secret_access_key"] == "s3cr3t-value"


def test_update_with_credentials_replaces_them(operator, make_provider):
    provider = make_provider()
    credentials = {"access_key_id": KEY_ID, "secret_access_key": NEW_SECRET}

    response = operator.patch(detail_url(provider.pk), {"credentials": credentials},
                              format="json")

    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.credentials == credentials


@pytest.mark.parametrize(
    ("change", "field"),
    [({"tenant": "globex"}, "tenant"), ({"kind": "openstack"}, "kind")],
)
def test_tenant_and_kind_cannot_change(operator_user, operator, make_provider, other_tenant,
                                       change, field):
    Membership.objects.create(user=operator_user, tenant=other_tenant, role="admin")
    provider = make_provider()

    response = operator.patch(detail_url(provider.pk), change, format="json")

    assert response.status_code == 400
    assert "cannot" in response.json()[field][0]
    provider.refresh_from_db()
    assert (provider.tenant.slug, provider.kind) == ("acme", "aws")


def test_delete_removes_the_provider_and_its_hosts(operator, estate):
    response = operator.delete(detail_url(estate.provider.pk))

    assert response.status_code == 204
    assert not Provider.objects.exists()
    assert not Host.objects.exists()


# --- credentials never leave ------------------------------------------------------------------

def test_credentials_never_appear_in_responses_audit_or_logs(operator, tenant, caplog,
                                                            stub_driver):
    caplog.set_level(logging.DEBUG)
    bodies = []

    created = operator.post(LIST_URL, provider_body(), format="json")
    url = created.json()["url"]
    bodies.append(created.content)
    bodies.append(operator.patch(
        url, {"credentials": {"access_key_id": KEY_ID, "secret_access_key": NEW_SECRET},
              "enabled": False},
        format="json",
    ).content)
    bodies.append(operator.put(url, provider_body(name="aws-eu-2"), format="json").content)
    bodies.append(operator.get(url).content)
    bodies.append(operator.get(LIST_URL).content)
    bodies.append(operator.get(url, HTTP_ACCEPT="text/html").content)
    bodies.append(operator.get(LIST_URL, HTTP_ACCEPT="text/html").content)
    bodies.append(operator.post(url + "check/").content)

    assert all(body for body in bodies)
    for secret in (KEY_ID, SECRET, NEW_SECRET):
        assert not any(secret.encode() in body for body in bodies), secret
        events = json.dumps([(e.changes, e.object_repr) for e in AuditEvent.objects.all()])
        assert secret not in events
        assert not any(secret in record.getMessage() for record in caplog.records)


def test_audit_records_each_change_and_only_that_credentials_changed(operator, tenant,
                                                                      stub_driver):
    created = operator.post(LIST_URL, provider_body(), format="json").json()
    operator.patch(created["url"], {"sync_interval": 120}, format="json")
    rotated = {"access_key_id": KEY_ID, "secret_access_key": NEW_SECRET}
    operator.patch(created["url"], {"credentials": rotated}, format="json")
    operator.post(created["url"] + "check/")
    operator.post(created["url"] + "sync/")
    operator.delete(created["url"])

    events = list(AuditEvent.objects.order_by("pk"))
    assert [event.action for event in events] == [
        "provider.create", "provider.update", "provider.update", "provider.check",
        "provider.sync", "provider.delete",
    ]
    create, interval, rotate, check, sync, delete = events
    assert create.changes["credentials"] == "set"
    assert create.changes["settings"] == provider_body()["settings"]
    assert (create.user.username, create.tenant.slug) == ("oscar", "acme")
    assert create.remote_addr == "127.0.0.1"
    assert interval.changes == {"sync_interval": 120}
    assert rotate.changes == {"credentials": "changed"}
    assert check.changes == {"ok": True}
    assert set(sync.changes) == {"sync_run"}
    assert delete.object_id == str(created["id"])


def test_resending_the_same_credentials_records_no_change(operator, tenant):
    created = operator.post(LIST_URL, provider_body(), format="json").json()

    operator.patch(created["url"], {"credentials": provider_body()["credentials"]}, format="json")

    assert AuditEvent.objects.filter(action="provider.update").get().changes == {}


# --- check and sync ---------------------------------------------------------------------------

def test_check_reports_the_driver_summary(operator, make_provider, stub_driver):
    provider = make_provider(settings={"regions": ["eu-west-1", "us-east-1"]})

    response = operator.post(reverse("api:provider-check", args=[provider.pk]))

    assert response.status_code == 200
    assert response.json() == {"ok": True, "detail": "Reached 2 region(s)."}


def test_check_reports_a_provider_error_without_quoting_secrets(operator, make_provider,
                                                               stub_driver):
    provider = make_provider(
        credentials={"access_key_id": REJECTED_KEY_ID, "secret_access_key": SECRET}
    )

    response = operator.post(reverse("api:provider-check", args=[provider.pk]))

    assert response.status_code == 200
    assert response.json() == {
        "ok": False,
        "detail": "AWS rejected the access key [redacted] with secret [redacted].",
    }


def test_check_of_a_kind_without_driver_is_a_readable_failure(operator, make_provider):
    provider = make_provider(kind="kubernetes", credentials={})

    response = operator.post(reverse("api:provider-check", args=[provider.pk]))

    assert response.status_code == 200
    assert response.json() == {
        "ok": False, "detail": "No driver is available for provider kind 'kubernetes'.",
    }


def test_sync_against_an_unreachable_endpoint_fails_with_a_message(
    operator, tenant, django_capture_on_commit_callbacks
):
    # Nothing listens on port 9 (discard): the driver must fail fast and say why.
    settings = {"regions": ["us-east-1"], "endpoint_url": "http://127.0.0.1:9",
                "connect_timeout": 1, "read_timeout": 1}
    created = operator.post(LIST_URL, provider_body(settings=settings), format="json").json()

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(created["url"] + "sync/")

    assert response.status_code == 202
    queued = response.json()
    run = SyncRun.objects.get()
    assert queued["url"] == f"http://testserver/api/sync-runs/{run.pk}/"
    assert response["Location"] == queued["url"]
    # Exactly str: wsgiref and gunicorn refuse str subclasses (DRF's Hyperlink) in headers.
    assert type(response["Location"]) is str
    assert queued["provider"]["id"] == created["id"]
    assert queued["triggered_by"] == "oscar"
    finished = operator.get(response["Location"]).json()
    assert finished["status"] == "failed"
    assert "us-east-1" in finished["errors"]
    assert finished["is_finished"] is True
    assert finished["progress"] == 100
    assert finished["message"]
    assert finished["duration_seconds"] is not None


def test_sync_runs_the_driver_and_the_provider_shows_the_run(operator, make_provider,
                                                            stub_driver,
                                                            django_capture_on_commit_callbacks):
    provider = make_provider()

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(reverse("api:provider-sync", args=[provider.pk]))

    assert response.status_code == 202
    run = operator.get(response["Location"]).json()
    assert (run["status"], run["seen"], run["created"], run["errors"]) == ("succeeded", 1, 1, {})
    assert (run["scopes_total"], run["scopes_done"]) == (1, 1)
    shown = operator.get(detail_url(provider.pk)).json()
    assert shown["last_run"]["id"] == run["id"]
    assert shown["last_run"]["status"] == "succeeded"
    assert shown["last_sync_at"] is not None
    assert Host.objects.get().name == "stub-1"


def test_superuser_may_add_providers_to_any_tenant(api_client_for, tenant, other_tenant):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="pw-root")

    response = api_client_for(root).post(LIST_URL, provider_body(tenant="globex"), format="json")

    assert response.status_code == 201
    assert Provider.objects.get().tenant == Tenant.objects.get(slug="globex")
