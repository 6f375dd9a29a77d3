"""API endpoints for providers, hosts and sync runs.

Every queryset comes from ``scope_queryset``: a row of a tenant the user does not belong to is
not found (404), and lists hold only the user's tenants. Writes need a write role in the
row's tenant (403 otherwise, see ``portal.api.permissions``).
"""

import copy

from django.db import IntegrityError, transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.api.exceptions import Conflict
from portal.api.permissions import TenantWritePermission
from portal.api.responses import accepted
from portal.audit.log import record
from portal.inventory.api.serializers import (
    HostDetailSerializer,
    HostIntervalListSerializer,
    HostSerializer,
    ProviderCheckSerializer,
    ProviderProjectSerializer,
    ProviderSerializer,
    SyncRunSerializer,
)
from portal.inventory.checks import check_provider
from portal.inventory.filtersets import (
    HostFilterSet,
    HostIntervalFilterSet,
    ProviderFilterSet,
    ProviderProjectFilterSet,
    SyncRunFilterSet,
)
from portal.inventory.models import Host, HostInterval, Provider, ProviderProject, SyncRun
from portal.inventory.tasks import queue_sync
from portal.tenancy.scoping import scope_queryset

# Provider fields an audit event records by value. Credentials are never among them: an event
# only says that they were set or changed.
AUDITED_FIELDS = ("name", "kind", "settings", "enabled", "sync_interval")

MANUAL_NOT_SYNCED = (
    "Hand-registered hosts are not synced: change them under /api/manual-hosts/ or import a "
    "CSV file at /api/manual-hosts/import/."
)


def _audit_snapshot(provider: Provider) -> dict:
    values = {name: copy.deepcopy(getattr(provider, name)) for name in AUDITED_FIELDS}
    values["tenant"] = provider.tenant.slug
    return values


@extend_schema_view(
    list=extend_schema(summary="Providers of your tenants"),
    retrieve=extend_schema(summary="One provider"),
    create=extend_schema(
        summary="Add a provider",
        description="Needs the admin or operator role in the provider's tenant.",
    ),
    update=extend_schema(
        summary="Replace a provider's settings",
        description="Leave `credentials` out to keep the stored ones.",
    ),
    partial_update=extend_schema(
        summary="Change some of a provider's fields",
        description="Leave `credentials` out to keep the stored ones.",
    ),
    destroy=extend_schema(summary="Delete a provider with its hosts and sync history"),
)
class ProviderViewSet(viewsets.ModelViewSet):
    serializer_class = ProviderSerializer
    permission_classes = [IsAuthenticated, TenantWritePermission]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = ProviderFilterSet
    ordering_fields = ["name", "kind", "created_at", "last_sync_at"]

    @property
    def write_area(self) -> str:
        """The WRITE_ROLES area the current action needs (see TenantWritePermission)."""
        return "sync" if self.action == "sync_now" else "providers"

    def get_queryset(self):
        providers = scope_queryset(Provider, self.request.user)
        return providers.select_related("tenant", "last_run")

    def _save(self, serializer) -> Provider:
        try:
            # A savepoint, so a lost race on the unique name leaves the request usable.
            with transaction.atomic():
                return serializer.save()
        except IntegrityError:
            raise ValidationError(
                {"name": ["A provider with this name already exists in this tenant."]}
            )

    def perform_create(self, serializer):
        provider = self._save(serializer)

        changes = _audit_snapshot(provider)
        if provider.has_credentials:
            changes["credentials"] = "set"
        record("provider.create", provider, request=self.request, changes=changes)

    def perform_update(self, serializer):
        provider = serializer.instance
        before = _audit_snapshot(provider)
        replacing_credentials = "credentials" in serializer.validated_data
        old_credentials = provider.credentials if replacing_credentials else None

        provider = self._save(serializer)

        after = _audit_snapshot(provider)
        changes = {name: value for name, value in after.items() if before[name] != value}
        if old_credentials is not None and old_credentials != provider.credentials:
            changes["credentials"] = "changed"
        record("provider.update", provider, request=self.request, changes=changes)

    def perform_destroy(self, instance):
        with transaction.atomic():
            record("provider.delete", instance, request=self.request,
                   changes=_audit_snapshot(instance))
            instance.delete()

    @extend_schema(
        operation_id="providers_check",
        summary="Test the provider's credentials and endpoints",
        description=(
            "Runs the driver's check now. The answer is 200 either way: `ok` true with the "
            "driver's summary, or `ok` false with the provider's error in words a person can "
            "act on (rejected key, unreachable endpoint). Needs the admin or operator role."
        ),
        request=None,
        responses={200: ProviderCheckSerializer},
    )
    @action(detail=True, methods=["post"], url_path="check", url_name="check")
    def check_connection(self, request, pk=None):
        provider = self.get_object()

        result = check_provider(provider)

        record("provider.check", provider, request=request, changes={"ok": result.ok})
        return Response(ProviderCheckSerializer({"ok": result.ok, "detail": result.detail}).data)

    @extend_schema(
        operation_id="providers_sync",
        summary="Start a sync of the provider now",
        description=(
            "Queues a sync and answers 202 with the run; follow its `url` (also in the "
            "`Location` header) for progress. A second sync while one is running finishes as "
            "`skipped`. Needs the admin or operator role."
        ),
        request=None,
        responses={
            202: OpenApiResponse(SyncRunSerializer, description="The queued run."),
            409: OpenApiResponse(description="The provider holds hand-registered hosts."),
        },
        parameters=[
            OpenApiParameter(
                "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202],
                description="The run's URL under /api/sync-runs/.",
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="sync", url_name="sync")
    def sync_now(self, request, pk=None):
        provider = self.get_object()
        if not provider.is_synced:
            raise Conflict(MANUAL_NOT_SYNCED)

        run = queue_sync(provider, triggered_by=request.user.get_username())
        record("provider.sync", provider, request=request, changes={"sync_run": run.pk})

        # Without a broker the task may already have run inline: answer with its state now.
        run = SyncRun.objects.select_related("provider").get(pk=run.pk)
        return accepted(SyncRunSerializer(run, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(
        summary="Hosts of your tenants",
        description=(
            "Lists active hosts only unless `archived` is given: `archived=true` lists only "
            "archived hosts, `archived=false` only active ones."
        ),
    ),
    retrieve=extend_schema(
        summary="One host (active or archived) with its latest metering intervals"
    ),
)
class HostViewSet(viewsets.ReadOnlyModelViewSet):
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = HostFilterSet
    ordering_fields = ["name", "state", "region", "last_seen", "vcpus", "memory_mib"]
    ordering = ["name", "pk"]

    def get_queryset(self):
        hosts = scope_queryset(Host, self.request.user).select_related(
            "provider", "tenant", "parent"
        )
        # Archived hosts are history: lists leave them out unless asked, while a detail
        # page still opens so old links keep working.
        if self.action == "list" and not self.request.query_params.get("archived"):
            hosts = hosts.active()
        return hosts

    def get_serializer_class(self):
        return HostDetailSerializer if self.action == "retrieve" else HostSerializer


@extend_schema_view(
    list=extend_schema(
        summary="Projects and accounts your providers hold hosts for",
        description=(
            "Recorded by syncs (OpenStack projects, for example). Map one to a portal tenant "
            "with PATCH `{\"mapped_tenant\": \"<slug>\"}` so billing charges its hosts there."
        ),
    ),
    retrieve=extend_schema(summary="One provider project"),
    partial_update=extend_schema(
        summary="Map a project to a tenant",
        description="Needs a role that may change the provider (admin or operator of its "
        "tenant), and membership of the tenant named.",
    ),
)
class ProviderProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = ProviderProjectSerializer
    permission_classes = [IsAuthenticated, TenantWritePermission]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = ProviderProjectFilterSet
    ordering_fields = ["name", "external_id", "last_seen"]
    ordering = ["name", "pk"]
    write_area = "providers"
    # Only mapping changes; PUT would pretend the rest is writable too.
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return (
            scope_queryset(ProviderProject, self.request.user)
            .select_related("provider__tenant", "mapped_tenant")
            .with_host_counts()
        )

    def perform_update(self, serializer):
        before = serializer.instance.mapped_tenant
        project = serializer.save()
        record("project.map", project.provider, request=self.request, changes={
            "project": project.external_id,
            "mapped_tenant": [getattr(before, "slug", None),
                              getattr(project.mapped_tenant, "slug", None)],
        })


@extend_schema_view(
    list=extend_schema(
        summary="Metering intervals of your tenants' hosts",
        description=(
            "Every stretch of time a host ran at one size, `[started_at, ended_at)` in UTC; "
            "an open interval has no `ended_at`. `start` and `end` select the intervals "
            "overlapping a window, such as a billing month."
        ),
    ),
    retrieve=extend_schema(summary="One metering interval"),
)
class HostIntervalViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = HostIntervalListSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = HostIntervalFilterSet
    ordering_fields = ["started_at", "ended_at"]
    ordering = ["-started_at", "-pk"]

    def get_queryset(self):
        return scope_queryset(HostInterval, self.request.user)


@extend_schema_view(
    list=extend_schema(summary="Sync runs of your tenants' providers, newest first"),
    retrieve=extend_schema(summary="One sync run with its progress, counts and errors"),
)
class SyncRunViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SyncRunSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = SyncRunFilterSet
    ordering_fields = ["queued_at", "started_at", "finished_at", "status"]

    def get_queryset(self):
        return scope_queryset(SyncRun, self.request.user).select_related("provider")
