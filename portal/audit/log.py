"""Recording audit events from views, API endpoints and tasks."""

import logging

from portal.audit.models import AuditEvent

logger = logging.getLogger(__name__)


def _remote_addr(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(action: str, obj=None, *, request=None, user=None, tenant=None, changes=None):
    """Write one audit event. ``request`` supplies the user and address when given."""
    if request is not None and user is None:
        user = request.user if request.user.is_authenticated else None
    if tenant is None and obj is not None:
        tenant = getattr(obj, "tenant", None)

    event = AuditEvent.objects.create(
        tenant=tenant,
        user=user,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=changes or {},
        remote_addr=_remote_addr(request),
    )
    logger.info("audit: %s %s %s", user, action, event.object_repr)
    return event
