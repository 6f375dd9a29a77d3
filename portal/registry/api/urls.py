"""Routes for hand-registered hosts; included under the ``api`` namespace."""

from rest_framework.routers import SimpleRouter

from portal.registry.api import views

router = SimpleRouter()
router.register("manual-hosts", views.ManualHostViewSet, basename="manualhost")

urlpatterns = router.urls
