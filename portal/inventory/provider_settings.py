"""What each provider kind accepts in its settings and credentials.

The API (and any form) checks a provider's ``settings`` and ``credentials`` here before saving,
so a driver never starts from a value it cannot use. Messages name the offending key and say
what is expected; they never repeat a credential's value.

Adding a provider kind means adding its ``KindSpec`` to ``KIND_SPECS``: a kind without one
cannot be created through the API.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from portal.inventory.models import ProviderKind

# A checker returns a message saying what is wrong with a value, or None when it is fine.
Checker = Callable[[Any], str | None]

# "eu-west-1", "us-gov-west-1", "ap-southeast-2": a two-letter area, one or more words and a
# number.
AWS_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")

# Longer than any sane network wait; a larger value is almost certainly a unit mistake (ms).
MAX_TIMEOUT_SECONDS = 600


def check_http_url(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be an http:// or https:// URL, such as 'https://ec2.example.com'."
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a malformed port raises only when read
    except ValueError:
        return f"{value!r} is not a valid URL."
    if parts.scheme not in {"http", "https"} or not parts.hostname or " " in value:
        return f"{value!r} is not an http:// or https:// URL with a host name."
    return None


def check_timeout(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number of seconds."
    if not 0 < value <= MAX_TIMEOUT_SECONDS:
        return f"must be more than 0 and at most {MAX_TIMEOUT_SECONDS} seconds."
    return None


def check_aws_region(value: Any) -> str | None:
    if not isinstance(value, str) or not AWS_REGION_RE.match(value):
        return f"{value!r} is not an AWS region name such as 'eu-west-1'."
    return None


def check_aws_regions(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list of region names, such as [\"eu-west-1\"] (empty: all regions)."
    problems = [f"{region!r} is not an AWS region name such as 'eu-west-1'"
                for region in value
                if not isinstance(region, str) or not AWS_REGION_RE.match(region)]
    if len(set(map(str, value))) != len(value):
        problems.append("a region is listed more than once")
    return "; ".join(problems) + "." if problems else None


def check_int_between(low: int, high: int) -> Checker:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}."
        return None

    return check


def check_one_of(*choices: str) -> Checker:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(repr(choice) for choice in choices)}."
        return None

    return check


@dataclass(frozen=True)
class KindSpec:
    """The settings keys (each with its checker) and credential keys a kind accepts."""

    settings: Mapping[str, Checker]
    required_credentials: tuple[str, ...]
    optional_credentials: tuple[str, ...] = field(default=())


# The keys and bounds follow providers/aws.py (its module docstring lists them).
KIND_SPECS: dict[str, KindSpec] = {
    ProviderKind.AWS: KindSpec(
        settings={
            "regions": check_aws_regions,
            "home_region": check_aws_region,
            "endpoint_url": check_http_url,
            "connect_timeout": check_timeout,
            "read_timeout": check_timeout,
            "max_attempts": check_int_between(1, 20),
            "retry_mode": check_one_of("standard", "adaptive"),
            # EC2 refuses other page sizes.
            "page_size": check_int_between(5, 1000),
        },
        required_credentials=("access_key_id", "secret_access_key"),
        optional_credentials=("session_token",),
    ),
}


def supported_kinds() -> list[str]:
    return [kind for kind in ProviderKind.values if kind in KIND_SPECS]


def _unknown_keys_message(unknown: list[str], known: list[str], what: str) -> str:
    names = ", ".join(repr(key) for key in sorted(unknown))
    return f"unknown key(s) {names}; {what} accept: {', '.join(sorted(known))}."


def validate_settings(kind: str, settings: Any) -> list[str]:
    """Messages (``"key: what is wrong"``) for everything wrong with ``settings``."""
    if not isinstance(settings, dict):
        return ["must be a JSON object."]
    spec = KIND_SPECS.get(kind)
    if spec is None:
        # A kind without a spec only exists if it was added outside the API; leave it alone.
        return []

    errors = []
    unknown = [key for key in settings if key not in spec.settings]
    if unknown:
        errors.append(_unknown_keys_message(unknown, list(spec.settings), f"{kind} settings"))
    for key, checker in spec.settings.items():
        if key in settings:
            problem = checker(settings[key])
            if problem:
                errors.append(f"{key}: {problem}")
    return errors


def validate_credentials(kind: str, credentials: Any) -> list[str]:
    """Messages for everything wrong with ``credentials``; never quoting a value."""
    if not isinstance(credentials, dict):
        return ["must be a JSON object."]
    spec = KIND_SPECS.get(kind)
    if spec is None:
        return []

    allowed = [*spec.required_credentials, *spec.optional_credentials]
    errors = []
    unknown = [key for key in credentials if key not in allowed]
    if unknown:
        errors.append(_unknown_keys_message(unknown, allowed, f"{kind} credentials"))
    missing = [key for key in spec.required_credentials if key not in credentials]
    if missing:
        errors.append(f"{kind} credentials need {', '.join(missing)}.")
    for key in allowed:
        value = credentials.get(key)
        if key in credentials and (not isinstance(value, str) or not value.strip()):
            errors.append(f"{key}: must be a non-empty string.")
    return errors
