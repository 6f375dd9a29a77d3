from django.urls import path

from portal.operations import views

app_name = "operations"
urlpatterns = [
    path("hosts/<int:pk>/power/", views.HostPowerView.as_view(), name="host_power"),
    path(
        "power-requests/<int:pk>/status/", views.PowerRequestStatusView.as_view(),
        name="powerrequest_status",
    ),
]
