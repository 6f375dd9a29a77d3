from django.contrib import admin

from portal.operations.models import PowerRequest


@admin.register(PowerRequest)
class PowerRequestAdmin(admin.ModelAdmin):
    list_display = ("pk", "host", "action", "status", "observed_state", "requested_by",
                    "requested_at", "finished_at")
    list_filter = ("status", "action", "tenant")
    list_select_related = ("host", "requested_by")
    # Requests are a record of what was asked and what the provider did: not edited by hand.
    readonly_fields = [field.name for field in PowerRequest._meta.fields]
