"""Serializers for hand-registered hosts and CSV imports.

Every fact is checked by ``portal.registry.fields``, the same rules as the form and the CSV
import, so a message reads the same wherever it appears ("sockets: must be a whole number
from 1 to 64.").
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.schema import host_kind_choices
from portal.inventory.api.serializers import TenantField
from portal.inventory.models import Host, ProviderKind
from portal.registry import fields, manual
from portal.registry.imports import writable_tenants
from portal.tenancy.scoping import can_write


def _user(serializer):
    request = serializer.context.get("request")
    return request.user if request is not None else None


def _checked(check, data):
    try:
        return check(data)
    except fields.Invalid as problem:
        raise serializers.ValidationError(str(problem))


@extend_schema_field(OpenApiTypes.STR)
class CheckedTextField(serializers.Field):
    """Text checked by one of ``portal.registry.fields``' checkers."""

    def __init__(self, check, **kwargs):
        self.check = check
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return _checked(self.check, data)

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.INT)
class CheckedIntegerField(CheckedTextField):
    """A whole number checked by one of ``portal.registry.fields``' checkers."""


@extend_schema_field({
    "type": "number",
    "description": (
        "GiB, such as 256; decimals are fine when the amount is a whole number of MiB. Text "
        "with a unit ('512 MiB', '1.5 TiB') is accepted on input too."
    ),
})
class MemoryGiBField(serializers.Field):
    """Memory in GiB for people, stored in MiB."""

    def to_internal_value(self, data):
        return _checked(fields.memory_mib, data)

    def to_representation(self, mib):
        if mib is None:
            return None
        gib = mib / 1024
        return int(gib) if gib.is_integer() else round(gib, 3)


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class TagsField(serializers.Field):
    def to_internal_value(self, data):
        return _checked(fields.tags, data)

    def to_representation(self, value):
        return dict(value or {})


class StateField(serializers.ChoiceField):
    """running, stopped or retired, read from the host's state and archive mark."""

    def get_attribute(self, instance):
        return fields.state_of(instance)


class ManualHostSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="api:manualhost-detail")
    host_url = serializers.HyperlinkedIdentityField(
        view_name="api:host-detail", help_text="The host in the inventory, with its intervals."
    )
    tenant = TenantField(
        required=False,
        help_text=(
            "Where the host belongs: a tenant where you are admin or operator. May be left out "
            "when you have that role in exactly one tenant. Cannot change later."
        ),
    )
    name = CheckedTextField(fields.name, help_text="Up to 255 characters.")
    serial = CheckedTextField(
        fields.serial,
        help_text="The serial number; identifies the host in its tenant. Cannot change later.",
    )
    kind = serializers.ChoiceField(
        choices=host_kind_choices(), required=False,
        error_messages={"invalid_choice": f"must be one of {', '.join(fields.KINDS)}."},
        help_text="bare_metal (the default) or virtual.",
    )
    state = StateField(
        choices=[(state, state) for state in fields.STATES], required=False,
        error_messages={"invalid_choice": f"must be one of {', '.join(fields.STATES)}."},
        help_text=(
            "running (the default; metered), stopped, or retired (archived: gone from lists "
            "and metering, kept as history)."
        ),
    )
    sockets = CheckedIntegerField(fields.sockets, help_text="From 1 to 64.")
    cores = CheckedIntegerField(
        fields.cores, help_text="Physical cores of all sockets together; at least sockets."
    )
    threads = CheckedIntegerField(
        fields.threads, required=False, allow_null=True,
        help_text="Hardware threads of the whole host, from cores to 8 per core; optional.",
    )
    memory_gib = MemoryGiBField(source="memory_mib", help_text="Memory in GiB, such as 256.")
    memory_mib = serializers.IntegerField(read_only=True)
    location = CheckedTextField(
        fields.location, help_text="Where the host stands, such as 'DC1 rack A3 U12'."
    )
    manufacturer = CheckedTextField(fields.vendor_text, required=False)
    model = CheckedTextField(fields.vendor_text, required=False)
    tags = TagsField(required=False, help_text="Labels as text keys and values.")
    first_seen = serializers.DateTimeField(read_only=True)
    last_seen = serializers.DateTimeField(read_only=True)
    archived_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def validate(self, attrs):
        host = self.instance
        if host is None:
            attrs["tenant"] = self._writable_tenant(attrs.get("tenant"))
        else:
            self._refuse_moves(host, attrs)

        merged = {**(manual.current_values(host) if host else {}), **attrs}
        problems = fields.cpu_problems(
            merged.get("sockets"), merged.get("cores"), merged.get("threads")
        )
        if problems:
            raise serializers.ValidationError(
                {name: [message] for name, message in problems.items()}
            )

        if host is None:
            self._refuse_taken_serial(attrs["tenant"], attrs["serial"])
        return attrs

    def _writable_tenant(self, tenant):
        user = _user(self)
        if tenant is None:
            writable = list(writable_tenants(user)[:2])
            if len(writable) != 1:
                raise serializers.ValidationError({"tenant": [
                    "This field is required: you may register hosts in several tenants."
                ]})
            return writable[0]
        if not can_write(user, tenant.pk, "registry"):
            raise serializers.ValidationError({"tenant": [
                f"You need the admin or operator role in tenant '{tenant.slug}' to register "
                "hosts there."
            ]})
        return tenant

    def _refuse_moves(self, host, attrs) -> None:
        problems = {}
        if "tenant" in attrs and attrs["tenant"].pk != host.tenant_id:
            problems["tenant"] = [
                "A host cannot move to another tenant; retire it and register it there."
            ]
        if "serial" in attrs and attrs["serial"] != host.external_id:
            problems["serial"] = [
                "The serial identifies the host and cannot change; retire this host and "
                "register the new serial."
            ]
        if problems:
            raise serializers.ValidationError(problems)

    def _refuse_taken_serial(self, tenant, serial) -> None:
        taken = Host.objects.filter(
            tenant=tenant, provider__kind=ProviderKind.MANUAL, external_id=serial
        ).first()
        if taken is not None:
            retired = ", retired" if taken.archived_at else ""
            raise serializers.ValidationError({"serial": [
                f"is already registered in tenant '{tenant.slug}' (host #{taken.pk}{retired}); "
                f"change that host with PATCH /api/manual-hosts/{taken.pk}/."
            ]})

    def registration(self) -> manual.Registration:
        """The validated input as a registration for ``portal.registry.manual.write``."""
        data = self.validated_data
        host = self.instance
        tenant = host.tenant if host is not None else data["tenant"]
        serial = host.external_id if host is not None else data["serial"]
        values = {name: data[name] for name in manual.EDITABLE if name in data}
        return manual.Registration(tenant, serial, values)


# --- CSV import ------------------------------------------------------------------------------

class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="The CSV file: UTF-8, comma or semicolon separated, a header row first."
    )
    dry_run = serializers.BooleanField(
        default=True,
        help_text="true (the default): only report what would change. false: write it.",
    )
    tenant = TenantField(
        required=False,
        help_text=(
            "The tenant for rows without a tenant cell (and for a file without a tenant "
            "column). Defaults to your only writable tenant, if you have one."
        ),
    )

    def validate_tenant(self, tenant):
        if not can_write(_user(self), tenant.pk, "registry"):
            raise serializers.ValidationError(
                f"You need the admin or operator role in tenant '{tenant.slug}' to import "
                "hosts there."
            )
        return tenant


class CellErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row as the spreadsheet shows it; header = 1.")
    column = serializers.CharField(help_text="The column's name; empty for the whole row.")
    message = serializers.CharField()


class ImportRefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    file = serializers.ListField(
        child=serializers.CharField(), help_text="Problems with the file as a whole."
    )
    rows = CellErrorSerializer(
        many=True, help_text="One entry per bad cell, at most 1,000 (see error_count)."
    )
    error_count = serializers.IntegerField(help_text="All problems found, listed or not.")


class ChangeSerializer(serializers.Serializer):
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class PlanRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    action = serializers.ChoiceField(choices=[manual.CREATE, manual.UPDATE, manual.UNCHANGED])
    tenant = serializers.CharField(help_text="The tenant's slug.")
    serial = serializers.CharField()
    name = serializers.CharField()
    host_id = serializers.IntegerField(
        allow_null=True, help_text="The host's id; null for a create in a dry run."
    )
    changes = serializers.DictField(
        child=ChangeSerializer(), help_text="For an update: each changed field, old and new."
    )


class ImportCountsSerializer(serializers.Serializer):
    create = serializers.IntegerField()
    update = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class ImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    written = serializers.BooleanField(
        help_text="True when anything was written (false for a dry run or no change)."
    )
    file = serializers.CharField(help_text="The uploaded file's name.")
    counts = ImportCountsSerializer()
    plan = PlanRowSerializer(many=True, help_text="Every row of the file, in file order.")
    sync_runs = serializers.ListField(
        child=serializers.URLField(), help_text="The runs that recorded the write, per tenant."
    )
