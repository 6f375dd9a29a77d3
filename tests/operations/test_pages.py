"""The power card on the host page, its buttons' POST and the status it polls.

Personas as in tests/web: oscar (operator) and alice (admin) may act; victor (viewer) and fiona
(finance) see the state and the history only; mallory (globex) sees nothing of acme.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from portal.operations.models import PowerRequest

HTMX = {"HX-Request": "true"}
LABELS = ("Power on", "Shut down", "Force off", "Restart")


@pytest.fixture
def client_as(request):
    """``client_as("viewer_user")``: a logged-in test client (None: anonymous)."""
    def make(persona):
        client = Client()
        if persona:
            client.force_login(request.getfixturevalue(persona))
        return client

    return make


def card_of(response) -> str:
    html = response.content.decode()
    start = html.index('id="power-card"')
    return html[start:html.index("</table>", start) if "</table>" in html[start:] else None]


def host_page(client, host) -> str:
    response = client.get(host.get_absolute_url())
    assert response.status_code == 200
    return card_of(response)


def post_action(client, host, action, **headers):
    return client.post(reverse("operations:host_power", args=[host.pk]), {"action": action},
                       headers=headers)


def polls(html: str) -> bool:
    return 'hx-trigger="every 2s"' in html


@pytest.mark.parametrize("persona", ["operator_user", "admin_user"])
def test_writers_see_the_buttons(client_as, power, persona):
    card = host_page(client_as(persona), power.host)

    assert 'id="power-actions"' in card
    for label in LABELS:
        assert f">{label}</button>" in card
    assert len(re.findall(r"hx-confirm=", card)) == 2
    assert "Force off cuts the power: unsaved work on web is lost." in card
    assert 'id="power-state"' in card and ">running</span>" in card


@pytest.mark.parametrize("persona", ["viewer_user", "finance_user"])
def test_readers_see_the_state_but_no_buttons(client_as, power, persona):
    card = host_page(client_as(persona), power.host)

    assert 'id="power-actions"' not in card
    assert "Shut down</button>" not in card
    assert ">running</span>" in card
    assert "No power requests yet." in card


def test_a_hand_registered_host_says_why_it_has_no_buttons(client_as, manual_host):
    card = host_page(client_as("operator_user"), manual_host)

    assert 'id="power-actions"' not in card
    assert 'id="power-unsupported"' in card
    assert "Hosts registered by hand have no provider the portal can talk to" in card


def test_posting_an_action_returns_a_card_that_polls_until_the_request_ends(
    client_as, power, django_capture_on_commit_callbacks
):
    client = client_as("operator_user")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client, power.host, "off", **HTMX)
    power_request = PowerRequest.objects.get()
    status_url = reverse("operations:powerrequest_status", args=[power_request.pk])
    finished = client.get(status_url, headers=HTMX)

    # Answered before the task ran (it runs once the request's transaction commits).
    queued = response.content.decode()
    assert response.status_code == 200
    assert queued.lstrip().startswith("<div") and "<html" not in queued
    assert polls(queued) and f'hx-get="{status_url}"' in queued
    assert 'data-status="queued"' in queued
    assert "Queued: “Shut down” waits to be sent to the provider." in queued
    # The buttons wait too, so nobody clicks twice while the request is in flight.
    assert queued.count(" disabled>") == 4
    # Once it is over the card stops polling and says how it ended.
    done = finished.content.decode()
    assert power_request.status == "confirmed"
    assert not polls(done)
    assert re.search(r"Confirmed: the host is stopped \(after \d+ s\)\.", done)
    assert ">stopped</span>" in done
    assert f'data-power-request="{power_request.pk}"' in done


def test_the_host_page_resumes_polling_a_request_in_flight(client_as, power):
    PowerRequest.objects.create(host=power.host, tenant=power.tenant, action="restart",
                                expected_state="running", status="sent", deadline_seconds=5,
                                observed_state="stopped")

    card = host_page(client_as("viewer_user"), power.host)

    assert polls(card)
    assert "Sent: waiting for the host to be running, now stopped" in card


def test_a_refused_action_is_shown_in_the_card(client_as, power):
    client = client_as("operator_user")
    post_action(client, power.host, "off", **HTMX)

    response = post_action(client, power.host, "on", **HTMX)

    card = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert" id="power-result"' in card
    assert "already has a power request in flight" in card
    assert PowerRequest.objects.count() == 1


def test_without_htmx_the_post_goes_back_to_the_host_page_with_a_message(client_as, power):
    client = client_as("operator_user")

    response = post_action(client, power.host, "force_off")

    assert response.status_code == 302
    assert response["Location"] == power.host.get_absolute_url()
    page = client.get(response["Location"]).content.decode()
    assert "Queued: “Force off” waits to be sent to the provider." in page


@pytest.mark.parametrize("persona, status", [
    ("viewer_user", 403), ("finance_user", 403), ("outsider_user", 404),
])
def test_readers_and_outsiders_cannot_post(client_as, power, persona, status):
    response = post_action(client_as(persona), power.host, "off", **HTMX)

    assert response.status_code == status
    assert not PowerRequest.objects.exists()


def test_anonymous_posts_go_to_the_login_page(client_as, power):
    response = post_action(client_as(None), power.host, "off")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))
    assert not PowerRequest.objects.exists()


@pytest.mark.parametrize("persona, status", [
    ("viewer_user", 200), ("finance_user", 200), ("outsider_user", 404),
])
def test_the_status_card_is_for_members_only(client_as, power, persona, status):
    power_request = PowerRequest.objects.create(
        host=power.host, tenant=power.tenant, action="off", expected_state="stopped",
        status="failed", message="EC2 said no.", deadline_seconds=5,
    )

    response = client_as(persona).get(
        reverse("operations:powerrequest_status", args=[power_request.pk]), headers=HTMX
    )

    assert response.status_code == status
    if status == 200:
        assert "Failed: EC2 said no." in response.content.decode()
        assert 'id="power-actions"' not in response.content.decode()


def test_get_is_not_allowed_on_the_action_url(client_as, power):
    response = client_as("operator_user").get(
        reverse("operations:host_power", args=[power.host.pk])
    )

    assert response.status_code == 405
