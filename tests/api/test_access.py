"""Who may do what, on every endpoint and action of the API.

Each endpoint is tried by every persona: anonymous callers get 401 everywhere; an admin of
another tenant (the outsider) finds none of acme's rows (404, empty lists); acme's viewer and
finance users may read but not write (403); its operator and admin may do everything.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from portal.tenancy.models import ApiToken

PERSONAS = ["anonymous", "outsider", "viewer", "finance", "operator", "admin"]
WRITERS = {"operator", "admin"}


@dataclass(frozen=True)
class Endpoint:
    """One call. ``access`` says which rule applies:

    list    a list of acme rows: outsiders get an empty list
    read    one acme row: outsiders get 404
    create  a new acme row: only writers; outsiders are told acme is not theirs (400)
    write   a change to an acme row: writers only, outsiders 404
    own     the caller's own things (tokens, tenants, docs): any signed-in user
    """

    method: str
    url_name: str
    access: str
    success: int = 200
    target: str = ""
    body: Any = None


PROVIDER_BODY = {
    "tenant": "acme", "name": "aws-new", "kind": "aws",
    "settings": {"regions": ["eu-west-1"]},
    "credentials": {"access_key_id": "AKIANEW", "secret_access_key": "new-secret"},
}
PROVIDER_PUT = {
    "name": "aws-renamed", "kind": "aws", "settings": {"regions": ["us-east-1"]},
    "enabled": False, "sync_interval": 600,
}

ENDPOINTS = {
    "provider-list": Endpoint("get", "api:provider-list", "list"),
    "provider-retrieve": Endpoint("get", "api:provider-detail", "read", target="provider"),
    "provider-create": Endpoint("post", "api:provider-list", "create", 201, body=PROVIDER_BODY),
    "provider-update": Endpoint(
        "put", "api:provider-detail", "write", target="provider", body=PROVIDER_PUT
    ),
    "provider-partial-update": Endpoint(
        "patch", "api:provider-detail", "write", target="provider", body={"enabled": False}
    ),
    "provider-delete": Endpoint("delete", "api:provider-detail", "write", 204, "provider"),
    "provider-check": Endpoint("post", "api:provider-check", "write", target="provider"),
    "provider-sync": Endpoint("post", "api:provider-sync", "write", 202, "provider"),
    "host-list": Endpoint("get", "api:host-list", "list"),
    "host-retrieve": Endpoint("get", "api:host-detail", "read", target="host"),
    "hostinterval-list": Endpoint("get", "api:hostinterval-list", "list"),
    "hostinterval-retrieve": Endpoint("get", "api:hostinterval-detail", "read",
                                      target="interval"),
    "syncrun-list": Endpoint("get", "api:syncrun-list", "list"),
    "syncrun-retrieve": Endpoint("get", "api:syncrun-detail", "read", target="run"),
    "tenant-list": Endpoint("get", "api:tenant-list", "own"),
    "tenant-retrieve": Endpoint("get", "api:tenant-detail", "read", target="tenant"),
    "token-list": Endpoint("get", "api:token-list", "own"),
    "token-create": Endpoint("post", "api:token-list", "own", 201, body={"name": "ci"}),
    "token-delete": Endpoint("delete", "api:token-detail", "own", 204, "own_token"),
    "schema": Endpoint("get", "api:schema", "own"),
    "docs": Endpoint("get", "api:docs", "own"),
}


def expected_status(persona: str, endpoint: Endpoint) -> int:
    if persona == "anonymous":
        return 401
    if endpoint.access in {"list", "own"}:
        return endpoint.success
    if endpoint.access == "read":
        return 404 if persona == "outsider" else 200
    if persona == "outsider":
        # Outsiders are writers in their own tenant, so they get as far as naming acme.
        return 400 if endpoint.access == "create" else 404
    return endpoint.success if persona in WRITERS else 403


@pytest.fixture
def persona_user(request, admin_user, operator_user, viewer_user, finance_user, outsider_user):
    users = {
        "anonymous": None, "outsider": outsider_user, "viewer": viewer_user,
        "finance": finance_user, "operator": operator_user, "admin": admin_user,
    }
    return users[request.param]


def _target_pk(endpoint: Endpoint, estate, user) -> list:
    if not endpoint.target:
        return []
    if endpoint.target == "own_token":
        # Anonymous callers get a real token id of someone else: 401 must come first.
        owner = user or estate.provider.tenant.memberships.first().user
        token, _ = ApiToken.issue(owner, name="to-revoke")
        return [token.pk]
    return [getattr(estate, endpoint.target).pk]


@pytest.mark.parametrize("endpoint_name", list(ENDPOINTS))
@pytest.mark.parametrize("persona_user", PERSONAS, indirect=True)
def test_access(request, endpoint_name, persona_user, estate, api_client_for, stub_driver):
    persona = request.node.callspec.params["persona_user"]
    endpoint = ENDPOINTS[endpoint_name]
    url = reverse(endpoint.url_name, args=_target_pk(endpoint, estate, persona_user))

    response = getattr(api_client_for(persona_user), endpoint.method)(
        url, endpoint.body, format="json"
    )

    assert response.status_code == expected_status(persona, endpoint), response.content[:300]
    if endpoint.access == "list" and response.status_code == 200:
        names = [row["id"] for row in response.json()["results"]]
        assert (names == []) == (persona == "outsider")


def test_anonymous_is_told_how_to_authenticate(client, estate):
    response = client.get(reverse("api:provider-list"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "credentials were not provided" in response.json()["detail"]


def test_viewer_is_told_which_role_is_needed(viewer_user, estate, api_client_for):
    url = reverse("api:provider-detail", args=[estate.provider.pk])

    response = api_client_for(viewer_user).patch(url, {"enabled": False}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"] == "This needs the admin or operator role in tenant 'acme'."


def test_viewer_create_is_refused_before_validation(viewer_user, api_client_for, tenant):
    response = api_client_for(viewer_user).post(
        reverse("api:provider-list"), PROVIDER_BODY, format="json"
    )

    assert response.status_code == 403
    assert "admin or operator role" in response.json()["detail"]


def test_outsider_cannot_create_in_acme(outsider_user, api_client_for, tenant):
    response = api_client_for(outsider_user).post(
        reverse("api:provider-list"), PROVIDER_BODY, format="json"
    )

    assert response.status_code == 400
    assert response.json()["tenant"] == [
        "No tenant 'acme' among yours; give the slug or id of one."
    ]


def test_outsider_filtering_by_acme_provider_sees_nothing(outsider_user, estate, api_client_for):
    client = api_client_for(outsider_user)

    hosts = client.get(reverse("api:host-list"), {"provider": estate.provider.pk})
    runs = client.get(reverse("api:syncrun-list"), {"provider": estate.provider.pk})

    assert hosts.json()["count"] == 0
    assert runs.json()["count"] == 0


def test_token_of_another_user_cannot_be_revoked(admin_user, viewer_user, api_client_for):
    token, _ = ApiToken.issue(viewer_user, name="victor's")

    response = api_client_for(admin_user).delete(reverse("api:token-detail", args=[token.pk]))

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_session_login_reaches_the_api_and_docs(admin_user, client, estate):
    client.force_login(admin_user)

    providers = client.get(reverse("api:provider-list"))
    docs = client.get(reverse("api:docs"))

    assert providers.status_code == 200
    assert providers.json()["count"] == 1
    assert docs.status_code == 200
