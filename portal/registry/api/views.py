"""API endpoints for hand-registered hosts and their CSV import.

Hosts come from ``scope_queryset`` like every other row: a host of a tenant the user does not
belong to is not found (404). Changes need the admin or operator role in the host's tenant
(403 otherwise), and a host kept in sync by a real provider cannot be changed here (409).
"""

from django.db import transaction
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse

from portal.api.exceptions import Conflict
from portal.api.permissions import TenantWritePermission
from portal.audit.log import record
from portal.inventory.models import Host, ProviderKind
from portal.registry import imports, manual
from portal.registry.api.serializers import (
    ImportRefusalSerializer,
    ImportResultSerializer,
    ImportUploadSerializer,
    ManualHostSerializer,
)
from portal.registry.filtersets import ManualHostFilterSet
from portal.tenancy.scoping import scope_queryset

# The most bad cells one answer lists; error_count still counts them all.
MAX_LISTED_ERRORS = 1000


def _triggered_by(request, what: str) -> str:
    return f"{what} by {request.user.get_username()}"


_REFUSED = OpenApiResponse(description="The host is kept in sync by its provider.")


@extend_schema_view(
    list=extend_schema(
        summary="Hand-registered hosts of your tenants",
        description="Running and stopped hosts; `state=retired` lists the retired ones.",
    ),
    retrieve=extend_schema(summary="One hand-registered host"),
    create=extend_schema(
        summary="Register a host by hand",
        description=(
            "Needs the admin or operator role in the host's tenant. The host is written like a "
            "synced one: a running host opens a metering interval at once."
        ),
    ),
    partial_update=extend_schema(
        summary="Change some facts of a hand-registered host",
        description="`tenant` and `serial` cannot change. Refused (409) for synced hosts.",
        responses={200: ManualHostSerializer, 409: _REFUSED},
    ),
    destroy=extend_schema(
        summary="Retire a hand-registered host",
        description=(
            "Archives the host and closes its metering interval; its history stays. "
            "Refused (409) for synced hosts."
        ),
        responses={204: None, 409: _REFUSED},
    ),
)
class ManualHostViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.CreateModelMixin, mixins.UpdateModelMixin,
                        mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = ManualHostSerializer
    permission_classes = [IsAuthenticated, TenantWritePermission]
    write_area = "registry"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = ManualHostFilterSet
    ordering_fields = ["name", "location", "first_seen", "last_seen"]
    ordering = ["name", "pk"]

    def get_queryset(self):
        hosts = scope_queryset(Host, self.request.user).filter(provider__kind=ProviderKind.MANUAL)
        if self.action == "list" and not self.request.query_params.get("state"):
            hosts = hosts.active()
        return hosts.select_related("tenant", "provider")

    def get_object(self):
        # Any host the user can see, so that changing a synced one is refused in words rather
        # than answered with a bare 404.
        hosts = scope_queryset(Host, self.request.user).select_related("tenant", "provider")
        host = get_object_or_404(hosts, pk=self.kwargs["pk"])
        if not manual.is_manual(host):
            if self.request.method in SAFE_METHODS:
                raise NotFound("No hand-registered host has this id; see /api/hosts/ instead.")
            self.check_object_permissions(self.request, host)
            raise Conflict(
                f"Host '{host}' comes from provider '{host.provider}' "
                f"({host.provider.get_kind_display()}) and is kept in step by its syncs; only "
                "hand-registered hosts can be changed here."
            )
        self.check_object_permissions(self.request, host)
        return host

    def _reload(self, host_id: int) -> Host:
        return Host.objects.select_related("tenant", "provider").get(pk=host_id)

    def perform_create(self, serializer):
        registration = serializer.registration()

        with transaction.atomic():
            try:
                outcome = manual.write(
                    [registration], create_only=True,
                    triggered_by=_triggered_by(self.request, "registration"),
                )
            except manual.AlreadyRegistered as exc:
                raise ValidationError({"serial": [str(exc)]})
            (item,) = outcome.planned
            serializer.instance = self._reload(item.host_id)
            record("manual_host.create", serializer.instance, request=self.request,
                   changes=manual.audit_changes(item))

    def perform_update(self, serializer):
        registration = serializer.registration()

        with transaction.atomic():
            outcome = manual.write(
                [registration], triggered_by=_triggered_by(self.request, "registration")
            )
            (item,) = outcome.planned
            serializer.instance = self._reload(item.host_id)
            if item.action == manual.UPDATE:
                record("manual_host.update", serializer.instance, request=self.request,
                       changes=manual.audit_changes(item))

    def perform_destroy(self, instance):
        with transaction.atomic():
            outcome = manual.retire(instance, triggered_by=_triggered_by(self.request, "retire"))
            (item,) = outcome.planned
            if item.action == manual.UPDATE:
                record("manual_host.retire", instance, request=self.request,
                       changes=manual.audit_changes(item))

    @extend_schema(
        operation_id="manual_hosts_import",
        summary="Import hosts from a CSV file",
        description=(
            "Checks every row; when any is wrong nothing is written and the answer is 400 "
            "with one entry per bad cell. `dry_run` (true by default) only reports the plan: "
            "which rows would be created, updated (old and new values) or left unchanged. "
            "Importing the same file again changes nothing. Nothing is retired for being left "
            "out. Needs the admin or operator role in every tenant the file names."
        ),
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            200: ImportResultSerializer,
            400: OpenApiResponse(ImportRefusalSerializer, description="The file was refused."),
        },
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import",
            parser_classes=[MultiPartParser, FormParser])
    def import_csv(self, request):
        if not imports.writable_tenants(request.user).exists():
            raise PermissionDenied("Importing hosts needs the admin or operator role in a tenant.")
        # Judged on the declared size before the body is parsed, so a huge upload is refused
        # without being spooled to disk first.
        too_big = imports.request_too_big(request)
        if too_big:
            return _refused(imports.failed(too_big))

        params = ImportUploadSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        data, problem = imports.read_upload(upload)
        if problem:
            return _refused(imports.failed(problem, upload.name))

        result = imports.import_csv(
            data, user=request.user, default_tenant=params.validated_data.get("tenant"),
            dry_run=params.validated_data["dry_run"], file_name=upload.name, request=request,
        )
        if not result.ok:
            return _refused(result)
        return Response(ImportResultSerializer(_result_body(result, request)).data)


def _refused(result: imports.ImportResult) -> Response:
    parsed = result.parsed
    count = result.error_count
    if parsed.file_errors:
        detail = "The file was refused; nothing was imported. " + " ".join(parsed.file_errors)
    else:
        detail = (
            f"{count} problem{'s' if count != 1 else ''} in the file; nothing was imported. "
            "Fix the cells listed in rows and upload the file again."
        )
    body = {
        "detail": detail,
        "file": parsed.file_errors,
        "rows": [
            {"row": error.row, "column": error.column, "message": error.message}
            for error in parsed.errors[:MAX_LISTED_ERRORS]
        ],
        "error_count": count,
    }
    return Response(ImportRefusalSerializer(body).data, status=status.HTTP_400_BAD_REQUEST)


def _result_body(result: imports.ImportResult, request) -> dict:
    outcome = result.outcome
    plan = [
        {
            "row": item.registration.row,
            "action": item.action,
            "tenant": item.registration.tenant.slug,
            "serial": item.registration.serial,
            "name": item.desired["name"],
            "host_id": item.host_id,
            "changes": {
                name: {"old": old, "new": new} for name, (old, new) in item.changes.items()
            },
        }
        for item in outcome.planned
    ]
    return {
        "dry_run": result.dry_run,
        "written": outcome.written,
        "file": result.file_name,
        "counts": outcome.counts,
        "plan": plan,
        "sync_runs": [
            reverse("api:syncrun-detail", args=[run.pk], request=request)
            for run in outcome.runs
        ],
    }
