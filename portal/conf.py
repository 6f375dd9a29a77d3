"""Small typed readers for settings that come from the environment.

Every setting the portal takes from outside goes through one of these helpers, so a wrong value
fails at start-up with the variable's name in the message instead of somewhere deep at run time.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default

    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_required(name: str, fallback: str, *, required: bool) -> str:
    """Return the variable, or the development fallback when it is not required.

    With ``required`` set (production, DEBUG off) a missing value stops start-up and names the
    variable, so nobody runs a production portal on a key that is printed in the source.
    """
    value = env_str(name)
    if value:
        return value
    if required:
        raise ImproperlyConfigured(
            f"{name} is not set. It is required when DEBUG is off; see the README's "
            "configuration table."
        )
    return fallback
