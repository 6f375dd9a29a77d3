"""The rules for each fact of a hand-registered host, shared by the form, the API and the CSV.

Every checker takes the value a person typed (text, or a number from JSON) and returns the
clean value or raises ``Invalid`` with a message that completes "<field>: …" and says what
would be accepted, so the three ways in agree to the word.
"""

import re
from decimal import Decimal, InvalidOperation

from providers.base import HostKind, HostState


class Invalid(ValueError):
    """A value a person gave is wrong; the message says what would be right."""


# Registry states: a host runs, is stopped, or is retired (archived: gone from lists and from
# metering, kept as history). "retired" is stored as the sync engine's "terminated" plus
# ``archived_at``, like a synced host that disappeared.
RUNNING, STOPPED, RETIRED = "running", "stopped", "retired"
STATES = (RUNNING, STOPPED, RETIRED)
KINDS = (HostKind.BARE_METAL, HostKind.VIRTUAL)

MAX_SOCKETS = 64
# 64 sockets of 256 cores: beyond any machine sold today, well inside the column's range.
MAX_CORES = MAX_SOCKETS * 256
# SMT8 (POWER) is the most hardware threads per core any server offers.
MAX_THREADS_PER_CORE = 8
MIN_MEMORY_MIB = 1024
MAX_MEMORY_MIB = 64 * 1024 * 1024
MAX_NAME = 255
MAX_LOCATION = 255
MAX_SERIAL = 128
MAX_VENDOR_TEXT = 128
MAX_TAGS = 50
MAX_TAG_TEXT = 128

# A cell starting with one of these is run as a formula by spreadsheet programs when the text
# is exported again (CSV injection). Such text is refused everywhere hosts are registered, so
# no export can ever carry it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._:/#-]*")
_WHOLE = re.compile(r"[0-9]+")
_MEMORY = re.compile(r"(?P<amount>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[a-z]*)", re.IGNORECASE)
# Memory units and their size in MiB. "GB" and "TB" are read as GiB and TiB: memory is sold
# and listed in binary units whatever the spec sheet's label says, and a 256 "GB" server has
# 262,144 MiB, not 244,140.
_MEMORY_UNITS = {
    "": 1024, "g": 1024, "gb": 1024, "gib": 1024,
    "t": 1024 * 1024, "tb": 1024 * 1024, "tib": 1024 * 1024,
    "m": 1, "mb": 1, "mib": 1,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(value, *, limit: int, required: bool = True) -> str:
    """Plain one-line text: trimmed, no control characters, nothing a spreadsheet would run."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid("must be text.")

    trimmed = value.strip(" \u00a0")
    if trimmed.startswith(FORMULA_STARTS):
        raise Invalid(
            "must not start with =, +, -, @, a tab or a line break: spreadsheets would run "
            "it as a formula."
        )
    if _CONTROL.search(trimmed):
        raise Invalid("must be on one line, without tabs or other control characters.")
    if required and not trimmed:
        raise Invalid("is required.")
    if len(trimmed) > limit:
        raise Invalid(f"must be at most {limit} characters (it has {len(trimmed)}).")
    return trimmed


def name(value) -> str:
    return text(value, limit=MAX_NAME)


def location(value) -> str:
    return text(value, limit=MAX_LOCATION)


def vendor_text(value) -> str:
    """Manufacturer or model: optional, blank clears it."""
    return text(value, limit=MAX_VENDOR_TEXT, required=False)


def serial(value) -> str:
    found = text(value, limit=MAX_SERIAL)
    if not _SERIAL.fullmatch(found):
        raise Invalid(
            "must be letters, digits, spaces and . _ : / # - only, starting with a letter or "
            "digit."
        )
    return found


def whole(value, *, low: int, high: int, what: str = "a whole number") -> int:
    """A whole number in ``[low, high]``, from JSON (int) or text ("4")."""
    message = f"must be {what} from {low} to {high}."
    if isinstance(value, bool):
        raise Invalid(message)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise Invalid(message)
    if not low <= number <= high:
        raise Invalid(message)
    return number


def sockets(value) -> int:
    return whole(value, low=1, high=MAX_SOCKETS)


def cores(value) -> int:
    return whole(value, low=1, high=MAX_CORES)


def threads(value) -> int | None:
    """Hardware threads of the whole host; blank means "not known"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return whole(value, low=1, high=MAX_CORES * MAX_THREADS_PER_CORE)


def memory_mib(value) -> int:
    """Memory as a person writes it ("256", "256 GiB", "256GB", "1.5 TiB") in MiB.

    A plain number is GiB. The result must be a whole number of MiB from 1 GiB to 64 TiB.
    """
    usage = "must be an amount such as 256, 256 GiB, 512 MiB or 1.5 TiB (a plain number is GiB)"
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Invalid(usage + ".")
    raw = str(value).strip()
    if "," in raw:
        raise Invalid(usage + ", written without thousands separators and with a dot for "
                      "decimals.")
    found = _MEMORY.fullmatch(raw)
    unit = found and found["unit"].lower()
    if not found or unit not in _MEMORY_UNITS:
        raise Invalid(usage + ".")

    try:
        amount = Decimal(found["amount"]) * _MEMORY_UNITS[unit]
    except InvalidOperation:
        raise Invalid(usage + ".")
    if amount != amount.to_integral_value():
        raise Invalid(f"{raw} is not a whole number of MiB; give fewer decimals.")
    mib = int(amount)
    if not MIN_MEMORY_MIB <= mib <= MAX_MEMORY_MIB:
        raise Invalid("must be from 1 GiB to 64 TiB.")
    return mib


def choice(value, options: tuple[str, ...]) -> str:
    """One of ``options``, case and spacing forgiven ("Bare metal" is "bare_metal")."""
    word = str(value or "").strip().lower().replace(" ", "_").replace("-", "_")
    if word not in options:
        raise Invalid(f"must be one of {', '.join(options)}.")
    return word


def state(value) -> str:
    return choice(value, STATES)


def kind(value) -> str:
    return choice(value, KINDS)


def tags(value) -> dict[str, str]:
    """Free-form labels: at most 50 pairs of short text, no formulas."""
    if not isinstance(value, dict):
        raise Invalid("must be an object of text keys and text values.")
    if len(value) > MAX_TAGS:
        raise Invalid(f"must have at most {MAX_TAGS} entries.")
    clean = {}
    for key, item in value.items():
        try:
            clean[text(key, limit=MAX_TAG_TEXT)] = text(item, limit=MAX_TAG_TEXT, required=False)
        except Invalid as problem:
            raise Invalid(f"{key!r}: {problem}")
    return dict(sorted(clean.items()))


def cpu_problems(sockets_: int | None, cores_: int | None, threads_: int | None) -> dict:
    """What is wrong with a host's sockets, cores and threads together: {field: message}."""
    problems = {}
    if sockets_ and cores_ and cores_ < sockets_:
        problems["cores"] = (
            f"must be at least the number of sockets ({sockets_}): count the cores of every "
            "socket together."
        )
    if cores_ and threads_ is not None:
        if threads_ < cores_:
            problems["threads"] = (
                f"must be at least the number of cores ({cores_}): count the hardware threads "
                "of the whole host."
            )
        elif threads_ > cores_ * MAX_THREADS_PER_CORE:
            problems["threads"] = (
                f"must be at most {MAX_THREADS_PER_CORE} per core "
                f"({cores_ * MAX_THREADS_PER_CORE} for {cores_} cores)."
            )
    return problems


def state_of(host) -> str:
    """A stored host's registry state: retired once archived."""
    if host.archived_at is not None:
        return RETIRED
    return RUNNING if host.state == HostState.RUNNING else STOPPED
