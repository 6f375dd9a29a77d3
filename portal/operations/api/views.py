"""API endpoints for power actions: ask for one on a host, and follow the request.

Hosts and requests come from ``scope_queryset``, so another tenant's host is a 404. Asking
needs the admin or operator role in the host's tenant (403 otherwise).
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated

from portal.api.exceptions import Conflict
from portal.api.permissions import TenantWritePermission
from portal.api.responses import accepted
from portal.inventory.models import Host
from portal.operations.api.serializers import (
    PowerActionSerializer,
    PowerRefusalSerializer,
    PowerRequestSerializer,
)
from portal.operations.filtersets import PowerRequestFilterSet
from portal.operations.models import PowerRequest
from portal.operations.power import PowerRequestRefused, request_power
from portal.tenancy.scoping import scope_queryset


def _power_requests(user):
    return scope_queryset(PowerRequest, user).select_related(
        "host", "tenant", "requested_by", "sync_run"
    )


class HostPowerView(GenericAPIView):
    """``POST /api/hosts/{id}/power/``: queue a power action on one host."""

    permission_classes = [IsAuthenticated, TenantWritePermission]
    write_area = "power"
    serializer_class = PowerActionSerializer

    def get_queryset(self):
        return scope_queryset(Host, self.request.user).select_related("provider", "tenant")

    @extend_schema(
        operation_id="hosts_power",
        summary="Power a host on or off, or restart it",
        description=(
            "Queues the action and answers 202 with the power request; follow its `url` "
            "(also in the `Location` header) until `is_finished`. The request is confirmed "
            "once the provider reports the host in the expected state (running after on and "
            "restart, stopped after off and force_off), then a sync of the provider updates "
            "the inventory. It times out after the provider's `power_timeout` setting or "
            "the portal's default. Hand-registered hosts cannot be powered, and a host takes "
            "one request at a time (409 while one is queued or sent). Needs the admin or "
            "operator role in the host's tenant."
        ),
        request=PowerActionSerializer,
        responses={
            202: OpenApiResponse(PowerRequestSerializer, description="The queued request."),
            400: OpenApiResponse(
                PowerRefusalSerializer,
                description="Unknown action, or the host's provider cannot power hosts.",
            ),
            409: OpenApiResponse(
                PowerRefusalSerializer,
                description="The host is archived, its provider is disabled, or a request "
                "for it is still in flight.",
            ),
        },
        parameters=[
            OpenApiParameter(
                "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202],
                description="The request's URL under /api/power-requests/.",
            ),
        ],
    )
    def post(self, request, pk=None):
        host = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        try:
            power_request = request_power(
                host, serializer.validated_data["action"], user=request.user, request=request
            )
        except PowerRequestRefused as refusal:
            if refusal.conflict:
                raise Conflict(refusal.message)
            raise ValidationError({refusal.field: [refusal.message]} if refusal.field
                                  else [refusal.message])

        # In inline mode the task has already run: answer with the request as it is now.
        power_request = _power_requests(request.user).get(pk=power_request.pk)
        return accepted(PowerRequestSerializer(power_request, context={"request": request}).data)


@extend_schema_view(
    list=extend_schema(
        summary="Power requests on your tenants' hosts, newest first",
        description="Filter by `host` (its id), `status` or `action`.",
    ),
    retrieve=extend_schema(summary="One power request, with where it stands"),
)
class PowerRequestViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PowerRequestSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = PowerRequestFilterSet
    ordering_fields = ["requested_at", "finished_at", "status"]
    ordering = ["-requested_at", "-pk"]

    def get_queryset(self):
        return _power_requests(self.request.user)
