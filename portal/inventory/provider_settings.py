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


def check_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false."


def check_text(max_length: int) -> Checker:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            return f"must be a non-empty string of at most {max_length} characters."
        return None

    return check


def check_pem_certificates(value: Any) -> str | None:
    if not isinstance(value, str) or "-----BEGIN CERTIFICATE-----" not in value:
        return "must be one or more PEM certificates ('-----BEGIN CERTIFICATE-----' …)."
    if len(value) > 64_000:
        return "is longer than 64,000 characters; give only the CA certificates needed."
    return None


def check_name_list(what: str, example: str) -> Checker:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() and len(item) <= 64 for item in value
        ):
            return f"must be a list of {what}, such as [\"{example}\"]."
        if len(set(value)) != len(value):
            return f"lists a {what.rstrip('s')} more than once."
        return None

    return check


def check_subset_list(*choices: str) -> Checker:
    def check(value: Any) -> str | None:
        allowed = ", ".join(repr(choice) for choice in choices)
        if not isinstance(value, list) or not value or any(item not in choices for item in value):
            return f"must be a non-empty list drawn from {allowed}."
        return None

    return check


def check_endpoint_overrides(value: Any) -> str | None:
    if not isinstance(value, dict):
        return 'must be an object of service to URL, such as {"baremetal": "http://…:6385"}.'
    problems = []
    for service, url in value.items():
        if service not in OPENSTACK_SERVICES:
            problems.append(f"{service!r} is not one of {', '.join(OPENSTACK_SERVICES)}")
        elif check_http_url(url):
            problems.append(f"{service}: {check_http_url(url)}")
    return "; ".join(problems) + "." if problems else None


# Names of BMCs, regions and the like end up as sync scopes and in URLs: keep them plain.
SCOPE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def check_bmcs(value: Any) -> str | None:
    """A Redfish provider's list of BMCs: name, url, and optional verify / ca_cert."""
    example = '[{"name": "rack1-u1", "url": "https://10.0.0.11"}]'
    if not isinstance(value, list) or not value:
        return f"must be a non-empty list of BMCs, such as {example}."
    problems, names = [], set()
    for number, bmc in enumerate(value, start=1):
        if not isinstance(bmc, dict):
            problems.append(f"BMC {number} must be an object such as {example[1:-1]}")
            continue
        unknown = sorted(set(bmc) - {"name", "url", "verify", "ca_cert"})
        if unknown:
            problems.append(
                f"BMC {number} has unknown key(s) {', '.join(unknown)}; "
                "a BMC accepts name, url, verify, ca_cert"
            )
        name = bmc.get("name")
        if not isinstance(name, str) or not SCOPE_NAME_RE.match(name):
            problems.append(
                f"BMC {number}: name must be 1-64 letters, digits, '.', '_', ':' or '-'"
            )
        elif name in names:
            problems.append(f"BMC {number}: the name {name!r} is used twice")
        else:
            names.add(name)
        url_problem = check_http_url(bmc.get("url"))
        if url_problem:
            problems.append(f"BMC {number}: url {url_problem.rstrip('.')}")
        if "verify" in bmc and not isinstance(bmc["verify"], bool):
            problems.append(f"BMC {number}: verify must be true or false")
        if "ca_cert" in bmc and check_pem_certificates(bmc["ca_cert"]):
            problems.append(f"BMC {number}: ca_cert {check_pem_certificates(bmc['ca_cert'])}")
    if len(value) > MAX_BMCS:
        problems.append(f"at most {MAX_BMCS} BMCs per provider; split the rack into providers")
    return "; ".join(problem.rstrip(".") for problem in problems) + "." if problems else None


def check_bmc_credentials(value: Any) -> str | None:
    """Per-BMC logins: {"<bmc name>": {"username": …, "password": …}}; never quotes values."""
    if not isinstance(value, dict):
        return 'must be an object of BMC name to {"username": …, "password": …}.'
    for name, login in value.items():
        if (
            not isinstance(login, dict)
            or set(login) - {"username", "password"}
            or not all(isinstance(item, str) and item for item in login.values())
        ):
            return (
                f"the login for BMC {str(name)[:64]!r} must hold a non-empty username and/or "
                "password and nothing else."
            )
    return None


OPENSTACK_SERVICES = ("compute", "baremetal")
MAX_BMCS = 500


@dataclass(frozen=True)
class KindSpec:
    """The settings keys (each with its checker) and credential keys a kind accepts.

    Credentials are non-empty strings unless ``credential_checkers`` names a checker for the
    key (for credentials with structure, such as one login per BMC).
    """

    settings: Mapping[str, Checker]
    required_credentials: tuple[str, ...]
    optional_credentials: tuple[str, ...] = field(default=())
    required_settings: tuple[str, ...] = field(default=())
    credential_checkers: Mapping[str, Checker] = field(default_factory=dict)


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
            # How long a power action may take to show (portal.operations.power).
            "power_timeout": check_timeout,
        },
        required_credentials=("access_key_id", "secret_access_key"),
        optional_credentials=("session_token",),
    ),
    # The keys follow providers/openstack.py (its module docstring explains each).
    ProviderKind.OPENSTACK: KindSpec(
        settings={
            "auth_url": check_http_url,
            "auth_type": check_one_of("password", "v3applicationcredential", "none"),
            "cloud": check_text(128),
            "project_name": check_text(255),
            "project_domain_name": check_text(255),
            "user_domain_name": check_text(255),
            "regions": check_name_list("region names", "RegionOne"),
            "interface": check_one_of("public", "internal", "admin"),
            "verify": check_bool,
            "ca_cert": check_pem_certificates,
            "services": check_subset_list(*OPENSTACK_SERVICES),
            "endpoint_overrides": check_endpoint_overrides,
            "all_projects": check_bool,
            "page_size": check_int_between(10, 1000),
            "timeout": check_timeout,
            "power_timeout": check_timeout,
        },
        required_credentials=(),
        optional_credentials=(
            "username", "password", "application_credential_id",
            "application_credential_secret", "clouds_yaml",
        ),
    ),
    # The keys follow providers/redfish.py.
    ProviderKind.REDFISH: KindSpec(
        settings={
            "bmcs": check_bmcs,
            "timeout": check_timeout,
            "power_timeout": check_timeout,
        },
        required_settings=("bmcs",),
        required_credentials=(),
        optional_credentials=("username", "password", "bmcs"),
        credential_checkers={"bmcs": check_bmc_credentials},
    ),
    # Hand-registered hosts have nothing to connect to.
    ProviderKind.MANUAL: KindSpec(settings={}, required_credentials=()),
}


def supported_kinds() -> list[str]:
    """Kinds that can be created as providers; the manual one is made on first registration."""
    return [
        kind for kind in ProviderKind.values
        if kind in KIND_SPECS and kind != ProviderKind.MANUAL
    ]


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
    missing = [key for key in spec.required_settings if key not in settings]
    if missing:
        errors.append(f"{kind} settings need {', '.join(missing)}.")
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
        if key not in credentials:
            continue
        value = credentials[key]
        checker = spec.credential_checkers.get(key)
        if checker:
            problem = checker(value)
            if problem:
                errors.append(f"{key}: {problem}")
        elif not isinstance(value, str) or not value.strip():
            errors.append(f"{key}: must be a non-empty string.")
    return errors
