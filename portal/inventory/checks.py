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


def redact(text: str, credentials: dict) -> str:
    """``text`` with every credential value in it replaced by ``[redacted]``."""
    for value in credentials.values():
        if isinstance(value, str) and len(value) >= MIN_REDACTED_LENGTH:
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
