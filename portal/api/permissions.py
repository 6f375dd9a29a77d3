"""Who may write through the API: a write role in the tenant that owns the object.

Reading needs only membership, which the scoped querysets already enforce (a row of another
tenant is simply not found, so its users get 404, never a hint that it exists).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from portal.tenancy.scoping import WRITE_ROLES, can_write, tenant_ids_for


def _role_names(area: str) -> str:
    return " or ".join(sorted(str(role.value) for role in WRITE_ROLES[area]))


class TenantWritePermission(BasePermission):
    """Unsafe methods need one of ``WRITE_ROLES[view.write_area]`` in the object's tenant.

    On create there is no object yet: the user needs that role in at least one tenant here,
    and the serializer checks the tenant actually named.
    """

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS or getattr(view, "action", None) != "create":
            return True

        area = view.write_area
        ids = tenant_ids_for(request.user, WRITE_ROLES[area])
        self.message = f"Creating this needs the {_role_names(area)} role in a tenant."
        return ids is None or bool(ids)

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True

        area = view.write_area
        self.message = (
            f"This needs the {_role_names(area)} role in tenant '{obj.tenant.slug}'."
        )
        return can_write(request.user, obj.tenant_id, area)
