"""The OpenAPI schema and its Swagger UI: complete, valid, served locally, members only."""

import yaml
from django.core.management import call_command
from django.urls import reverse


def test_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"

    call_command("spectacular", validate=True, fail_on_warn=True, file=str(target))

    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    assert {"/api/providers/{id}/check/", "/api/providers/{id}/sync/", "/api/hosts/{id}/",
            "/api/sync-runs/{id}/", "/api/tokens/", "/api/tenants/"} <= set(paths)
    sync = paths["/api/providers/{id}/sync/"]["post"]["responses"]["202"]
    assert "Location" in sync["headers"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_credentials_are_write_only_in_the_schema(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", file=str(target))

    schemas = yaml.safe_load(target.read_text())["components"]["schemas"]

    assert "credentials" in schemas["ProviderRequest"]["properties"]
    assert "credentials" not in schemas["Provider"]["properties"]
    assert schemas["Provider"]["properties"]["has_credentials"]["readOnly"] is True


def test_schema_endpoint_serves_openapi_to_members(viewer_user, api_client_for):
    response = api_client_for(viewer_user).get(reverse("api:schema"), {"format": "json"})

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_docs_use_the_local_swagger_ui(viewer_user, api_client_for):
    response = api_client_for(viewer_user).get(reverse("api:docs"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page
    assert reverse("api:schema") in page


def test_schema_and_docs_refuse_anonymous_callers(client, db):
    assert client.get(reverse("api:schema")).status_code == 401
    assert client.get(reverse("api:docs")).status_code == 401
