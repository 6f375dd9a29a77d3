"""Template helpers for the registry's links in shared pages (the navigation bar)."""

from django import template

from portal.registry.imports import writable_tenants

register = template.Library()


@register.filter
def may_register(user) -> bool:
    """True when ``user`` may register or import hosts in some tenant."""
    if not getattr(user, "is_authenticated", False):
        return False
    return writable_tenants(user).exists()
