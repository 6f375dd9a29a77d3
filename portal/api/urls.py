"""The API's root: every app's routes, the token endpoint, and the OpenAPI schema.

All names live in the ``api`` namespace and follow DRF's router style: ``api:provider-list``,
``api:provider-detail``, ``api:provider-sync``, ``api:host-list``, ``api:schema`` and so on.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated

# Registers the token scheme with drf-spectacular before any schema is generated.
from portal.api import schema  # noqa: F401

app_name = "api"

# The schema describes endpoints only members can use, so reading it needs a login too:
# anonymous callers get 401 like everywhere else in the API.
_members_only = {"permission_classes": [IsAuthenticated]}

urlpatterns = [
    path("", include("portal.tenancy.api.urls")),
    path("", include("portal.inventory.api.urls")),
    path("", include("portal.operations.api.urls")),
    path("", include("portal.registry.api.urls")),
    path("schema/", SpectacularAPIView.as_view(**_members_only), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", **_members_only),
        name="docs",
    ),
]
