"""API token authentication: ``Authorization: Token <key>`` (``Bearer`` is accepted too)."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from portal.tenancy.models import ApiToken, hash_token

# Writing last_used_at on every request would turn each read into a write; once a minute is
# enough to tell an operator which tokens are alive.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: expected 'Token <key>'."
            )

        raw = header[1].decode(errors="replace")
        token = (
            ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid API token.")
        if token.is_expired:
            raise exceptions.AuthenticationFailed(
                "This API token has expired; create a new one at /api/tokens/."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's user is disabled.")

        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return "Token"
