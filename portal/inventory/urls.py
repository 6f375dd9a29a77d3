from django.urls import path

from portal.inventory import views

app_name = "inventory"
urlpatterns = [
    path("hosts/", views.HostListView.as_view(), name="host_list"),
    path("hosts/<int:pk>/", views.HostDetailView.as_view(), name="host_detail"),
    path("providers/", views.ProviderListView.as_view(), name="provider_list"),
    path("providers/add/", views.ProviderCreateView.as_view(), name="provider_create"),
    path("providers/<int:pk>/", views.ProviderDetailView.as_view(), name="provider_detail"),
    path("providers/<int:pk>/edit/", views.ProviderUpdateView.as_view(), name="provider_edit"),
    path(
        "providers/<int:pk>/delete/", views.ProviderDeleteView.as_view(),
        name="provider_delete",
    ),
    path("providers/<int:pk>/check/", views.ProviderCheckView.as_view(), name="provider_check"),
    path("providers/<int:pk>/sync/", views.ProviderSyncView.as_view(), name="provider_sync"),
    path("sync-runs/", views.SyncRunListView.as_view(), name="syncrun_list"),
    path("sync-runs/<int:pk>/", views.SyncRunDetailView.as_view(), name="syncrun_detail"),
    path(
        "sync-runs/<int:pk>/progress/", views.SyncRunProgressView.as_view(),
        name="syncrun_progress",
    ),
]
