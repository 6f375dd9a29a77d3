"""Serializers for power requests: the action asked for, and the request as it stands."""

from rest_framework import serializers

from portal.inventory.models import Host
from portal.operations.models import PowerActionChoice, PowerRequest
from portal.operations.power import VALID_ACTIONS


class PowerActionSerializer(serializers.Serializer):
    """The body of `POST /api/hosts/{id}/power/`: the action to take."""

    action = serializers.ChoiceField(
        choices=PowerActionChoice.choices,
        help_text=(
            "on: power on; off: shut down gracefully (the operating system is asked); "
            "force_off: cut the power; restart: reboot."
        ),
        error_messages={
            "invalid_choice": f"Unknown power action {{input!r}}: use one of {VALID_ACTIONS}.",
            "required": f"Say which power action to take: one of {VALID_ACTIONS}.",
            "null": f"Say which power action to take: one of {VALID_ACTIONS}.",
        },
    )


class PowerRefusalSerializer(serializers.Serializer):
    """What a refused power request answers (for the schema)."""

    detail = serializers.CharField(help_text="Why the action cannot be taken, for a person.")


class PowerRequestHostSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:host-detail")

    class Meta:
        model = Host
        fields = ["id", "url", "name", "external_id"]
        read_only_fields = fields


class PowerRequestSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:powerrequest-detail")
    host = PowerRequestHostSerializer(read_only=True)
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True,
        help_text="Who asked; null once that user is deleted.",
    )
    is_finished = serializers.BooleanField(
        read_only=True, help_text="True once confirmed, failed or timed out."
    )
    summary = serializers.CharField(
        read_only=True, help_text="Where the request stands, in one sentence for a person."
    )
    elapsed_seconds = serializers.SerializerMethodField(
        help_text="Seconds from the provider accepting the request (or from asking, before "
        "that) to its end, or to now while in flight."
    )
    sync_run = serializers.HyperlinkedRelatedField(
        view_name="api:syncrun-detail", read_only=True, allow_null=True,
        help_text="The inventory sync queued once the request was confirmed.",
    )

    class Meta:
        model = PowerRequest
        fields = [
            "id", "url", "host", "tenant", "action", "status", "is_finished", "summary",
            "expected_state", "observed_state", "message", "requested_by", "requested_at",
            "sent_at", "finished_at", "deadline_seconds", "elapsed_seconds", "sync_run",
        ]
        read_only_fields = fields

    def get_elapsed_seconds(self, power_request) -> float:
        return round(power_request.elapsed.total_seconds(), 3)
