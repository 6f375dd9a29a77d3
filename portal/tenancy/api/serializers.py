"""Serializers for tenants and API tokens."""

from django.contrib.auth import authenticate
from rest_framework import serializers

from portal.tenancy.models import ApiToken, Role, Tenant

# Days a token may live at most when a client asks for a lifetime.
MAX_TOKEN_DAYS = 365


class TenantSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:tenant-detail")
    role = serializers.ChoiceField(
        choices=Role.choices, read_only=True, allow_null=True,
        help_text="Your role in this tenant (superusers without a membership count as admin).",
    )

    class Meta:
        model = Tenant
        fields = ["id", "url", "name", "slug", "role", "created_at"]


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as listed: never its key or hash, only the prefix to recognise it by."""

    url = serializers.HyperlinkedIdentityField(view_name="api:token-detail")
    is_expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id", "url", "name", "prefix", "created_at", "expires_at", "last_used_at",
            "is_expired",
        ]
        read_only_fields = fields


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    """A token just created, with the raw key: the only time the key is ever shown."""

    token = serializers.CharField(
        read_only=True, help_text="The token itself. Store it now: it cannot be shown again.",
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    """Ask for a token with a username and password, or as the user already signed in."""

    username = serializers.CharField(required=False, max_length=150)
    password = serializers.CharField(
        required=False, write_only=True, trim_whitespace=False, style={"input_type": "password"},
    )
    name = serializers.CharField(
        required=False, allow_blank=True, max_length=100, default="",
        help_text="A label to recognise the token by, such as the script that uses it.",
    )
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_TOKEN_DAYS,
        help_text=f"Lifetime in days, 1 to {MAX_TOKEN_DAYS}; the server default otherwise.",
        error_messages={
            "min_value": f"must be between 1 and {MAX_TOKEN_DAYS} days.",
            "max_value": f"must be between 1 and {MAX_TOKEN_DAYS} days.",
        },
    )

    # One message for an unknown user, a wrong password and a disabled account alike, so the
    # answer does not tell a guesser which usernames exist.
    login_failed_message = "Unable to log in with this username and password."

    def validate(self, attrs):
        username, password = attrs.get("username"), attrs.get("password")
        if username is None and password is None:
            attrs["user"] = None
            return attrs
        if not username or password is None:
            raise serializers.ValidationError(
                "Give both username and password, or neither to use your current login."
            )

        request = self.context.get("request")
        user = authenticate(
            request._request if request is not None else None,
            username=username, password=password,
        )
        if user is None or not user.is_active:
            raise serializers.ValidationError(self.login_failed_message)
        attrs["user"] = user
        return attrs
