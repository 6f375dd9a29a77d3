"""Routes for providers, hosts and sync runs; included under the ``api`` namespace."""

from rest_framework.routers import SimpleRouter

from portal.inventory.api import views

router = SimpleRouter()
router.register("providers", views.ProviderViewSet, basename="provider")
router.register("hosts", views.HostViewSet, basename="host")
router.register("host-intervals", views.HostIntervalViewSet, basename="hostinterval")
router.register("sync-runs", views.SyncRunViewSet, basename="syncrun")
router.register("provider-projects", views.ProviderProjectViewSet, basename="providerproject")

urlpatterns = router.urls
