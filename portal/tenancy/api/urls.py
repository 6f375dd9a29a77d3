"""Routes for tenants and tokens; included under the ``api`` namespace by portal.api.urls."""

from rest_framework.routers import SimpleRouter

from portal.tenancy.api import views

router = SimpleRouter()
router.register("tenants", views.TenantViewSet, basename="tenant")
router.register("tokens", views.ApiTokenViewSet, basename="token")

urlpatterns = router.urls
