"""The driver interface every provider implements, and the records drivers yield.

A driver's ``discover()`` yields a stream of items grouped by *scope* (an AWS region, an
OpenStack region, a Redfish endpoint, a Kubernetes cluster):

    ScopePlan(scopes=(...))        optional, first: the scopes about to be read (for progress)
    HostRecord(scope="eu-west-1")  any number, each naming its scope
    ScopeDone("eu-west-1")         the scope was read whole: anything not seen there is gone
    ScopeFailed("us-east-1", msg)  the scope could not be read whole: nothing there is archived
    ProjectRecord(...)             any number: a project/account the provider holds hosts for

A host may name another host of the same provider as its ``parent_external_id`` (a server and
the hypervisor it runs on); the engine links the two once both are stored.

The sync engine only archives inside scopes that ended with ``ScopeDone``, so a provider that
times out or throttles never makes inventory disappear.
"""

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


class ProviderError(Exception):
    """A provider could not be reached or refused us; the message is meant for a person."""


class ProviderAuthError(ProviderError):
    """The provider rejected the credentials."""


class NotSupported(ProviderError):
    """The provider cannot do this (for example, power actions on a cloud that has none)."""


class HostKind:
    BARE_METAL = "bare_metal"
    VIRTUAL = "virtual"


class PowerAction:
    """The power actions the portal offers; drivers map them onto their provider's calls."""

    ON = "on"
    OFF = "off"  # graceful: the operating system is asked to shut down
    FORCE_OFF = "force_off"
    RESTART = "restart"

    ALL = (ON, OFF, FORCE_OFF, RESTART)


class HostState:
    """Normalised host states; drivers map their provider's words onto these."""

    PENDING = "pending"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    TERMINATED = "terminated"
    ERROR = "error"
    UNKNOWN = "unknown"

    # A host accrues usage (and so cost) only in these states.
    BILLABLE = frozenset({RUNNING})
    # Every state, in the order people read them: busy first, gone last.
    ALL = (RUNNING, PENDING, STOPPING, STOPPED, ERROR, UNKNOWN, TERMINATED)


@dataclass(frozen=True)
class HostRecord:
    """One host as the provider describes it right now."""

    scope: str
    external_id: str
    name: str
    kind: str = HostKind.VIRTUAL
    state: str = HostState.UNKNOWN
    region: str = ""
    zone: str = ""
    instance_type: str = ""
    sockets: int | None = None
    cores: int | None = None
    vcpus: int | None = None
    memory_mib: int | None = None
    os: str = ""
    system_uuid: str = ""
    addresses: tuple[str, ...] = ()
    launched_at: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Hardware identity, mostly from BMCs and bare-metal services.
    threads: int | None = None
    serial: str = ""
    manufacturer: str = ""
    model: str = ""
    bios_version: str = ""
    mac_addresses: tuple[str, ...] = ()
    location: str = ""
    # The provider's own word for the host's condition when ``state`` loses detail, such as
    # Nova's "SHUTOFF" or Ironic's provision state "active".
    provider_status: str = ""
    # The provider-side project or account the host belongs to (see ProjectRecord).
    project: str = ""
    # The external id of the host this one runs on, in the same provider.
    parent_external_id: str = ""


@dataclass(frozen=True)
class ProjectRecord:
    """A project, account or namespace of the provider, so it can be mapped to a tenant."""

    external_id: str
    name: str
    domain: str = ""
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class ScopePlan:
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ScopeDone:
    scope: str


@dataclass(frozen=True)
class ScopeFailed:
    scope: str
    error: str


Item = HostRecord | ProjectRecord | ScopePlan | ScopeDone | ScopeFailed


class Driver(abc.ABC):
    """Built from a Provider's settings and decrypted credentials; never touches the database."""

    kind: ClassVar[str]

    def __init__(self, settings: Mapping[str, Any], credentials: Mapping[str, Any]):
        self.settings = dict(settings or {})
        self.credentials = dict(credentials or {})

    @abc.abstractmethod
    def check(self) -> str:
        """Prove the credentials and endpoints work; return a one-line summary for a person.

        Raises ``ProviderError`` (or ``ProviderAuthError``) with a message a person can act on.
        """

    @abc.abstractmethod
    def discover(self) -> Iterator[Item]:
        """Yield records grouped by scope, as the module docstring describes."""

    def provision(self, spec: Mapping[str, Any]) -> list[str]:
        raise NotSupported(f"{self.kind} providers cannot provision hosts.")

    def retire(self, external_id: str) -> None:
        raise NotSupported(f"{self.kind} providers cannot retire hosts.")

    def power(self, external_id: str, action: str) -> None:
        """Ask for one of ``PowerAction.ALL``; returns once the provider accepted the request.

        The change itself may land later: callers confirm it with ``power_state``.
        """
        raise NotSupported(f"{self.kind} providers cannot change a host's power state.")

    def power_state(self, external_id: str) -> str:
        """The host's current ``HostState``, read fresh from the provider."""
        raise NotSupported(f"{self.kind} providers cannot read a host's power state.")
