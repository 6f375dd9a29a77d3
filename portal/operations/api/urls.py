"""Routes for power actions; included under the ``api`` namespace.

``api:host-power`` sits beside the inventory's host routes (``/api/hosts/{id}/power/``) but
lives here, so the hosts viewset stays read-only and inventory knows nothing of operations.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from portal.operations.api import views

router = SimpleRouter()
router.register("power-requests", views.PowerRequestViewSet, basename="powerrequest")

urlpatterns = [
    path("hosts/<int:pk>/power/", views.HostPowerView.as_view(), name="host-power"),
    *router.urls,
]
