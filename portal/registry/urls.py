from django.urls import path

from portal.registry import views

app_name = "registry"
urlpatterns = [
    path("registry/hosts/", views.ManualHostListView.as_view(), name="host_list"),
    path("registry/hosts/add/", views.ManualHostCreateView.as_view(), name="host_create"),
    path(
        "registry/hosts/<int:pk>/edit/", views.ManualHostUpdateView.as_view(),
        name="host_edit",
    ),
    path(
        "registry/hosts/<int:pk>/retire/", views.ManualHostRetireView.as_view(),
        name="host_retire",
    ),
    path("registry/import/", views.ImportView.as_view(), name="import"),
    path("registry/import/confirm/", views.ImportConfirmView.as_view(), name="import_confirm"),
    path(
        "registry/import/template.csv", views.ImportTemplateView.as_view(),
        name="import_template",
    ),
]
