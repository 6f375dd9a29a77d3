"""Serializers for providers, hosts, their intervals and sync runs.

Provider credentials are write-only: they go in through ``credentials`` and come out only as
``has_credentials``. Nothing here ever puts a credential value in a response or an error.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.inventory import provider_settings
from portal.inventory.models import (
    Host,
    HostInterval,
    Provider,
    ProviderKind,
    ProviderProject,
    SyncRun,
)
from portal.tenancy.models import Tenant
from portal.tenancy.scoping import WRITE_ROLES, can_write, scope_queryset, tenants_for

# Up to 30 days: longer than anyone schedules, and far inside the column's integer range.
MAX_SYNC_INTERVAL = 30 * 24 * 3600


def _user(serializer):
    request = serializer.context.get("request")
    return request.user if request is not None else None


@extend_schema_field(
    {"type": "string", "description": "The tenant's slug (its numeric id is accepted on input)."}
)
class TenantField(serializers.RelatedField):
    """A tenant of the requesting user, given by slug or id and shown by slug."""

    default_error_messages = {
        "does_not_exist": "No tenant {value!r} among yours; give the slug or id of one.",
        "incorrect_type": "Give the tenant's slug or numeric id.",
    }

    def get_queryset(self):
        return tenants_for(_user(self))

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("incorrect_type")
        text = str(data).strip()
        lookup = {"pk": int(text)} if text.isdigit() else {"slug": text}
        tenant = self.get_queryset().filter(**lookup).first()
        if tenant is None:
            self.fail("does_not_exist", value=text)
        return tenant

    def to_representation(self, value):
        return value.slug


class SyncRunBriefSerializer(serializers.ModelSerializer):
    """The few facts of a run a provider shows about its latest sync."""

    url = serializers.HyperlinkedIdentityField(view_name="api:syncrun-detail")
    progress = serializers.IntegerField(read_only=True, help_text="Percent of scopes done.")

    class Meta:
        model = SyncRun
        fields = ["id", "url", "status", "progress", "queued_at", "finished_at", "message"]
        read_only_fields = fields


class ProviderBriefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:provider-detail")

    class Meta:
        model = Provider
        fields = ["id", "url", "name", "kind"]
        read_only_fields = fields


class ProviderSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:provider-detail")
    tenant = TenantField(
        required=False,
        help_text=(
            "Where the provider belongs: a tenant where you are admin or operator. May be left "
            "out when you have that role in exactly one tenant. Cannot change later."
        ),
    )
    kind = serializers.ChoiceField(
        choices=ProviderKind.choices,
        help_text=(
            "The provider's kind; only kinds with a driver can be added "
            f"({', '.join(provider_settings.supported_kinds())}). Cannot change later."
        ),
    )
    settings = serializers.DictField(
        required=False,
        help_text=(
            "Non-secret settings, checked per kind. aws: regions (list such as "
            "[\"eu-west-1\"]; empty or absent: every enabled region), home_region, "
            "endpoint_url (http or https URL), connect_timeout and read_timeout (seconds), "
            "max_attempts (1-20), retry_mode (standard or adaptive), page_size (5-1000). "
            "Unknown keys are refused; an update replaces the whole object."
        ),
    )
    credentials = serializers.DictField(
        required=False, write_only=True,
        help_text=(
            "Secrets, stored encrypted and never returned. aws: access_key_id and "
            "secret_access_key (session_token optional). Leave out on update to keep the "
            "stored ones."
        ),
    )
    has_credentials = serializers.BooleanField(read_only=True)
    sync_interval = serializers.IntegerField(
        required=False, min_value=60, max_value=MAX_SYNC_INTERVAL,
        help_text="Seconds between scheduled syncs, at least 60.",
        error_messages={
            "min_value": "must be at least 60 seconds.",
            "max_value": f"must be at most {MAX_SYNC_INTERVAL} seconds (30 days).",
        },
    )
    last_run = SyncRunBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Provider
        fields = [
            "id", "url", "tenant", "name", "kind", "settings", "credentials",
            "has_credentials", "enabled", "sync_interval", "last_sync_at", "last_run",
            "created_at", "updated_at",
        ]
        read_only_fields = ["last_sync_at", "created_at", "updated_at"]
        # The (tenant, name) rule is checked in validate(), where the tenant may be defaulted.
        validators = []

    def validate_tenant(self, tenant: Tenant) -> Tenant:
        if self.instance is not None:
            if tenant.pk != self.instance.tenant_id:
                raise serializers.ValidationError(
                    "A provider cannot move to another tenant; create a new one there."
                )
            return tenant
        if not can_write(_user(self), tenant.pk, "providers"):
            raise serializers.ValidationError(
                f"You need the admin or operator role in tenant '{tenant.slug}' to add "
                "providers there."
            )
        return tenant

    def validate_kind(self, kind: str) -> str:
        if self.instance is not None:
            if kind != self.instance.kind:
                raise serializers.ValidationError(
                    "A provider's kind cannot change; create a new provider instead."
                )
            return kind
        if kind == ProviderKind.MANUAL:
            raise serializers.ValidationError(
                "Hand-registered hosts need no provider: register them under /api/manual-hosts/ "
                "and the portal keeps one 'manual' provider per tenant for them."
            )
        if kind not in provider_settings.supported_kinds():
            raise serializers.ValidationError(
                f"{kind!r} providers cannot be added yet: there is no driver for them. "
                f"Available kinds: {', '.join(provider_settings.supported_kinds())}."
            )
        return kind

    def _default_tenant(self) -> Tenant:
        writable = list(tenants_for(_user(self), roles=WRITE_ROLES["providers"])[:2])
        if len(writable) == 1:
            return writable[0]
        raise serializers.ValidationError(
            {"tenant": ["This field is required: you may add providers to several tenants."]}
        )

    def validate(self, attrs):
        creating = self.instance is None
        if creating and "tenant" not in attrs:
            attrs["tenant"] = self._default_tenant()
        tenant = attrs.get("tenant") or self.instance.tenant
        kind = attrs.get("kind") or self.instance.kind
        errors = {}

        if "settings" in attrs or creating:
            problems = provider_settings.validate_settings(kind, attrs.get("settings", {}))
            if problems:
                errors["settings"] = problems

        if "credentials" in attrs:
            problems = provider_settings.validate_credentials(kind, attrs["credentials"])
            if problems:
                errors["credentials"] = problems
        elif creating and provider_settings.KIND_SPECS[kind].required_credentials:
            needed = ", ".join(provider_settings.KIND_SPECS[kind].required_credentials)
            errors["credentials"] = [f"This field is required for {kind}: give {needed}."]

        name = attrs.get("name")
        if name is not None:
            taken = scope_queryset(Provider, _user(self)).filter(tenant=tenant, name=name)
            if self.instance is not None:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                errors["name"] = [
                    f"A provider named {name!r} already exists in tenant '{tenant.slug}'."
                ]

        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated_data):
        credentials = validated_data.pop("credentials", None)
        provider = Provider(**validated_data)
        provider.credentials = credentials
        provider.save()
        return provider

    def update(self, instance, validated_data):
        credentials = validated_data.pop("credentials", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if credentials is not None:
            instance.credentials = credentials
        instance.save()
        return instance


class ProviderCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="True when the provider answered as expected.")
    detail = serializers.CharField(
        help_text="The driver's summary when ok, otherwise what went wrong, for a person."
    )


class HostIntervalSerializer(serializers.ModelSerializer):
    class Meta:
        model = HostInterval
        fields = ["id", "started_at", "ended_at", "vcpus", "memory_mib", "sockets"]
        read_only_fields = fields


class HostIntervalListSerializer(HostIntervalSerializer):
    """An interval in the metering list, naming its host."""

    host = serializers.HyperlinkedRelatedField(view_name="api:host-detail", read_only=True)
    host_id = serializers.IntegerField(read_only=True)

    class Meta(HostIntervalSerializer.Meta):
        fields = [*HostIntervalSerializer.Meta.fields, "host", "host_id"]
        read_only_fields = fields


class HostBriefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:host-detail")

    class Meta:
        model = Host
        fields = ["id", "url", "name", "external_id", "kind", "state"]
        read_only_fields = fields


class HostSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:host-detail")
    provider = ProviderBriefSerializer(read_only=True)
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    parent = HostBriefSerializer(
        read_only=True, allow_null=True,
        help_text="The machine this host runs on (a server's hypervisor), when known.",
    )

    class Meta:
        model = Host
        fields = [
            "id", "url", "name", "external_id", "provider", "tenant", "kind", "state",
            "provider_status", "region", "zone", "scope", "instance_type", "sockets", "cores",
            "threads", "vcpus", "memory_mib", "os", "system_uuid", "serial", "manufacturer",
            "model", "bios_version", "mac_addresses", "location", "addresses", "tags",
            "project", "parent", "launched_at", "first_seen", "last_seen", "archived_at",
        ]
        read_only_fields = fields


class HostDetailSerializer(HostSerializer):
    """A host with its most recent metering intervals."""

    # Enough to see recent resizes and restarts; older history belongs to billing reports.
    INTERVAL_LIMIT = 50

    CHILD_LIMIT = 200

    intervals = serializers.SerializerMethodField(
        help_text=f"The latest {INTERVAL_LIMIT} metering intervals, newest first."
    )
    children = serializers.SerializerMethodField(
        help_text=f"Active hosts running on this one (up to {CHILD_LIMIT}; filter the host "
        "list by `parent` for all of them)."
    )

    class Meta(HostSerializer.Meta):
        fields = [*HostSerializer.Meta.fields, "children", "intervals"]
        read_only_fields = fields

    @extend_schema_field(HostBriefSerializer(many=True))
    def get_children(self, host):
        children = host.children.active().order_by("name", "pk")[: self.CHILD_LIMIT]
        return HostBriefSerializer(children, many=True, context=self.context).data

    @extend_schema_field(HostIntervalSerializer(many=True))
    def get_intervals(self, host):
        intervals = host.intervals.order_by("-started_at", "-pk")[: self.INTERVAL_LIMIT]
        return HostIntervalSerializer(intervals, many=True).data


class ProviderProjectSerializer(serializers.ModelSerializer):
    """A provider-side project; only ``mapped_tenant`` can be changed."""

    url = serializers.HyperlinkedIdentityField(view_name="api:providerproject-detail")
    provider = ProviderBriefSerializer(read_only=True)
    mapped_tenant = TenantField(
        allow_null=True, required=False,
        help_text="The portal tenant this project's hosts are charged to (slug), or null.",
    )
    host_count = serializers.IntegerField(read_only=True, help_text="Active hosts in it.")

    class Meta:
        model = ProviderProject
        fields = [
            "id", "url", "provider", "external_id", "name", "domain", "description", "enabled",
            "mapped_tenant", "host_count", "first_seen", "last_seen",
        ]
        read_only_fields = [name for name in fields if name != "mapped_tenant"]


class SyncRunSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:syncrun-detail")
    provider = ProviderBriefSerializer(read_only=True)
    progress = serializers.IntegerField(
        read_only=True, help_text="Percent of scopes done; 100 once the run is over."
    )
    is_finished = serializers.BooleanField(read_only=True)
    duration_seconds = serializers.SerializerMethodField(
        help_text="Seconds from start to finish (to now while running); null before it starts."
    )
    queue_seconds = serializers.SerializerMethodField(
        help_text="Seconds the run waited for a worker; null until it starts."
    )

    class Meta:
        model = SyncRun
        fields = [
            "id", "url", "provider", "status", "is_finished", "progress", "triggered_by",
            "queued_at", "started_at", "finished_at", "duration_seconds", "queue_seconds",
            "scopes_total", "scopes_done", "seen", "created", "updated", "unchanged",
            "archived", "errors", "message",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, run) -> float | None:
        duration = run.duration
        return round(duration.total_seconds(), 3) if duration is not None else None

    def get_queue_seconds(self, run) -> float | None:
        if run.started_at is None:
            return None
        return round((run.started_at - run.queued_at).total_seconds(), 3)
