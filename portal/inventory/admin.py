from django.contrib import admin

from portal.inventory.models import Host, HostInterval, Provider, SyncRun


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant", "kind", "enabled", "sync_interval", "last_sync_at")
    list_filter = ("kind", "enabled", "tenant")
    # Credentials are set through the portal's form or API, which encrypt them; the admin never
    # shows them, not even encrypted.
    exclude = ("credentials_encrypted",)
    readonly_fields = ("sync_lease_until", "sync_lease_owner", "last_sync_at", "last_run")


class HostIntervalInline(admin.TabularInline):
    model = HostInterval
    extra = 0
    readonly_fields = ("started_at", "ended_at", "vcpus", "memory_mib", "sockets")
    can_delete = False


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "provider", "kind", "state", "region", "last_seen",
                    "archived_at")
    list_filter = ("kind", "state", "provider")
    search_fields = ("name", "external_id", "system_uuid")
    list_select_related = ("provider",)
    inlines = [HostIntervalInline]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "provider", "status", "queued_at", "finished_at", "seen", "created",
                    "updated", "archived")
    list_filter = ("status",)
    list_select_related = ("provider",)
