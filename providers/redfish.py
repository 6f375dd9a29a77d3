"""Bare metal through Redfish: the systems behind a list of BMCs, read and powered with sushy.

Settings (``Provider.settings``):

    bmcs           the BMCs, each {"name": …, "url": …, "verify": true, "ca_cert": "PEM…"}:
                     name     the BMC's scope, and the first part of its hosts' external ids
                     url      http(s)://host[:port], with or without the /redfish/v1 suffix
                              (any other path is dropped: Redfish links are absolute paths)
                     verify   check the BMC's TLS certificate (default true); false turns the
                              check off for this BMC, whatever ca_cert says
                     ca_cert  PEM certificate(s) of the CA that signed the BMC's certificate,
                              trusted for this BMC instead of the system's CA bundle
    timeout        seconds to wait for a connection and for each answer (10)
    power_timeout  seconds a power request may take to show before it times out (the
                   portal's PORTAL_POWER_TIMEOUT when unset; the portal does the polling)

Credentials: ``username`` and ``password`` for every BMC, and ``bmcs``, a map of BMC name to
{"username", "password"} overriding either for that BMC. A BMC with no login at all is read
without one (emulators and mockups need none); a password without a username is refused.

Each BMC is one scope, read on its own (several at once), so one that is down, slow, answers
something that is not Redfish or rejects the login fails alone: its hosts are kept as they
were. A host's external id is ``<bmc name>/<system id>``, unique even when two BMCs number
their systems alike. Facts per system: the name (host name, else the system's name unless it
is a generic "System", else the BMC's name), UUID, serial, maker, model, BIOS version, power
state, sockets (``ProcessorSummary.Count``; without it, the CPU processors listed), cores and
threads (summed over the CPU processors; without a processor list, the summary's counts),
vCPUs (the threads: what an operating system schedules on), memory, MAC and IP addresses, and
the rack position of the system's chassis when the BMC gives one (else the BMC's name).

``check()`` succeeds when at least one BMC answers, naming those that did not; it fails when
none does. Power actions map to reset types: on → On (else ForceOn), off → GracefulShutdown,
force_off → ForceOff, restart → GracefulRestart (else ForceRestart), chosen among the values
the system allows. Asking a system to go where it already is (on when on, off when off) sends
nothing, as many BMCs refuse such a request.
"""

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

import requests
import sushy
from sushy import exceptions as sushy_errors
from sushy.auth import AuthBase, BasicAuth
from sushy.resources.constants import ResetType, State
from sushy.resources.system.constants import ProcessorType

from providers.base import (
    Driver,
    HostKind,
    HostRecord,
    HostState,
    Item,
    PowerAction,
    ProviderAuthError,
    ProviderError,
    ScopeDone,
    ScopeFailed,
    ScopePlan,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULTS = {"timeout": 10}

# sushy tries a request that could not connect or timed out this many times, and repeats a
# GET answered with a server error as often, RETRY_DELAY seconds apart. Its defaults (ten
# retries three seconds apart) would hold a sync half a minute on every BMC that is down.
SUSHY_RETRIES = 2
RETRY_DELAY = 1

# BMCs read at once. A BMC is mostly waited on, and a rack with a few that are down should
# not wait out their timeouts one after another; eight keeps a small BMC's web server calm.
PARALLEL_BMCS = 8

# Redfish PowerState words; anything else (Paused, or a word of a newer schema) is unknown.
STATES = {
    "On": HostState.RUNNING,
    "Off": HostState.STOPPED,
    "PoweringOn": HostState.PENDING,
    "PoweringOff": HostState.STOPPING,
}

# Each portal power action as the reset types that carry it out, in order of preference. A
# graceful shutdown never falls back to a forced one: that would lose data the caller meant
# to keep; force_off is the explicit choice.
RESET_TYPES = {
    PowerAction.ON: (ResetType.ON, ResetType.FORCE_ON),
    PowerAction.OFF: (ResetType.GRACEFUL_SHUTDOWN,),
    PowerAction.FORCE_OFF: (ResetType.FORCE_OFF,),
    PowerAction.RESTART: (ResetType.GRACEFUL_RESTART, ResetType.FORCE_RESTART),
}
# The power state in which an action has nothing left to do.
ALREADY = {PowerAction.ON: "On", PowerAction.OFF: "Off", PowerAction.FORCE_OFF: "Off"}

# System names that many BMCs give every machine; a host named so would be anonymous.
GENERIC_NAMES = frozenset({"system", "computer system", "computersystem", "server", "node"})

# The useful part of an SSL error: OpenSSL's verify reason, else its alert name.
TLS_VERIFY_FAILED = re.compile(r"certificate verify failed: ([^(']+)")
TLS_ALERT = re.compile(r"\[SSL: ([A-Z0-9_]+)\]")

MISSING_URL = re.compile(r"Resource (\S+) not found")

RACK_UNITS = {"EIA_310": "U", "OpenU": "OU"}

# Operating-system errors behind a failed connection, in the words an operator would use.
CONNECTION_REASONS = (
    ("refused", "connection refused"),
    ("name or service not known", "the host name could not be resolved"),
    ("nodename nor servname", "the host name could not be resolved"),
    ("temporary failure in name resolution", "the host name could not be resolved"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "the network is unreachable"),
    ("remote end closed connection", "it closed the connection without answering"),
    ("connection reset", "it reset the connection"),
)


class NoAuth(AuthBase):
    """No login at all, for BMC emulators and mockups that ask for none."""

    def _do_authenticate(self) -> None:
        pass

    def can_refresh_session(self) -> bool:
        return False


@dataclass(frozen=True)
class Bmc:
    """One BMC of the provider, with its login; repr() leaves the secrets out."""

    name: str
    url: str
    verify: bool = True
    ca_cert: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def shown_url(self) -> str:
        """The URL as messages show it: without any login written into it."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        return f"{parts.scheme}://{host}{port}"

    @property
    def where(self) -> str:
        return f"BMC {self.name} at {self.shown_url}"


@dataclass
class BmcReading:
    """What reading one BMC gave: its hosts, and the failure that stopped it, if any."""

    records: list[HostRecord] = field(default_factory=list)
    failure: ProviderError | None = None
    systems: int = 0


# --- reading facts out of Redfish documents --------------------------------------------------

def root_url(url: str) -> str:
    """``scheme://host[:port]`` of a BMC URL given with or without ``/redfish/v1``."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}"


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _total(values: Iterable[Any]) -> int | None:
    """The sum of the numbers among ``values``; None when there is none to add."""
    numbers = [number for number in map(_int, values) if number is not None]
    return sum(numbers) if numbers else None


def normalise_mac(value: Any) -> str:
    """``b0:7b:25:de:1a:10`` from any usual spelling; "" for an empty or all-zero address."""
    if not isinstance(value, str):
        return ""
    digits = "".join(ch for ch in value.lower() if ch in "0123456789abcdef")
    if len(digits) != 12 or digits == "0" * 12:
        return ""
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def memory_mib(summary: dict) -> int | None:
    gib = summary.get("TotalSystemMemoryGiB")
    if isinstance(gib, bool) or not isinstance(gib, int | float) or gib <= 0:
        return None
    return round(gib * 1024)


def location_of(chassis: dict) -> str:
    """"Row B, Rack R12, U14" from a chassis's Location.Placement; "" when it has none."""
    placement = (chassis.get("Location") or {}).get("Placement") or {}
    parts = []
    if placement.get("Row"):
        parts.append(f"Row {placement['Row']}")
    if placement.get("Rack"):
        parts.append(f"Rack {placement['Rack']}")
    offset = placement.get("RackOffset")
    if offset is not None and not isinstance(offset, bool):
        unit = RACK_UNITS.get(placement.get("RackOffsetUnits"))
        parts.append(f"{unit}{offset}" if unit else f"position {offset}")
    return ", ".join(parts)


def _is_cpu(processor) -> bool:
    status = getattr(processor, "status", None)
    if status is not None and status.state == State.ABSENT:
        return False
    return processor.processor_type in (None, ProcessorType.CPU)


class CpuFacts(NamedTuple):
    sockets: int | None
    cores: int | None
    threads: int | None


def cpu_facts(summary: dict, processors: list | None) -> CpuFacts:
    """Sockets, cores and threads from ProcessorSummary and the Processors members.

    ``processors`` holds sushy Processor resources (None when the system lists none). Only
    CPUs count; a processor of no stated type is taken for one, as older BMCs leave it out,
    and an empty socket (listed with state Absent) is no processor at all. sushy's own
    ``processors.summary.count`` adds up threads, so it is not used for sockets.
    """
    cpus = None
    if processors is not None:
        cpus = [p for p in processors if _is_cpu(p)]

    # Some BMCs say 0 when they do not know; the processors listed know better then.
    sockets = _int(summary.get("Count"))
    if not sockets and cpus:
        sockets = len(cpus)
    cores = _total(p.total_cores for p in cpus) if cpus else None
    threads = _total(p.total_threads for p in cpus) if cpus else None
    if cores is None:
        cores = _int(summary.get("CoreCount"))
    if threads is None:
        threads = _int(summary.get("LogicalProcessorCount"))
    return CpuFacts(sockets, cores, threads)


def choose_reset(action: str, allowed: Collection[ResetType], where: str) -> ResetType:
    """The first reset type for ``action`` the system allows, or a ProviderError saying so."""
    for reset in RESET_TYPES[action]:
        if reset in allowed:
            return reset
    wanted = " or ".join(reset.value for reset in RESET_TYPES[action])
    offered = ", ".join(sorted(reset.value for reset in allowed)) or "nothing"
    hint = " Use force_off to cut the power instead." if action == PowerAction.OFF else ""
    raise ProviderError(f"{where} does not offer {wanted} (it allows {offered}).{hint}")


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tls_reason(cause: BaseException) -> str:
    """"self-signed certificate", not urllib3's three nested exception reprs around it."""
    text = str(cause)
    found = TLS_VERIFY_FAILED.search(text) or TLS_ALERT.search(text)
    return found[1].strip() if found else "the TLS handshake failed"


def _connection_reason(cause: BaseException | None) -> str:
    text = str(cause or "").lower()
    for needle, reason in CONNECTION_REASONS:
        if needle in text:
            return reason
    return _short(cause) if cause else "no reason given"


# --- the driver -------------------------------------------------------------------------------

class RedfishDriver(Driver):
    """Reads the systems behind each BMC; powers them on, off and round."""

    kind = "redfish"

    def __init__(self, settings, credentials):
        super().__init__(settings, credentials)
        self._ca_dir: str | None = None
        self._ca_files: dict[str, str] = {}
        self._ca_lock = threading.Lock()
        # For power actions and their polling: one connection per BMC, and system paths.
        self._roots: dict[str, sushy.Sushy] = {}
        self._paths: dict[str, str] = {}

    # --- settings and the one seam to the BMCs -------------------------------------------------

    def option(self, name: str) -> Any:
        value = self.settings.get(name)
        return DEFAULTS[name] if value in (None, "") else value

    def bmcs(self) -> list[Bmc]:
        """The configured BMCs, each with its own login."""
        listed = self.settings.get("bmcs") or []
        if not isinstance(listed, list) or not listed:
            raise ProviderError("This Redfish provider lists no BMCs: add one with its name "
                                "and URL to the settings.")
        logins = self.credentials.get("bmcs") or {}
        bmcs = []
        for number, entry in enumerate(listed, start=1):
            if not isinstance(entry, dict) or not entry.get("name") or not entry.get("url"):
                raise ProviderError(f"BMC {number} in the settings needs a name and a url.")
            name = str(entry["name"])
            own = logins.get(name) if isinstance(logins, dict) else None
            own = own if isinstance(own, dict) else {}
            bmcs.append(Bmc(
                name=name,
                url=root_url(str(entry["url"])),
                verify=entry.get("verify", True) is not False,
                ca_cert=entry.get("ca_cert") or "",
                username=own.get("username") or self.credentials.get("username") or "",
                password=own.get("password") or self.credentials.get("password") or "",
            ))
        return bmcs

    def find_bmc(self, name: str) -> Bmc:
        for bmc in self.bmcs():
            if bmc.name == name:
                return bmc
        raise ProviderError(f"This provider has no BMC named {name!r}.")

    def verify_for(self, bmc: Bmc) -> bool | str:
        """What requests' ``verify`` gets: False, True, or the path of the BMC's CA file."""
        if not bmc.verify:
            return False
        if not bmc.ca_cert:
            return True
        with self._ca_lock:
            if bmc.name not in self._ca_files:
                if self._ca_dir is None:
                    # Private to this process's user, and gone with the driver.
                    self._ca_dir = tempfile.mkdtemp(prefix="redfish-ca-")
                    weakref.finalize(self, shutil.rmtree, self._ca_dir, True)
                path = os.path.join(self._ca_dir, f"{bmc.name}.pem")
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(bmc.ca_cert)
                self._ca_files[bmc.name] = path
            return self._ca_files[bmc.name]

    def connect(self, bmc: Bmc) -> sushy.Sushy:
        """A sushy client for ``bmc``: every request to a BMC goes through one of these."""
        if bmc.password and not bmc.username:
            raise ProviderAuthError(f"{bmc.where} has a password but no username: add the "
                                    "username to the credentials.")
        auth = BasicAuth(bmc.username, bmc.password) if bmc.username else NoAuth()
        timeout = float(self.option("timeout"))
        return sushy.Sushy(
            bmc.url, auth=auth, verify=self.verify_for(bmc),
            read_timeout=timeout, connect_timeout=timeout,
            server_side_retries=SUSHY_RETRIES, server_side_retries_delay=RETRY_DELAY,
        )

    # --- turning failures into sentences -------------------------------------------------------

    def error(self, exc: Exception, bmc: Bmc) -> ProviderError:
        """A ProviderError (or ProviderAuthError) saying what went wrong, for a person."""
        where = bmc.where
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, sushy_errors.AccessError):
            if exc.status_code == 403:
                return ProviderError(
                    f"{where} accepted the login but refused access (HTTP 403): the account "
                    "needs at least read-only rights to the systems."
                )
            if not bmc.username:
                return ProviderAuthError(
                    f"{where} asks for a login (HTTP {exc.status_code}) and none is set: add "
                    "a username and password to the credentials."
                )
            return ProviderAuthError(
                f"{where} rejected the username and password (HTTP {exc.status_code}): check "
                "the login set for this BMC."
            )
        if isinstance(exc, sushy_errors.ConnectionError):
            return self._connection_error(exc.__context__, bmc)
        if isinstance(exc, sushy_errors.ResourceNotFoundError):
            # sushy keeps the URL only in its message ("Resource <url> not found").
            found = MISSING_URL.search(str(exc))
            path = f", {urlsplit(found[1]).path}" if found else ""
            return ProviderError(
                f"{where} has no such Redfish resource (HTTP 404{path}): is the URL that of a "
                "Redfish service?"
            )
        if isinstance(exc, sushy_errors.HTTPError):
            detail = _short(exc.detail or exc.code or "no details given")
            return ProviderError(f"{where} answered with an error: {detail} "
                                 f"(HTTP {exc.status_code}).")
        if isinstance(exc, json.JSONDecodeError):
            return ProviderError(
                f"{where} answered with something that is not JSON: is the URL that of a "
                "Redfish service?"
            )
        if isinstance(exc, sushy_errors.MissingAttributeError | sushy_errors.MissingActionError):
            return ProviderError(
                f"{where} answered without something Redfish requires: {_short(exc)}"
            )
        return ProviderError(f"{where} could not be read: {_short(exc)}")

    def _connection_error(self, cause: BaseException | None, bmc: Bmc) -> ProviderError:
        timeout = self.option("timeout")
        tries = f"{SUSHY_RETRIES} attempt(s)"
        if isinstance(cause, requests.exceptions.SSLError):
            return ProviderError(
                f"Could not reach {bmc.where}: its TLS certificate was not accepted "
                f"({_tls_reason(cause)}). Give the CA that signed it as ca_cert, or set "
                "verify to false."
            )
        if isinstance(cause, requests.exceptions.ConnectTimeout):
            return ProviderError(f"Could not reach {bmc.where}: no connection within "
                                 f"{timeout} s ({tries}).")
        if isinstance(cause, requests.exceptions.Timeout):
            return ProviderError(f"{bmc.where} did not answer within {timeout} s ({tries}).")
        return ProviderError(f"Could not reach {bmc.where}: {_connection_reason(cause)}.")

    def _call(self, bmc: Bmc, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (sushy_errors.SushyError, json.JSONDecodeError) as exc:
            if isinstance(exc, sushy_errors.ConnectionError | json.JSONDecodeError):
                # The BMC may be back (or fixed) by the next call: connect afresh then.
                self._roots.pop(bmc.name, None)
            raise self.error(exc, bmc) from exc

    # --- reading ------------------------------------------------------------------------------

    def _each_bmc(self, bmcs: list[Bmc],
                  read: Callable[[Bmc], BmcReading]) -> Iterator[tuple[Bmc, BmcReading]]:
        """``read`` every BMC, several at once, yielding the readings in the settings' order."""
        pool = ThreadPoolExecutor(max_workers=min(PARALLEL_BMCS, len(bmcs)),
                                  thread_name_prefix="redfish")
        try:
            futures = [(bmc, pool.submit(self._guarded, read, bmc)) for bmc in bmcs]
            for bmc, future in futures:
                yield bmc, future.result()
        finally:
            # A consumer that stops early must not wait for BMCs nobody will look at.
            pool.shutdown(wait=False, cancel_futures=True)

    def _guarded(self, read: Callable[[Bmc], BmcReading], bmc: Bmc) -> BmcReading:
        try:
            return read(bmc)
        except (sushy_errors.SushyError, json.JSONDecodeError, ProviderError) as exc:
            failure = self.error(exc, bmc)
            unexpected = not isinstance(
                exc, sushy_errors.ConnectionError | sushy_errors.AccessError | ProviderError
            )
            (logger.warning if unexpected else logger.debug)(
                "%s could not be read: %s", bmc.where, failure
            )
            return BmcReading(failure=failure)
        except Exception as exc:
            # A BMC's answers are input we do not control: a shape nobody foresaw fails that
            # BMC, not the whole sync.
            logger.exception("%s gave an answer the driver could not read", bmc.where)
            return BmcReading(failure=ProviderError(
                f"{bmc.where} gave an answer the portal could not read "
                f"({exc.__class__.__name__}: {_short(exc)})."
            ))

    def read_bmc(self, bmc: Bmc) -> BmcReading:
        """Every system behind ``bmc`` as a HostRecord."""
        root = self.connect(bmc)
        systems = root.get_system_collection().get_members()
        reading = BmcReading(systems=len(systems))
        locations: dict[str, str] = {}
        for system in systems:
            try:
                reading.records.append(self.record(bmc, root, system, len(systems), locations))
            except (sushy_errors.SushyError, json.JSONDecodeError) as exc:
                # The systems read so far are still reported (and refreshed); the failure
                # keeps the scope from being taken as read whole.
                reading.failure = self.error(exc, bmc)
                break
        logger.debug("%s lists %d system(s)", bmc.where, len(systems))
        return reading

    def probe_bmc(self, bmc: Bmc) -> BmcReading:
        """Connect and count the systems, reading none of them (for ``check``)."""
        root = self.connect(bmc)
        return BmcReading(systems=len(root.get_system_collection().members_identities))

    def record(self, bmc: Bmc, root: sushy.Sushy, system, siblings: int,
               locations: dict[str, str]) -> HostRecord:
        """One system as a HostRecord. ``locations`` caches chassis positions per BMC."""
        doc = system.json or {}
        identity = str(system.identity)
        word = doc.get("PowerState") if isinstance(doc.get("PowerState"), str) else ""
        cpus = cpu_facts(doc.get("ProcessorSummary") or {}, self._processors(system))
        macs, addresses = self._interfaces(system)

        return HostRecord(
            scope=bmc.name,
            external_id=f"{bmc.name}/{identity}",
            name=self._name(bmc, doc, identity, siblings),
            kind=HostKind.BARE_METAL,
            state=STATES.get(word, HostState.UNKNOWN),
            provider_status=word,
            sockets=cpus.sockets,
            cores=cpus.cores,
            threads=cpus.threads,
            vcpus=cpus.threads,
            memory_mib=memory_mib(doc.get("MemorySummary") or {}),
            system_uuid=str(system.uuid or "").lower(),
            serial=str(system.serial_number or ""),
            manufacturer=str(system.manufacturer or ""),
            model=str(system.model or ""),
            bios_version=str(system.bios_version or ""),
            mac_addresses=macs,
            addresses=addresses,
            location=self._location(bmc, root, doc, locations) or bmc.name,
        )

    @staticmethod
    def _name(bmc: Bmc, doc: dict, identity: str, siblings: int) -> str:
        for candidate in (doc.get("HostName"), doc.get("Name")):
            if isinstance(candidate, str) and candidate.strip():
                if candidate.strip().lower() not in GENERIC_NAMES:
                    return candidate.strip()
        return bmc.name if siblings == 1 else f"{bmc.name}/{identity}"

    @staticmethod
    def _processors(system) -> list | None:
        try:
            return system.processors.get_members()
        except sushy_errors.MissingAttributeError:
            return None

    @staticmethod
    def _interfaces(system) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The system's MAC addresses (lower case) and the IP addresses its NICs report."""
        try:
            interfaces = system.ethernet_interfaces.get_members()
        except sushy_errors.MissingAttributeError:
            return (), ()
        macs, addresses = [], []
        for interface in interfaces:
            macs.append(normalise_mac(interface.mac_address or
                                      interface.permanent_mac_address))
            doc = interface.json or {}
            for key in ("IPv4Addresses", "IPv6Addresses"):
                for entry in doc.get(key) or []:
                    address = entry.get("Address") if isinstance(entry, dict) else None
                    # BMCs fill unconfigured slots with zeros; link-local ones say nothing.
                    if address and address not in {"0.0.0.0", "::"} and not (
                        address.lower().startswith("fe80:")
                    ):
                        addresses.append(address)
        return (tuple(dict.fromkeys(mac for mac in macs if mac)),
                tuple(dict.fromkeys(addresses)))

    @staticmethod
    def _location(bmc: Bmc, root: sushy.Sushy, doc: dict, locations: dict[str, str]) -> str:
        """The rack position of the system's first chassis; "" if none is given or readable."""
        chassis = ((doc.get("Links") or {}).get("Chassis") or [{}])[0]
        path = chassis.get("@odata.id") if isinstance(chassis, dict) else None
        if not path:
            return ""
        if path not in locations:
            try:
                locations[path] = location_of(root.get_chassis(path).json or {})
            except (sushy_errors.SushyError, json.JSONDecodeError) as exc:
                # Only the position is lost; the host's other facts are good.
                logger.warning("%s: chassis %s unreadable: %s", bmc.where, path, _short(exc))
                locations[path] = ""
        return locations[path]

    def discover(self) -> Iterator[Item]:
        bmcs = self.bmcs()
        yield ScopePlan(tuple(bmc.name for bmc in bmcs))

        for bmc, reading in self._each_bmc(bmcs, self.read_bmc):
            yield from reading.records
            if reading.failure is not None:
                yield ScopeFailed(bmc.name, str(reading.failure))
            else:
                yield ScopeDone(bmc.name)

    def check(self) -> str:
        """Connect to every BMC: a summary when at least one answers, else a ProviderError."""
        bmcs = self.bmcs()
        readings = list(self._each_bmc(bmcs, self.probe_bmc))
        failures = [reading.failure for _, reading in readings if reading.failure]
        if len(failures) == len(bmcs):
            reasons = " ".join(str(failure) for failure in failures)
            rejected = all(isinstance(failure, ProviderAuthError) for failure in failures)
            error = ProviderAuthError if rejected else ProviderError
            raise error(f"No BMC answered. {reasons}")

        systems = sum(reading.systems for _, reading in readings if not reading.failure)
        answered = len(bmcs) - len(failures)
        summary = (f"{answered} of {len(bmcs)} BMCs answered, {systems} "
                   f"system{'s' if systems != 1 else ''}")
        if failures:
            summary += ". Not answering: " + " ".join(str(failure) for failure in failures)
        return summary

    # --- acting -------------------------------------------------------------------------------

    def locate(self, external_id: str) -> tuple[Bmc, str]:
        """``(bmc, system id)`` for an external id ``<bmc name>/<system id>``."""
        name, _, identity = external_id.strip().partition("/")
        if not name or not identity:
            raise ProviderError(f"{external_id!r} is not a Redfish host id "
                                "(<bmc name>/<system id>).")
        return self.find_bmc(name), identity

    def _root(self, bmc: Bmc) -> sushy.Sushy:
        if bmc.name not in self._roots:
            self._roots[bmc.name] = self._call(bmc, lambda: self.connect(bmc))
        return self._roots[bmc.name]

    def system(self, external_id: str):
        """``(bmc, sushy System)`` for ``external_id``, the system read fresh from its BMC."""
        bmc, identity = self.locate(external_id)
        root = self._root(bmc)

        if external_id not in self._paths:
            members = self._call(bmc, lambda: root.get_system_collection().members_identities)
            paths = {path.rstrip("/").rpartition("/")[2]: path for path in members}
            if identity not in paths:
                raise ProviderError(f"{bmc.where} no longer lists a system {identity!r}.")
            self._paths[external_id] = paths[identity]

        # get_system builds a new resource, so this is always a fresh GET, never sushy's cache.
        path = self._paths[external_id]
        try:
            return bmc, self._call(bmc, lambda: root.get_system(path))
        except ProviderError as exc:
            if not isinstance(exc.__cause__, sushy_errors.ResourceNotFoundError):
                raise
            self._paths.pop(external_id, None)
            raise ProviderError(f"{bmc.where} no longer lists a system {identity!r}.") from exc

    def power(self, external_id: str, action: str) -> None:
        """Ask the BMC for one of ``PowerAction.ALL``; returns once it accepted the request."""
        if action not in RESET_TYPES:
            raise ProviderError(
                f"Unknown power action {action!r}: use one of {', '.join(RESET_TYPES)}."
            )

        bmc, system = self.system(external_id)
        word = (system.json or {}).get("PowerState")
        if ALREADY.get(action) == word:
            logger.info("%s: system %s is already %s; nothing to do for %s",
                        bmc.where, system.identity, word, action)
            return

        where = f"{bmc.where}, system {system.identity}"
        allowed = self._call(bmc, system.get_allowed_reset_system_values)
        reset = choose_reset(action, allowed, where)
        self._call(bmc, lambda: system.reset_system(reset))
        logger.info("asked %s to %s system %s (%s)", bmc.where, action, system.identity,
                    reset.value)

    def power_state(self, external_id: str) -> str:
        _, system = self.system(external_id)
        word = (system.json or {}).get("PowerState")
        return STATES.get(word, HostState.UNKNOWN) if isinstance(word, str) else HostState.UNKNOWN
