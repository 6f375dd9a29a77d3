"""API tokens: issued once, stored hashed, listed without keys, expiring and revocable."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.audit.models import AuditEvent
from portal.tenancy.models import ApiToken, hash_token

TOKENS_URL = "/api/tokens/"
LOGIN_FAILED = "Unable to log in with this username and password."


def token_client(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@pytest.fixture
def issued(admin_user):
    """A token made with alice's password: (response body, raw token)."""
    response = APIClient().post(
        TOKENS_URL, {"username": "alice", "password": "pw-alice", "name": "ci"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    return body, body["token"]


def test_password_gives_a_token_that_works(issued, estate):
    body, raw = issued

    response = token_client(raw).get(reverse("api:provider-list"))

    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert set(body) == {"id", "url", "name", "prefix", "created_at", "expires_at",
                         "last_used_at", "is_expired", "token"}
    assert body["prefix"] == raw[:8]
    assert body["name"] == "ci"


def test_token_is_stored_hashed_only(issued):
    body, raw = issued

    token = ApiToken.objects.get(pk=body["id"])

    assert token.key_hash == hash_token(raw)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tenancy_apitoken")
        rows = cursor.fetchall()
    assert not any(raw in str(value) for row in rows for value in row)


def test_token_is_shown_only_once(issued):
    body, raw = issued
    client = token_client(raw)

    listed = client.get(TOKENS_URL)

    assert listed.status_code == 200
    assert raw.encode() not in listed.content
    assert b"key_hash" not in listed.content
    assert hash_token(raw).encode() not in listed.content
    row = next(row for row in listed.json()["results"] if row["id"] == body["id"])
    assert "token" not in row
    assert row["prefix"] == raw[:8]
    assert row["last_used_at"] is not None


def test_token_creation_is_audited_without_the_token(issued):
    body, raw = issued

    event = AuditEvent.objects.get(action="token.create")

    assert event.user.username == "alice"
    assert event.changes["name"] == "ci"
    assert raw not in str(event.changes)


def test_expired_token_is_refused_with_a_clear_message(issued):
    body, raw = issued
    ApiToken.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(1))

    response = token_client(raw).get(TOKENS_URL)

    assert response.status_code == 401
    assert response.json()["detail"] == (
        "This API token has expired; create a new one at /api/tokens/."
    )


def test_revoked_token_is_refused(issued):
    body, raw = issued
    client = token_client(raw)

    revoked = client.delete(reverse("api:token-detail", args=[body["id"]]))
    after = client.get(TOKENS_URL)

    assert revoked.status_code == 204
    assert after.status_code == 401
    assert after.json()["detail"] == "Invalid API token."
    assert AuditEvent.objects.filter(action="token.revoke", object_id=str(body["id"])).exists()


def test_list_shows_only_your_own_tokens(admin_user, viewer_user, api_client_for):
    ApiToken.issue(viewer_user, name="victor's")
    ApiToken.issue(admin_user, name="alice's")

    response = api_client_for(admin_user).get(TOKENS_URL)

    assert sorted(row["name"] for row in response.json()["results"]) == ["alice's", "test"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "nobody", "password": "pw-alice"},
    ],
)
def test_wrong_login_gets_one_message_for_either_part(admin_user, credentials):
    response = APIClient().post(TOKENS_URL, credentials, format="json")

    assert response.status_code == 400
    assert response.json()["non_field_errors"] == [LOGIN_FAILED]
    assert response.json()["detail"] == f"Invalid input. {LOGIN_FAILED}"
    assert not ApiToken.objects.exists()


def test_disabled_user_cannot_get_a_token(admin_user):
    admin_user.is_active = False
    admin_user.save()

    response = APIClient().post(
        TOKENS_URL, {"username": "alice", "password": "pw-alice"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["non_field_errors"] == [LOGIN_FAILED]


def test_username_without_password_is_refused(admin_user):
    response = APIClient().post(TOKENS_URL, {"username": "alice"}, format="json")

    assert response.status_code == 400
    assert "Give both username and password" in response.json()["non_field_errors"][0]


def test_anonymous_empty_body_is_401(db):
    response = APIClient().post(TOKENS_URL, {}, format="json")

    assert response.status_code == 401
    assert "Send username and password" in response.json()["detail"]


@pytest.mark.parametrize("days", [0, 366, -1, "soon"])
def test_lifetime_out_of_range_is_refused(admin_user, days):
    response = APIClient().post(
        TOKENS_URL, {"username": "alice", "password": "pw-alice", "expires_in_days": days},
        format="json",
    )

    assert response.status_code == 400
    assert "expires_in_days" in response.json()
    assert "expires_in_days: " in response.json()["detail"]


def test_lifetime_is_as_asked(admin_user):
    response = APIClient().post(
        TOKENS_URL, {"username": "alice", "password": "pw-alice", "expires_in_days": 7},
        format="json",
    )

    token = ApiToken.objects.get(pk=response.json()["id"])
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_signed_in_user_gets_a_token_with_an_empty_body(admin_user, client):
    client.force_login(admin_user)

    response = client.post(TOKENS_URL, {}, content_type="application/json")

    assert response.status_code == 201
    assert ApiToken.objects.get(pk=response.json()["id"]).user == admin_user


def test_token_made_with_a_token_expires_with_it(admin_user):
    parent, raw = ApiToken.issue(admin_user, name="short", days=2)

    response = token_client(raw).post(TOKENS_URL, {"expires_in_days": 30}, format="json")

    assert response.status_code == 201
    assert ApiToken.objects.get(pk=response.json()["id"]).expires_at == parent.expires_at


def test_password_attempts_are_throttled(admin_user):
    client = APIClient()
    wrong = {"username": "alice", "password": "wrong"}

    answers = [client.post(TOKENS_URL, wrong, format="json").status_code for _ in range(11)]
    right = client.post(TOKENS_URL, {"username": "alice", "password": "pw-alice"}, format="json")

    assert answers == [400] * 10 + [429]
    assert right.status_code == 429
    assert "Request was throttled" in right.json()["detail"]


def test_throttle_follows_the_username_across_addresses(admin_user):
    wrong = {"username": "Alice", "password": "wrong"}

    answers = [
        APIClient(REMOTE_ADDR=f"10.0.0.{n}").post(TOKENS_URL, wrong, format="json").status_code
        for n in range(11)
    ]

    assert answers == [400] * 10 + [429]
