"""Filters for the list of hand-registered hosts."""

import django_filters
from django.db.models import Q

from portal.inventory.models import Host
from portal.registry import fields
from providers.base import HostState


class ManualHostFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    tenant = django_filters.CharFilter(field_name="tenant__slug", label="Tenant slug")
    state = django_filters.ChoiceFilter(
        choices=[(state, state) for state in fields.STATES], method="filter_state",
        help_text="running or stopped (lists show both when absent), or retired.",
    )
    serial = django_filters.CharFilter(field_name="external_id")
    location = django_filters.CharFilter(field_name="location", lookup_expr="icontains")

    class Meta:
        model = Host
        fields = ["q", "tenant", "state", "serial", "location"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(external_id__icontains=value)
            | Q(location__icontains=value)
        )

    def filter_state(self, queryset, name, value):
        if value == fields.RETIRED:
            return queryset.filter(archived_at__isnull=False)
        active = queryset.filter(archived_at__isnull=True)
        if value == fields.RUNNING:
            return active.filter(state=HostState.RUNNING)
        return active.exclude(state=HostState.RUNNING)
