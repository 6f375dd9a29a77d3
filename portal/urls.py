from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("portal.api.urls")),
    path("", include("portal.inventory.urls")),
    path("", include("portal.operations.urls")),
    path("", include("portal.registry.urls")),
    path("", include("portal.web.urls")),
]
