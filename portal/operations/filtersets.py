"""Filters for power requests, shared by the API and the web pages."""

import django_filters

from portal.operations.models import PowerActionChoice, PowerRequest, PowerStatus


class PowerRequestFilterSet(django_filters.FilterSet):
    host = django_filters.NumberFilter(field_name="host_id")
    status = django_filters.ChoiceFilter(choices=PowerStatus.choices)
    action = django_filters.ChoiceFilter(choices=PowerActionChoice.choices)

    class Meta:
        model = PowerRequest
        fields = ["host", "status", "action"]
