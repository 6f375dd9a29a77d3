"""Filters for hosts, providers and sync runs, shared by the API and the web pages."""

import django_filters
from django.db.models import Q

from portal.inventory.models import (
    Host,
    HostInterval,
    Provider,
    ProviderKind,
    ProviderProject,
    SyncRun,
    SyncStatus,
)
from providers.base import HostKind


class HostFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    provider = django_filters.NumberFilter(field_name="provider_id")
    kind = django_filters.ChoiceFilter(
        choices=[(HostKind.BARE_METAL, "Bare metal"), (HostKind.VIRTUAL, "Virtual")]
    )
    state = django_filters.CharFilter(field_name="state")
    region = django_filters.CharFilter(field_name="region")
    parent = django_filters.NumberFilter(
        field_name="parent_id", label="Runs on host",
        help_text="Id of a host: only the hosts running on it (a hypervisor's servers).",
    )
    project = django_filters.CharFilter(
        field_name="project", help_text="Provider-side project or account id."
    )
    serial = django_filters.CharFilter(field_name="serial", lookup_expr="iexact")
    archived = django_filters.BooleanFilter(
        method="filter_archived", label="Archived",
        help_text="true: only archived hosts; false (the default in lists): only active ones.",
    )

    class Meta:
        model = Host
        fields = ["q", "provider", "kind", "state", "region", "parent", "project", "serial",
                  "archived"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(external_id__icontains=value)
            | Q(system_uuid__icontains=value)
            | Q(instance_type__icontains=value)
            | Q(serial__icontains=value)
        )

    def filter_archived(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(archived_at__isnull=not value)


class ProviderFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ProviderKind.choices)

    class Meta:
        model = Provider
        fields = ["kind", "enabled"]


class SyncRunFilterSet(django_filters.FilterSet):
    provider = django_filters.NumberFilter(field_name="provider_id")
    status = django_filters.ChoiceFilter(choices=SyncStatus.choices)

    class Meta:
        model = SyncRun
        fields = ["provider", "status"]


class HostIntervalFilterSet(django_filters.FilterSet):
    """Metering intervals by host or provider, and those overlapping a time window.

    ``start``/``end`` select every interval that overlaps ``[start, end)``, which is what a
    billing period needs: an interval that began before the period and is still open counts.
    """

    host = django_filters.NumberFilter(field_name="host_id")
    provider = django_filters.NumberFilter(field_name="host__provider_id")
    open = django_filters.BooleanFilter(
        field_name="ended_at", lookup_expr="isnull", label="Open",
        help_text="true: only intervals still running; false: only closed ones.",
    )
    start = django_filters.IsoDateTimeFilter(
        method="ends_after", label="Overlapping from",
        help_text="Intervals still running at or after this moment (ISO 8601).",
    )
    end = django_filters.IsoDateTimeFilter(
        field_name="started_at", lookup_expr="lt", label="Overlapping until",
        help_text="Intervals that started before this moment (ISO 8601).",
    )

    class Meta:
        model = HostInterval
        fields = ["host", "provider", "open", "start", "end"]

    def ends_after(self, queryset, name, value):
        return queryset.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=value))


class ProviderProjectFilterSet(django_filters.FilterSet):
    provider = django_filters.NumberFilter(field_name="provider_id")
    mapped = django_filters.BooleanFilter(
        field_name="mapped_tenant", lookup_expr="isnull", exclude=True,
        help_text="true: only projects mapped to a tenant; false: only unmapped ones.",
    )

    class Meta:
        model = ProviderProject
        fields = ["provider", "mapped"]
