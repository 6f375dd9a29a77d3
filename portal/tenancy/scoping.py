"""The one place that decides which rows a user may see or change.

Every tenant-owned model names the path from itself to its ``Tenant`` in ``tenant_path``
(``"tenant"`` for most). Views and API endpoints get their querysets from ``scope_queryset``,
so none of them can forget the tenant filter. Superusers see every tenant.
"""

from collections.abc import Iterable

from django.db.models import Model, QuerySet

from portal.tenancy.models import Membership, Role, Tenant

# Who may change what. Reading is open to every role of the tenant.
WRITE_ROLES = {
    "providers": {Role.ADMIN, Role.OPERATOR},
    "sync": {Role.ADMIN, Role.OPERATOR},
    "power": {Role.ADMIN, Role.OPERATOR},
    # Hosts registered by hand or imported from a CSV file.
    "registry": {Role.ADMIN, Role.OPERATOR},
    "tenancy": {Role.ADMIN},
}


def tenant_ids_for(user, roles: Iterable[str] | None = None) -> list[int] | None:
    """Tenant ids the user belongs to (with one of ``roles``), or None for "all tenants"."""
    if not user or not user.is_authenticated:
        return []
    if user.is_superuser:
        return None

    memberships = Membership.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return list(memberships.values_list("tenant_id", flat=True))


def scope_queryset(queryset: QuerySet | type[Model], user, roles=None) -> QuerySet:
    """Restrict ``queryset`` to rows of tenants the user belongs to (with one of ``roles``)."""
    if not isinstance(queryset, QuerySet):
        queryset = queryset._default_manager.all()

    ids = tenant_ids_for(user, roles)
    if ids is None:
        return queryset

    path = getattr(queryset.model, "tenant_path", "tenant")
    if path == "pk" or queryset.model is Tenant:
        return queryset.filter(pk__in=ids)
    return queryset.filter(**{f"{path}__in": ids})


def tenants_for(user, roles=None) -> QuerySet:
    return scope_queryset(Tenant.objects.all(), user, roles)


def can_write(user, tenant_id: int, area: str) -> bool:
    """True when the user may change ``area`` (a WRITE_ROLES key) in the tenant."""
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        user=user, tenant_id=tenant_id, role__in=WRITE_ROLES[area]
    ).exists()
