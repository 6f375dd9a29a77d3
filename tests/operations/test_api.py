"""The power API: POST /api/hosts/{id}/power/ and /api/power-requests/.

Personas (tests/conftest.py): alice (admin) and oscar (operator) may power acme's hosts;
victor (viewer) and fiona (finance) only read; mallory, admin of globex, sees nothing of acme.
Without ``django_capture_on_commit_callbacks`` the task never runs, so a request stays queued:
that is how these tests hold one in flight.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.inventory.models import Host, SyncRun
from portal.operations.models import PowerRequest
from tests.factories import make_host

PERSONAS = ["admin_user", "operator_user", "viewer_user", "finance_user", "outsider_user"]


def power_url(host) -> str:
    return reverse("api:host-power", args=[host.pk])


@pytest.fixture
def client_as(request, api_client_for):
    """``client_as("viewer_user")``: an API client for that persona (None: anonymous)."""
    def make(persona):
        user = request.getfixturevalue(persona) if persona else None
        return api_client_for(user)

    return make


@pytest.fixture
def operator(client_as):
    return client_as("operator_user")


def test_power_answers_202_with_the_request_and_where_to_follow_it(operator, power):
    response = operator.post(power_url(power.host), {"action": "off"}, format="json")

    body = response.json()
    assert response.status_code == 202
    assert response["Location"] == body["url"]
    assert body["url"].endswith(reverse("api:powerrequest-detail", args=[body["id"]]))
    assert body["host"]["id"] == power.host.pk
    assert (body["action"], body["status"], body["is_finished"]) == ("off", "queued", False)
    assert (body["expected_state"], body["requested_by"]) == ("stopped", "oscar")
    assert body["deadline_seconds"] == 5
    assert operator.get(response["Location"]).json()["id"] == body["id"]


def test_a_followed_request_is_confirmed_and_a_sync_updates_the_host(
    operator, power, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(power_url(power.host), {"action": "off"}, format="json")
    followed = operator.get(response["Location"]).json()

    assert response.status_code == 202
    assert (followed["status"], followed["observed_state"]) == ("confirmed", "stopped")
    assert followed["summary"].startswith("Confirmed: the host is stopped (after ")
    assert power.cloud.calls == [(power.host.external_id, "off")]
    run = SyncRun.objects.get()
    assert followed["sync_run"].endswith(reverse("api:syncrun-detail", args=[run.pk]))
    assert (run.status, run.triggered_by) == ("succeeded", f"power request #{followed['id']}")
    assert Host.objects.get(pk=power.host.pk).state == "stopped"


@pytest.mark.parametrize("body, message", [
    ({"action": "reboot"},
     "Unknown power action 'reboot': use one of on, off, force_off, restart."),
    ({}, "Say which power action to take: one of on, off, force_off, restart."),
    ({"action": None}, "Say which power action to take: one of on, off, force_off, restart."),
])
def test_a_bad_action_is_explained(operator, power, body, message):
    response = operator.post(power_url(power.host), body, format="json")

    assert response.status_code == 400
    assert response.json()["action"] == [message]
    assert message in response.json()["detail"]
    assert not PowerRequest.objects.exists()


@pytest.mark.parametrize("persona, status", [
    ("admin_user", 202), ("operator_user", 202), ("viewer_user", 403), ("finance_user", 403),
    ("outsider_user", 404), (None, 401),
])
def test_who_may_power_a_host(client_as, power, persona, status):
    response = client_as(persona).post(power_url(power.host), {"action": "on"}, format="json")

    assert response.status_code == status
    assert PowerRequest.objects.count() == (1 if status == 202 else 0)
    if status == 403:
        assert response.json()["detail"] == (
            "This needs the admin or operator role in tenant 'acme'."
        )


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_read_power_requests(client_as, power, persona):
    power_request = PowerRequest.objects.create(
        host=power.host, tenant=power.tenant, action="off", expected_state="stopped",
        status="confirmed", deadline_seconds=5,
    )
    client = client_as(persona)

    listed = client.get(reverse("api:powerrequest-list")).json()["results"]
    detail = client.get(reverse("api:powerrequest-detail", args=[power_request.pk]))

    member = persona != "outsider_user"
    assert [item["id"] for item in listed] == ([power_request.pk] if member else [])
    assert detail.status_code == (200 if member else 404)


def test_anonymous_callers_read_nothing(client_as):
    response = client_as(None).get(reverse("api:powerrequest-list"))

    assert response.status_code == 401


def test_a_second_request_while_one_is_in_flight_is_409(operator, power):
    first = operator.post(power_url(power.host), {"action": "off"}, format="json").json()

    response = operator.post(power_url(power.host), {"action": "on"}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Host web already has a power request in flight: #{first['id']} (Shut down, queued). "
        "Wait for it to finish, then ask again."
    )
    assert PowerRequest.objects.count() == 1


def test_a_hand_registered_host_is_refused(operator, manual_host):
    response = operator.post(power_url(manual_host), {"action": "off"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "Hosts registered by hand have no provider the portal can talk to"
    )
    assert not PowerRequest.objects.exists()
    assert not AuditEvent.objects.filter(action="host.power").exists()


def test_an_archived_host_is_a_conflict(operator, power):
    Host.objects.filter(pk=power.host.pk).update(archived_at=power.host.last_seen)

    response = operator.post(power_url(power.host), {"action": "on"}, format="json")

    assert response.status_code == 409
    assert "is archived" in response.json()["detail"]


def test_powering_a_host_is_audited(operator, operator_user, power):
    response = operator.post(power_url(power.host), {"action": "restart"}, format="json")

    event = AuditEvent.objects.get(action="host.power")
    assert event.user == operator_user
    assert event.tenant == power.tenant
    assert (event.object_type, event.object_id) == ("inventory.host", str(power.host.pk))
    assert event.changes == {"action": "restart", "power_request": response.json()["id"]}
    assert event.remote_addr == "127.0.0.1"


def test_requests_filter_by_host_and_status(client_as, power):
    other = make_host(power.provider, "db")
    rows = {}
    for host, status in ((power.host, "confirmed"), (power.host, "failed"), (other, "sent")):
        rows[host.name, status] = PowerRequest.objects.create(
            host=host, tenant=power.tenant, action="on", expected_state="running",
            status=status, deadline_seconds=5,
        ).pk
    client = client_as("viewer_user")
    url = reverse("api:powerrequest-list")

    by_host = client.get(url, {"host": power.host.pk}).json()["results"]
    by_status = client.get(url, {"status": "sent"}).json()["results"]
    bad_status = client.get(url, {"status": "done"})

    assert {item["id"] for item in by_host} == {rows["web", "confirmed"], rows["web", "failed"]}
    assert [item["id"] for item in by_status] == [rows["db", "sent"]]
    assert bad_status.status_code == 400


def test_request_list_query_count_does_not_grow_with_rows(client_as, power, operator_user):
    client = client_as("viewer_user")
    url = reverse("api:powerrequest-list")

    def add_requests(count):
        for n in range(count):
            host = make_host(power.provider, f"h-{PowerRequest.objects.count()}-{n}")
            PowerRequest.objects.create(
                host=host, tenant=power.tenant, action="off", expected_state="stopped",
                status="confirmed", deadline_seconds=5, requested_by=operator_user,
                sync_run=SyncRun.objects.create(provider=power.provider),
            )

    add_requests(2)
    # The first call also stamps the token's last use; measure the calls after it.
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(url).json()["results"]) == 2
    add_requests(8)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url).json()["results"]) == 10

    assert len(many) == len(few)
