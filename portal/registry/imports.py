"""A CSV import from upload to result: read, check, plan, write and audit.

The page and the API endpoint both call ``import_csv``; it never writes unless every row of
the file is valid, and a dry run never writes at all.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from portal.audit.log import record
from portal.registry import csv_import, manual
from portal.tenancy.models import Tenant
from portal.tenancy.scoping import WRITE_ROLES, tenants_for

# An import's audit event names the serials it touched, up to this many of each action:
# enough to answer "who changed this host", without one event growing to megabytes.
AUDIT_SERIALS = 500
# Room for the multipart envelope around the file itself when judging a request's size.
UPLOAD_OVERHEAD = 64 * 1024


@dataclass
class ImportResult:
    parsed: csv_import.ParsedFile
    outcome: manual.Outcome | None = None
    dry_run: bool = True
    file_name: str = ""

    @property
    def ok(self) -> bool:
        return self.parsed.ok

    @property
    def error_count(self) -> int:
        return len(self.parsed.errors) + len(self.parsed.file_errors)


def writable_tenants(user):
    """Tenants where ``user`` may register hosts."""
    return tenants_for(user, roles=WRITE_ROLES["registry"]).order_by("name")


def default_tenant_for(user, chosen: Tenant | None) -> Tenant | None:
    """The tenant chosen for the file, or the user's only writable tenant."""
    if chosen is not None:
        return chosen
    writable = list(writable_tenants(user)[:2])
    return writable[0] if len(writable) == 1 else None


def request_too_big(request) -> str:
    """A message when the request's declared size rules the file out before it is read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return ""
    limit = settings.PORTAL_IMPORT_MAX_BYTES
    if length > limit + UPLOAD_OVERHEAD:
        return csv_import.too_big(length, limit)
    return ""


def read_upload(upload) -> tuple[bytes, str]:
    """The uploaded file's bytes, or a message when it is over the size limit."""
    limit = settings.PORTAL_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        return b"", csv_import.too_big(upload.size, limit)
    # Never more than the limit and one byte, whatever the upload claimed its size was.
    data = upload.read(limit + 1)
    if len(data) > limit:
        return b"", csv_import.too_big(len(data), limit)
    return data, ""


def failed(message: str, file_name: str = "") -> ImportResult:
    """A result for a file refused before its rows were read."""
    return ImportResult(csv_import.ParsedFile(file_errors=[message]), file_name=file_name)


def import_csv(data: bytes, *, user, default_tenant: Tenant | None = None,
               dry_run: bool = True, file_name: str = "", request=None) -> ImportResult:
    """Check every row of ``data``; unless ``dry_run``, write them all, or nothing."""
    tenants = {tenant.slug.lower(): tenant for tenant in writable_tenants(user)}
    default_tenant = default_tenant_for(user, default_tenant)
    parsed = csv_import.read_hosts(
        data, tenants=tenants, default_tenant=default_tenant,
        max_bytes=settings.PORTAL_IMPORT_MAX_BYTES,
    )
    result = ImportResult(parsed, dry_run=dry_run, file_name=file_name)
    if not parsed.ok:
        return result

    registrations = [
        manual.Registration(row.tenant, row.serial, row.values, row.row) for row in parsed.rows
    ]
    who = user.get_username()
    with transaction.atomic():
        result.outcome = manual.write(
            registrations, dry_run=dry_run, triggered_by=f"csv import by {who}"
        )
        for run in result.outcome.runs:
            record(
                "manual_host.import", run.provider, request=request, user=user,
                changes=_audit_changes(result, run),
            )
    return result


def _audit_changes(result: ImportResult, run) -> dict:
    planned = [
        item for item in result.outcome.planned
        if item.registration.tenant.pk == run.provider.tenant_id
    ]
    created = [item.registration.serial for item in planned if item.action == manual.CREATE]
    updated = {
        item.registration.serial: manual.audit_changes(item)
        for item in planned if item.action == manual.UPDATE
    }
    return {
        "file": result.file_name[:200],
        "sync_run": run.pk,
        "created": len(created),
        "updated": len(updated),
        "unchanged": sum(1 for item in planned if item.action == manual.UNCHANGED),
        "created_serials": created[:AUDIT_SERIALS],
        "updated_serials": dict(list(updated.items())[:AUDIT_SERIALS]),
    }
