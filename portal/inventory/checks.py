"""Talking to a provider on a person's behalf: the connection check, and keeping secrets out.

The API, the web pages and the sync engine all show a driver's words to people. A driver
should never quote a credential, but an SDK's message can (an access key echoed back in an
error), so every driver message passes through ``redact`` before it is shown, stored or logged.
"""

import logging
from dataclasses import dataclass

from portal.inventory.models import Provider
from providers.base import ProviderError

logger = logging.getLogger(__name__)

# Secrets shorter than this are not searched for in messages: too many false hits.
MIN_REDACTED_LENGTH = 4
# Login names are not secrets, and blanking a common one ("admin", "root") would also blank
# every BMC name, URL or word that happens to contain it.
NOT_SECRET_KEYS = frozenset({"username", "user", "user_name"})


def _secrets(credentials) -> list[str]:
    """Every secret value in ``credentials``, nested ones included (per-BMC logins)."""
    found = []
    items = credentials.items() if isinstance(credentials, dict) else enumerate(credentials)
    for key, value in items:
        if key in NOT_SECRET_KEYS:
            continue
        if isinstance(value, dict | list):
            found += _secrets(value)
        elif isinstance(value, str) and len(value) >= MIN_REDACTED_LENGTH:
            found.append(value)
    return found


def redact(text: str, credentials: dict) -> str:
    """``text`` with every credential value in it replaced by ``[redacted]``."""
    # Longest first, so a secret that contains another is replaced whole.
    for value in sorted(_secrets(credentials or {}), key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return text


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str


def check_provider(provider: Provider) -> CheckResult:
    """Run the provider's driver check; never raises for what the provider answered."""
    credentials = provider.credentials
    try:
        summary = provider.driver().check()
    except ProviderError as exc:
        detail = redact(str(exc), credentials)
        logger.info("check of provider %s failed: %s", provider.pk, detail)
        return CheckResult(False, detail)
    except Exception:
        # A driver should only raise ProviderError; anything else is a bug to log, but the
        # person asking still gets an answer instead of an error page.
        logger.exception("connection check of provider %s crashed", provider.pk)
        return CheckResult(False, "The check failed with an unexpected error (see the log).")
    return CheckResult(True, redact(summary or "The provider answered.", credentials))
