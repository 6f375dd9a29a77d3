"""API endpoints for tenants (read only) and the caller's own API tokens."""

from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from portal.audit.log import record
from portal.tenancy.api.serializers import (
    ApiTokenCreateSerializer,
    ApiTokenIssuedSerializer,
    ApiTokenSerializer,
    TenantSerializer,
)
from portal.tenancy.models import ApiToken, Membership, Role, Tenant
from portal.tenancy.scoping import scope_queryset


@extend_schema_view(
    list=extend_schema(summary="Tenants you belong to, with your role in each"),
    retrieve=extend_schema(summary="One of your tenants"),
)
class TenantViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TenantSerializer
    filter_backends = []

    def get_queryset(self):
        user = self.request.user
        memberships = Membership.objects.filter(tenant=OuterRef("pk"), user_id=user.pk)
        role = Subquery(memberships.values("role")[:1])
        if user.is_superuser:
            # A superuser sees tenants without being a member; there they act as its admin.
            role = Coalesce(role, Value(Role.ADMIN.value), output_field=CharField())
        return scope_queryset(Tenant, user).annotate(role=role)


class TokenLoginAddressThrottle(SimpleRateThrottle):
    """Password attempts per client address, so a guesser is slowed down."""

    scope = "token-login-address"
    rate = "10/min"

    def get_cache_key(self, request, view):
        if "password" not in request.data:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenLoginUserThrottle(SimpleRateThrottle):
    """Password attempts per username, for guessers that spread over many addresses."""

    scope = "token-login-user"
    rate = "10/min"

    def get_cache_key(self, request, view):
        if "password" not in request.data:
            return None
        username = str(request.data.get("username", "")).strip().lower()
        return self.cache_format % {"scope": self.scope, "ident": username}


@extend_schema_view(
    list=extend_schema(summary="Your API tokens (never their keys)"),
    destroy=extend_schema(summary="Revoke one of your API tokens"),
)
class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ApiTokenSerializer
    filter_backends = []

    def get_queryset(self):
        # Tokens belong to a user, not a tenant: everyone sees and revokes only their own.
        return ApiToken.objects.filter(user_id=self.request.user.pk)

    def get_permissions(self):
        if self.action == "create":
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_throttles(self):
        if self.action == "create":
            return [TokenLoginAddressThrottle(), TokenLoginUserThrottle()]
        return []

    @extend_schema(
        summary="Create an API token",
        description=(
            "Send `username` and `password`, or an empty body while signed in (session or "
            "token). The response holds the token itself in `token`: it is shown only once. "
            "A token created with another token expires no later than that one. Password "
            "attempts are throttled (429)."
        ),
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenIssuedSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = ApiTokenCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        user = data["user"]
        if user is None:
            if not request.user.is_authenticated:
                raise NotAuthenticated(
                    "Send username and password, or sign in (session or token) first."
                )
            user = request.user

        token, raw = ApiToken.issue(user, name=data["name"], days=data.get("expires_in_days"))

        # A token must not be a way to outlive itself: its children expire with it at the latest.
        parent = request.auth if isinstance(request.auth, ApiToken) else None
        if parent and parent.user_id == user.pk and parent.expires_at < token.expires_at:
            token.expires_at = parent.expires_at
            token.save(update_fields=["expires_at"])

        record(
            "token.create", token, request=request, user=user,
            changes={"name": token.name, "expires_at": token.expires_at.isoformat()},
        )
        token.token = raw
        body = ApiTokenIssuedSerializer(token, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        record("token.revoke", instance, request=self.request)
        instance.delete()

