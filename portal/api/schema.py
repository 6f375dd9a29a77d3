"""OpenAPI pieces drf-spectacular cannot infer on its own."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describe ``Authorization: Token <key>`` so Swagger UI can send it."""

    target_class = "portal.tenancy.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "Create a token with POST /api/tokens/, then send "
                "'Authorization: Token <token>' ('Bearer <token>' works too)."
            ),
        }


def host_kind_choices():
    """Host kinds for ENUM_NAME_OVERRIDES, read from the model so the two never drift."""
    from portal.inventory.models import Host

    return Host._meta.get_field("kind").choices
