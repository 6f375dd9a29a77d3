"""OpenStack: servers and hypervisors (Nova) and bare-metal nodes (Ironic), read with openstacksdk.

Settings (``Provider.settings``):

    auth_url             the identity (Keystone) URL, such as https://keystone.example:5000/v3
    auth_type            "password" (user name and password), "v3applicationcredential" (an
                         application credential id and secret) or "none" (no identity service:
                         every service needs an endpoint override; a standalone Ironic)
    cloud                the entry of the ``clouds_yaml`` credential to use (needed only when it
                         holds more than one); every explicit setting overrides the entry
    project_name         the project to scope the token to (the user's default project if absent)
    project_domain_name  that project's domain ("Default")
    user_domain_name     the user's domain ("Default")
    regions              region names to read; empty or absent means every region whose catalog
                         has one of the services
    interface            the catalog interface to use: "public" (the default), "internal", "admin"
    verify               check the endpoints' TLS certificates (true)
    ca_cert              PEM text of the CA certificate(s) to trust, for a private CA
    services             which services to read: any of "compute" and "baremetal" (both)
    endpoint_overrides   {"compute" | "baremetal": URL}: use this URL instead of the catalog's.
                         One URL serves one service, so an overridden service is read once,
                         under the first region's name
    all_projects         list the servers of every project (true; needs the admin role) or only
                         those of the token's project
    page_size            servers and nodes asked for per page, 10 to 1000 (1000)
    timeout              seconds to wait for any one answer (30)

Credentials: ``username`` and ``password``, or ``application_credential_id`` and
``application_credential_secret``, or ``clouds_yaml``: the text of a clouds.yaml (never a path)
whose entry supplies any of the above. The driver never reads the portal host's own
clouds.yaml or ``OS_*`` environment variables: a provider without credentials would otherwise
silently read whatever cloud the host is configured for.

Scopes are "<region>/hypervisors" and "<region>/compute" (servers) for a region with a compute
service, and "<region>/baremetal" for one with Ironic; a service missing from a region is no
scope at all, not a failure. External ids:

    <server uuid>                        a Nova server (virtual)
    hypervisor/<region>/<hostname>       a Nova hypervisor (bare metal; servers name it as
                                         their parent)
    node/<uuid>                          an Ironic node (bare metal)

Listing hypervisors needs the admin role. Without it the hypervisors scope is left unread
(neither done nor failed, so hypervisors seen before are kept, not archived); servers keep
their link to a hypervisor only where Nova still names it (by default it shows that field to
admins alone).
"""

import logging
import os
import tempfile
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

import openstack
import requests
import yaml
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions
from openstack import utils as sdk_utils
from openstack import warnings as sdk_warnings
from openstack.config import cloud_region

from providers.base import (
    Driver,
    HostKind,
    HostRecord,
    HostState,
    Item,
    NotSupported,
    PowerAction,
    ProjectRecord,
    ProviderAuthError,
    ProviderError,
    ScopeDone,
    ScopeFailed,
    ScopePlan,
)

logger = logging.getLogger(__name__)

DEFAULTS = {
    "interface": "public",
    "verify": True,
    "services": ["compute", "baremetal"],
    "all_projects": True,
    "page_size": 1000,
    "timeout": 30,
}
LABELS = {"compute": "compute (Nova)", "baremetal": "bare-metal (Ironic)",
          "identity": "identity (Keystone)", "image": "image (Glance)",
          "network": "network (Neutron)"}
# Without identity there is no catalog to name regions; this is OpenStack's default name.
DEFAULT_REGION = "RegionOne"
# Nova dropped vCPUs and memory from hypervisor answers in 2.88; 2.87 still has them.
HYPERVISOR_MICROVERSION = "2.87"
# Nova behind a busy load balancer answers 503 (or 429 when rate-limited): worth two more tries,
# which keystoneauth spaces out exponentially. Ironic's own defaults (409 and 503, five tries)
# already cover a node locked by its conductor.
RETRIES = {"compute_status_code_retries": 2, "compute_retriable_status_codes": [429, 503]}
# A new server is asked for again after this many seconds, growing to the cap.
FIRST_POLL, POLL_FACTOR, MAX_POLL = 0.25, 1.5, 5.0
DEFAULT_BUILD_TIMEOUT = 600

SERVER_STATES = {
    "ACTIVE": HostState.RUNNING,
    # The guest keeps running through these; they are moments in an active server's life.
    "REBOOT": HostState.RUNNING,
    "HARD_REBOOT": HostState.RUNNING,
    "PASSWORD": HostState.RUNNING,
    "MIGRATING": HostState.RUNNING,
    "RESCUE": HostState.RUNNING,
    "RESIZE": HostState.RUNNING,
    "VERIFY_RESIZE": HostState.RUNNING,
    "REVERT_RESIZE": HostState.RUNNING,
    "BUILD": HostState.PENDING,
    "REBUILD": HostState.PENDING,
    "SHUTOFF": HostState.STOPPED,
    "SUSPENDED": HostState.STOPPED,
    "PAUSED": HostState.STOPPED,
    "SHELVED": HostState.STOPPED,
    "SHELVED_OFFLOADED": HostState.STOPPED,
    "ERROR": HostState.ERROR,
    "DELETED": HostState.TERMINATED,
    "SOFT_DELETED": HostState.TERMINATED,
    "UNKNOWN": HostState.UNKNOWN,
}
NODE_POWER_STATES = {"power on": HostState.RUNNING, "power off": HostState.STOPPED,
                     "error": HostState.ERROR}
# A hypervisor that is "down" has only stopped reporting to Nova: it may be off or crashed.
HYPERVISOR_STATES = {"up": HostState.RUNNING, "down": HostState.UNKNOWN}

# The portal's power actions as Nova server actions. Nova's stop already shuts the guest down
# and pulls the plug when it does not comply in time; there is no harder stop to ask for, so
# force_off is a stop too. A soft reboot falls back to a hard one inside Nova.
SERVER_ACTIONS = {
    PowerAction.ON: ("start_server", {}, HostState.RUNNING),
    PowerAction.OFF: ("stop_server", {}, HostState.STOPPED),
    PowerAction.FORCE_OFF: ("stop_server", {}, HostState.STOPPED),
    PowerAction.RESTART: ("reboot_server", {"reboot_type": "SOFT"}, HostState.RUNNING),
}
# The same for Ironic nodes. Restart is Ironic's hard reboot: its soft reboot has no fallback,
# so a hung operating system would never come back.
NODE_TARGETS = {
    PowerAction.ON: "power on",
    PowerAction.OFF: "soft power off",
    PowerAction.FORCE_OFF: "power off",
    PowerAction.RESTART: "rebooting",
}

# Operating-system errors behind a failed connection, in the words an operator would use.
CONNECTION_REASONS = (
    ("refused", "connection refused"),
    ("name or service not known", "the host name could not be resolved"),
    ("temporary failure in name resolution", "the host name could not be resolved"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "the network is unreachable"),
    ("timed out", "it did not answer in time"),
    ("certificate", "its TLS certificate was not accepted"),
)

# What a service's request can raise when it fails; anything else is a bug to see in full.
READ_ERRORS = (
    sdk_exceptions.SDKException, ks_exceptions.ClientException,
    requests.RequestException, ValueError, KeyError, TypeError, AttributeError,
)


def _short(text: Any, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _connection_reason(exc: Exception) -> str:
    text = str(exc).lower()
    for needle, reason in CONNECTION_REASONS:
        if needle in text:
            return reason
    return "the connection failed"


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> datetime | None:
    """An OpenStack timestamp as an aware UTC datetime; they are UTC with or without a zone."""
    if not value or not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- mapping answers to records --------------------------------------------------------------

class HypervisorsForbidden(Exception):
    """The credentials may not list hypervisors: the scope is skipped, not failed."""


def hypervisor_id(region: str, hostname: str) -> str:
    return f"hypervisor/{region}/{hostname}"


def server_record(server, scope: str, region: str, flavor=None) -> HostRecord:
    """One Nova server as a HostRecord; ``flavor`` when the server carries only its id."""
    flavor = flavor or server.flavor
    addresses, macs = [], []
    for entries in (server.addresses or {}).values():
        for entry in entries or []:
            addresses.append(entry.get("addr"))
            macs.append(entry.get("OS-EXT-IPS-MAC:mac_addr"))
    hypervisor = server.hypervisor_hostname or ""
    return HostRecord(
        scope=scope,
        external_id=server.id,
        name=server.name or server.id,
        kind=HostKind.VIRTUAL,
        state=SERVER_STATES.get((server.status or "").upper(), HostState.UNKNOWN),
        provider_status=server.status or "",
        region=region,
        zone=server.availability_zone or "",
        project=server.project_id or "",
        instance_type=(getattr(flavor, "original_name", None) or getattr(flavor, "name", None)
                       or "") if flavor else "",
        vcpus=_int(getattr(flavor, "vcpus", None)) or None,
        memory_mib=_int(getattr(flavor, "ram", None)) or None,
        # A KVM guest's SMBIOS system UUID is its Nova id, which is what links a Kubernetes
        # node running in the server to it.
        system_uuid=server.id,
        addresses=tuple(dict.fromkeys(a for a in addresses if a)),
        mac_addresses=tuple(dict.fromkeys(m for m in macs if m)),
        tags={str(key): str(value) for key, value in (server.metadata or {}).items()},
        launched_at=_time(server.launched_at) or _time(server.created_at),
        parent_external_id=hypervisor_id(region, hypervisor) if hypervisor else "",
    )


def hypervisor_record(hypervisor, scope: str, region: str) -> HostRecord:
    """One Nova hypervisor as a bare-metal HostRecord."""
    with warnings.catch_warnings():
        # Deprecated in the SDK, since Nova dropped them in 2.88 (see _hypervisors).
        warnings.simplefilter("ignore", sdk_warnings.RemovedFieldWarning)
        vcpus, memory = _int(hypervisor.vcpus), _int(hypervisor.memory_size)
    cpu_info = hypervisor.cpu_info if isinstance(hypervisor.cpu_info, dict) else {}
    topology = cpu_info.get("topology") or {}
    sockets, per_socket = _int(topology.get("sockets")), _int(topology.get("cores"))
    threads_per_core = _int(topology.get("threads"))
    cores = sockets * per_socket if sockets and per_socket else None
    state, status = hypervisor.state or "", hypervisor.status or ""
    return HostRecord(
        scope=scope,
        external_id=hypervisor_id(region, hypervisor.name),
        name=hypervisor.name,
        kind=HostKind.BARE_METAL,
        state=HYPERVISOR_STATES.get(state, HostState.UNKNOWN),
        provider_status=", ".join(word for word in (state, status) if word),
        region=region,
        sockets=sockets,
        cores=cores,
        threads=cores * threads_per_core if cores and threads_per_core else None,
        vcpus=vcpus,
        memory_mib=memory,
        addresses=(hypervisor.host_ip,) if hypervisor.host_ip else (),
    )


def node_state(power_state: str | None, target: str | None = None) -> str:
    """An Ironic power state (and the one it is heading for) as a HostState."""
    if target == "power off" and power_state == "power on":
        return HostState.STOPPING
    if target == "power on" and power_state == "power off":
        return HostState.PENDING
    return NODE_POWER_STATES.get(power_state or "", HostState.UNKNOWN)


def node_record(node, scope: str, region: str) -> HostRecord:
    """One Ironic node as a bare-metal HostRecord."""
    properties = node.properties or {}
    status = node.provision_state or ""
    if node.is_maintenance:
        status = f"{status} (maintenance)".strip()
    return HostRecord(
        scope=scope,
        external_id=f"node/{node.id}",
        name=node.name or node.id,
        kind=HostKind.BARE_METAL,
        state=node_state(node.power_state, node.target_power_state),
        provider_status=status,
        region=region,
        instance_type=node.resource_class or "",
        cores=_int(properties.get("cpus")),
        memory_mib=_int(properties.get("memory_mb")),
        manufacturer=str(properties.get("vendor") or ""),
        # Ironic's owner is the project the node belongs to.
        project=node.owner or "",
        tags={str(key): str(value) for key, value in (node.extra or {}).items()
              if isinstance(value, str | int | float | bool)},
    )


# --- the driver ------------------------------------------------------------------------------

class OpenStackDriver(Driver):
    kind = "openstack"

    def __init__(self, settings, credentials):
        super().__init__(settings, credentials)
        self._config: dict | None = None
        self._base = None
        self._connections: dict[str, openstack.connection.Connection] = {}

    def option(self, key: str) -> Any:
        value = self.settings.get(key)
        return DEFAULTS.get(key) if value is None else value

    @property
    def services(self) -> list[str]:
        return [s for s in self.option("services") if s in ("compute", "baremetal")]

    @property
    def timeout(self) -> float:
        return float(self.option("timeout"))

    # --- configuration -------------------------------------------------------------------------

    def _cloud_entry(self) -> dict:
        """The chosen entry of the clouds.yaml credential, or nothing."""
        text = self.credentials.get("clouds_yaml")
        if not text:
            return {}
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            # YAML's own message quotes the offending line, which may hold a password.
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise ProviderError(
                f"The clouds.yaml in the credentials is not valid YAML{where}."
            ) from None
        clouds = document.get("clouds") if isinstance(document, dict) else None
        if not isinstance(clouds, dict) or not clouds:
            raise ProviderError("The clouds.yaml in the credentials has no 'clouds:' entries.")

        name = self.settings.get("cloud")
        if not name and len(clouds) == 1:
            name = next(iter(clouds))
        if name not in clouds or not isinstance(clouds[name], dict):
            known = ", ".join(sorted(map(str, clouds)))
            what = f"no cloud named {name!r}" if name else "more than one cloud"
            raise ProviderError(
                f"The clouds.yaml in the credentials has {what}; set 'cloud' to one of: {known}."
            )
        return deepcopy(clouds[name])

    def config(self) -> dict:
        """Keyword arguments for openstacksdk: the clouds.yaml entry, then explicit settings."""
        if self._config is not None:
            return self._config
        config = self._cloud_entry()
        auth = dict(config.get("auth") or {})
        if self.settings.get("project_name"):
            # A project named in the settings replaces the entry's, whether it gave a name or id.
            auth.pop("project_id", None)
        for key in ("auth_url", "project_name", "project_domain_name", "user_domain_name"):
            if self.settings.get(key):
                auth[key] = self.settings[key]
        for key in ("username", "password", "application_credential_id",
                    "application_credential_secret"):
            if self.credentials.get(key):
                auth[key] = self.credentials[key]

        auth_type = self.settings.get("auth_type") or config.get("auth_type")
        if not auth_type:
            app = auth.get("application_credential_id")
            auth_type = "v3applicationcredential" if app else "password"
        if auth_type == "password":
            # Keystone v3 needs a domain for names; nearly every cloud uses the default one.
            if auth.get("project_name") and not auth.get("project_domain_id"):
                auth.setdefault("project_domain_name", "Default")
            if auth.get("username") and not auth.get("user_domain_id"):
                auth.setdefault("user_domain_name", "Default")
        self._require(auth_type, auth)

        config["auth_type"] = auth_type
        config["auth"] = {} if auth_type == "none" else auth
        config["api_timeout"] = self.timeout
        config.update(RETRIES)
        config.setdefault("interface", self.option("interface"))
        if "interface" in self.settings:
            config["interface"] = self.settings["interface"]
        if "verify" in self.settings:
            config["verify"] = bool(self.settings["verify"])
        if self.settings.get("ca_cert"):
            config["cacert"] = self._ca_file(self.settings["ca_cert"])
        for service, url in (self.settings.get("endpoint_overrides") or {}).items():
            config[f"{service}_endpoint_override"] = url
        self._config = config
        return config

    def _require(self, auth_type: str, auth: dict) -> None:
        """Fail before any request when the settings cannot possibly authenticate."""
        needs = {
            "password": ("auth_url", "username", "password"),
            "v3password": ("auth_url", "username", "password"),
            "v3applicationcredential": ("auth_url", "application_credential_id",
                                        "application_credential_secret"),
        }.get(auth_type, ())
        missing = [key for key in needs if not auth.get(key)]
        if missing:
            names = " and ".join([", ".join(missing[:-1]), missing[-1]] if missing[:-1]
                                 else missing)
            raise ProviderAuthError(
                f"This OpenStack provider cannot sign in with {auth_type}: {names} "
                f"{'is' if len(missing) == 1 else 'are'} missing."
            )
        overrides = self.settings.get("endpoint_overrides") or {}
        if auth_type == "none" and not any(service in overrides for service in self.services):
            raise ProviderError(
                "With auth_type 'none' there is no catalog: give endpoint_overrides for "
                f"{' or '.join(self.services)}."
            )

    def _ca_file(self, pem: str) -> str:
        """The CA text in a private file for the TLS library, removed with the driver."""
        handle, path = tempfile.mkstemp(prefix="portal-openstack-ca-", suffix=".pem")
        with os.fdopen(handle, "w") as file:
            file.write(pem)
        weakref.finalize(self, _remove, path)
        return path

    # --- connections ---------------------------------------------------------------------------

    def _region_config(self):
        """The SDK's view of the first region: its session carries the token for all regions."""
        if self._base is None:
            config = dict(self.config())
            regions = self.configured_regions()
            config.pop("regions", None)
            config.pop("region_name", None)
            try:
                # Neither clouds.yaml files nor OS_* variables of this machine may leak in.
                self._base = openstack.config.get_cloud_region(
                    load_yaml_config=False, load_envvars=False, app_name="cloud-portal",
                    region_name=regions[0] if regions else None, **config,
                )
            except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as exc:
                raise ProviderError(f"The OpenStack settings are not usable: {_short(exc)}.")
        return self._base

    def connection(self, region: str) -> openstack.connection.Connection:
        """The SDK connection for ``region``: every OpenStack call goes through here."""
        if region not in self._connections:
            base = self._region_config()
            extra = {key: value for key, value in base.config.items()
                     if key not in ("auth", "auth_type", "region_name")}
            self._connections[region] = openstack.connection.Connection(
                config=cloud_region.from_session(
                    base.get_session(), region_name=region, app_name="cloud-portal", **extra
                ),
            )
        return self._connections[region]

    @property
    def authenticated(self) -> bool:
        return self.config()["auth_type"] != "none"

    def authenticate(self) -> None:
        """Get a token now, so a rejected login fails the whole run with a clear message."""
        if not self.authenticated:
            return
        session = self._region_config().get_session()
        try:
            session.get_auth_headers()
        except (ks_exceptions.ClientException, requests.RequestException) as exc:
            raise self.error(exc, "identity") from exc

    def _access(self):
        """Keystone's answer to our login: the catalog, user and project."""
        session = self._region_config().get_session()
        return session.auth.get_access(session)

    def configured_regions(self) -> list[str]:
        configured = self.settings.get("regions") or self.config().get("regions") or []
        names = [entry.get("name") if isinstance(entry, dict) else entry for entry in configured]
        names = [str(name).strip() for name in names if name and str(name).strip()]
        if not names and self.config().get("region_name"):
            names = [self.config()["region_name"]]
        return list(dict.fromkeys(names))

    def regions(self) -> list[str]:
        """The configured regions, or every region whose catalog has one of the services."""
        configured = self.configured_regions()
        if configured:
            return configured
        if not self.authenticated:
            return [DEFAULT_REGION]
        interface = self.config()["interface"]
        found = {
            endpoint.get("region_id") or endpoint.get("region")
            for entry in self._access().service_catalog.catalog or []
            if entry.get("type") in self.services
            for endpoint in entry.get("endpoints") or []
            if endpoint.get("interface") == interface
        }
        return sorted(region for region in found if region)

    def endpoint(self, region: str, service: str) -> str | None:
        """The URL the service is reached at in ``region``; None when the region lacks it."""
        override = (self.settings.get("endpoint_overrides") or {}).get(service)
        override = override or self.config().get(f"{service}_endpoint_override")
        if override:
            return override
        if not self.authenticated:
            return None
        return self._region_config().get_endpoint_from_catalog(
            service, self.config()["interface"], region
        )

    def overridden(self, service: str) -> bool:
        overrides = self.settings.get("endpoint_overrides") or {}
        return bool(overrides.get(service) or self.config().get(f"{service}_endpoint_override"))

    def plan(self) -> list[tuple[str, str]]:
        """``(region, service)`` pairs to read, in order; raises when there is none at all."""
        regions = self.regions()
        pairs = []
        for index, region in enumerate(regions):
            for service in self.services:
                # An overridden service is one endpoint: read it once, not once per region.
                if index and self.overridden(service):
                    continue
                if self.endpoint(region, service):
                    pairs.append((region, service))
                else:
                    logger.debug("OpenStack region %s offers no %s service; skipped",
                                 region, service)
        if not pairs:
            raise ProviderError(
                f"No region of {', '.join(regions) or 'the catalog'} offers "
                f"{' or '.join(self.services)} at the {self.config()['interface']} interface."
            )
        return pairs

    # --- turning failures into sentences -------------------------------------------------------

    def _rejected(self) -> str:
        auth = self.config()["auth"]
        what = ("the application credential" if "application_credential_id" in auth
                else "the user name and password")
        scope = f" for project {auth['project_name']}" if auth.get("project_name") else ""
        return f"OpenStack at {auth.get('auth_url')} rejected {what}{scope}"

    def error(self, exc: Exception, service: str, region: str = "") -> ProviderError:
        """A ProviderError (or ProviderAuthError) saying what went wrong, for a person."""
        if service == "identity":
            subject = f"the identity service at {self.config()['auth'].get('auth_url')}"
        else:
            url = self.endpoint(region, service) or "(no URL)"
            subject = f"the {LABELS.get(service, service)} endpoint {url} of {region}"
        sentence = subject[0].upper() + subject[1:]

        if isinstance(exc, ks_exceptions.Unauthorized) or (
            isinstance(exc, sdk_exceptions.HttpException) and exc.status_code == 401
        ):
            return ProviderAuthError(f"{self._rejected()} (HTTP 401).")
        if isinstance(exc, ks_exceptions.ConnectTimeout):
            return ProviderError(f"{sentence} did not answer within {self.timeout:g} s.")
        if isinstance(exc, ks_exceptions.ConnectionError | requests.ConnectionError):
            return ProviderError(f"Could not reach {subject}: {_connection_reason(exc)}.")
        if isinstance(exc, ks_exceptions.DiscoveryFailure):
            # Signing in starts by reading the identity version document; keystoneauth folds
            # every way that can fail into this one exception.
            reason = _connection_reason(exc)
            if reason == "the connection failed":
                reason = ("it did not answer with an identity version document"
                          if "version data" in str(exc) else _short(exc))
            return ProviderError(f"Could not sign in at {subject}: {reason}.")
        if isinstance(exc, sdk_exceptions.HttpException | ks_exceptions.HttpError):
            status = getattr(exc, "status_code", None) or getattr(exc, "http_status", None)
            details = _short(getattr(exc, "details", None) or getattr(exc, "message", None)
                             or exc).rstrip(".")
            tries = ""
            if service == "compute" and status in RETRIES["compute_retriable_status_codes"]:
                tries = f", after {RETRIES['compute_status_code_retries'] + 1} attempts"
            return ProviderError(f"{sentence} answered HTTP {status}: {details}{tries}.")
        if isinstance(exc, sdk_exceptions.NotSupported | sdk_exceptions.EndpointNotFound):
            return ProviderError(f"{sentence} did not describe its API versions "
                                 f"({self._diagnose(region, service)}).")
        if isinstance(exc, ValueError):
            return ProviderError(f"{sentence} sent an answer that is not valid JSON.")
        if isinstance(exc, KeyError | TypeError | AttributeError):
            return ProviderError(f"{sentence} sent an answer the portal could not understand.")
        return ProviderError(f"The request to {subject} failed: {_short(exc)}.")

    def _diagnose(self, region: str, service: str) -> str:
        """Why version discovery failed: the SDK only says that it did, so ask once more."""
        url = self.endpoint(region, service)
        try:
            answer = self._region_config().get_session().get(
                url, raise_exc=False, authenticated=self.authenticated, timeout=self.timeout
            )
        except ks_exceptions.ConnectTimeout:
            return f"no answer within {self.timeout:g} s"
        except (ks_exceptions.ClientException, requests.RequestException) as exc:
            return _connection_reason(exc)
        if answer.status_code >= 400:
            return f"HTTP {answer.status_code}"
        try:
            answer.json()
        except ValueError:
            return "its answer is not valid JSON"
        return "its answer names no version the SDK supports"

    def _call(self, service: str, region: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except READ_ERRORS as exc:
            raise self.error(exc, service, region) from exc

    # --- reading -------------------------------------------------------------------------------

    def _hypervisors(self, conn, scope: str, region: str) -> list[HostRecord] | None:
        """The region's hypervisors; None when the credentials may not list them."""
        pinned = sdk_utils.supports_microversion(conn.compute, HYPERVISOR_MICROVERSION)
        try:
            # The SDK marks the size fields deprecated (Nova dropped them in 2.88) and warns
            # as it reads each answer; at 2.87 they are still the only source of the size.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", sdk_warnings.RemovedFieldWarning)
                return [
                    hypervisor_record(hypervisor, scope, region)
                    for hypervisor in conn.compute.hypervisors(
                        details=True,
                        microversion=HYPERVISOR_MICROVERSION if pinned else None,
                    )
                ]
        except sdk_exceptions.ForbiddenException:
            logger.info("OpenStack %s: the user may not list hypervisors (it needs the admin "
                        "role); servers are read without them", region)
            return None

    def _servers(self, conn, scope: str, region: str) -> Iterator[HostRecord]:
        flavors: dict[str, Any] | None = None
        listing = conn.compute.servers(details=True, all_projects=self.option("all_projects"),
                                       limit=int(self.option("page_size")))
        for server in listing:
            flavor = server.flavor
            if flavor is not None and flavor.id and not flavor.original_name:
                # Before microversion 2.47 a server names its flavor only by id.
                if flavors is None:
                    flavors = {f.id: f for f in conn.compute.flavors(details=True)}
                flavor = flavors.get(flavor.id)
            yield server_record(server, scope, region, flavor)

    def _nodes(self, conn, scope: str, region: str) -> Iterator[HostRecord]:
        for node in conn.baremetal.nodes(details=True, limit=int(self.option("page_size"))):
            yield node_record(node, scope, region)

    def _read(self, region: str, service: str) -> Iterator[HostRecord]:
        conn = self.connection(region)
        scope = f"{region}/{service}"
        if service == "hypervisors":
            hypervisors = self._hypervisors(conn, scope, region)
            if hypervisors is None:
                raise HypervisorsForbidden(scope)
            yield from hypervisors
        elif service == "compute":
            yield from self._servers(conn, scope, region)
        else:
            yield from self._nodes(conn, scope, region)

    def scopes(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The (region, part) pairs read for the services planned: compute is two parts."""
        parts = []
        for region, service in pairs:
            if service == "compute":
                parts.append((region, "hypervisors"))
            parts.append((region, service))
        return parts

    def projects(self, region: str) -> list[ProjectRecord]:
        """The projects the credentials can see; the token's own one when listing is refused."""
        if not self.authenticated:
            return []
        access = self._access()
        own = ProjectRecord(access.project_id, access.project_name or access.project_id,
                            domain=access.project_domain_id or "")
        if not self.option("all_projects") or not access.project_id:
            return [own] if access.project_id else []

        identity = self.connection(region).identity
        for listing in (identity.projects, lambda: identity.user_projects(access.user_id)):
            try:
                return [
                    ProjectRecord(p.id, p.name or p.id, domain=p.domain_id or "",
                                  description=p.description or "",
                                  enabled=p.is_enabled is not False)
                    for p in listing()
                ]
            except sdk_exceptions.ForbiddenException:
                continue
            except READ_ERRORS as exc:
                logger.warning("OpenStack projects could not be listed, keeping only %s: %s",
                               own.name, self.error(exc, "identity"))
                break
        return [own]

    def discover(self) -> Iterator[Item]:
        self.authenticate()
        pairs = self.plan()
        parts = self.scopes(pairs)
        yield ScopePlan(tuple(f"{region}/{part}" for region, part in parts))
        yield from self.projects(pairs[0][0])

        for region, service in parts:
            scope = f"{region}/{service}"
            count, started = 0, time.monotonic()
            try:
                for record in self._read(region, service):
                    count += 1
                    yield record
            except HypervisorsForbidden:
                # Not read, so not done: the hypervisors seen before stay as they were.
                continue
            except READ_ERRORS as exc:
                # Hypervisors are read from the compute endpoint; errors name that endpoint.
                endpoint = "compute" if service == "hypervisors" else service
                failure = self.error(exc, endpoint, region)
                unexpected = isinstance(exc, ValueError | KeyError | TypeError | AttributeError)
                (logger.warning if unexpected else logger.info)(
                    "OpenStack scope %s could not be read: %s", scope, failure
                )
                yield ScopeFailed(scope, str(failure))
                continue
            logger.debug("OpenStack scope %s listed %d hosts in %.1fs", scope, count,
                         time.monotonic() - started)
            yield ScopeDone(scope)

    def check(self) -> str:
        self.authenticate()
        pairs = self.plan()
        for region, service in pairs:
            self._call(service, region, lambda r=region, s=service: self._probe(r, s))

        regions = list(dict.fromkeys(region for region, _ in pairs))
        services = list(dict.fromkeys(service for _, service in pairs))
        summary = (f"{_plural(len(regions), 'region')} ({', '.join(regions)}), "
                   f"services: {', '.join(services)}")
        if not self.authenticated:
            return f"{summary}; no identity service (auth_type none)"
        access = self._access()
        return f"{summary}; project {access.project_name or access.project_id}"

    def _probe(self, region: str, service: str) -> None:
        """One cheap authenticated request, proving the endpoint answers."""
        proxy = getattr(self.connection(region), service)
        path = "/flavors" if service == "compute" else "/nodes"
        sdk_exceptions.raise_from_response(proxy.get(path, params={"limit": 1}))

    # --- acting --------------------------------------------------------------------------------

    def _scoped_regions(self, service: str) -> list[str]:
        return [region for region, each in self.plan() if each == service]

    def locate(self, external_id: str) -> tuple[str, str, str]:
        """``(service, region, id)`` of a host this driver reported."""
        self.authenticate()
        external_id = external_id.strip()
        if external_id.startswith("hypervisor/"):
            _, region, hostname = external_id.split("/", 2)
            return "hypervisor", region, hostname
        service = "baremetal" if external_id.startswith("node/") else "compute"
        plain = external_id.removeprefix("node/")
        regions = self._scoped_regions(service)
        for region in regions:
            conn = self.connection(region)
            find = conn.baremetal.get_node if service == "baremetal" else conn.compute.get_server
            try:
                self._call(service, region, lambda f=find: f(plain))
            except ProviderError as exc:
                if isinstance(exc.__cause__, sdk_exceptions.NotFoundException):
                    continue
                raise
            return service, region, plain
        what = "node" if service == "baremetal" else "server"
        searched = ", ".join(regions) or "any region"
        raise ProviderError(f"No {what} {plain} was found in {searched}.")

    def power(self, external_id: str, action: str) -> None:
        """Start, stop or reboot a server or a bare-metal node."""
        if action not in PowerAction.ALL:
            raise ProviderError(
                f"Unknown power action {action!r}: use one of {', '.join(PowerAction.ALL)}."
            )
        service, region, plain = self.locate(external_id)
        if service == "hypervisor":
            raise NotSupported("Nova cannot power a hypervisor; power its node or BMC instead.")
        conn = self.connection(region)
        if service == "baremetal":
            target = NODE_TARGETS[action]
            self._call(service, region,
                       lambda: conn.baremetal.set_node_power_state(plain, target))
            logger.info("asked Ironic in %s to set node %s to %s", region, plain, target)
            return

        method, extra, wanted = SERVER_ACTIONS[action]
        try:
            getattr(conn.compute, method)(plain, **extra)
        except sdk_exceptions.ConflictException as exc:
            # Nova refuses to start a running server (or stop a stopped one); the portal asked
            # for a state, and the server is already in it.
            if self.power_state(plain) != wanted or action == PowerAction.RESTART:
                raise self.error(exc, service, region) from exc
        except READ_ERRORS as exc:
            raise self.error(exc, service, region) from exc
        logger.info("asked Nova in %s to %s server %s", region, action, plain)

    def power_state(self, external_id: str) -> str:
        service, region, plain = self.locate(external_id)
        conn = self.connection(region)
        if service == "baremetal":
            node = self._call(service, region, lambda: conn.baremetal.get_node(plain))
            return node_state(node.power_state, node.target_power_state)
        if service == "hypervisor":
            listed = self._call("compute", region, lambda: self._hypervisors(conn, "", region))
            if listed is None:
                raise ProviderError(
                    f"Nova in {region} refuses to list hypervisors to these credentials (it "
                    f"needs the admin role), so the state of hypervisor {plain} cannot be read."
                )
            for record in listed:
                if record.external_id == external_id.strip():
                    return record.state
            raise ProviderError(f"Nova in {region} no longer lists hypervisor {plain}.")
        server = self._call(service, region, lambda: conn.compute.get_server(plain))
        return SERVER_STATES.get((server.status or "").upper(), HostState.UNKNOWN)

    def retire(self, external_id: str) -> None:
        """Delete a server for good; hypervisors and nodes are hardware, not ours to delete."""
        if external_id.startswith(("hypervisor/", "node/")):
            raise NotSupported(
                "Hypervisors and bare-metal nodes cannot be retired through the portal; "
                "only servers can."
            )
        _, region, plain = self.locate(external_id)
        conn = self.connection(region)
        self._call("compute", region, lambda: conn.compute.delete_server(plain))
        logger.info("asked Nova in %s to delete server %s", region, plain)

    def provision(self, spec) -> list[str]:
        """Create one server and wait until it is ACTIVE; returns its external id.

        ``spec``: name, flavor, image, network (names or ids), and optionally region, project,
        zone, tags (server metadata) and timeout (seconds to wait, 600).
        """
        missing = [key for key in ("name", "flavor", "image") if not spec.get(key)]
        if missing:
            raise ProviderError(f"A server needs {', '.join(missing)} to be created.")
        if int(spec.get("count") or 1) != 1:
            raise ProviderError("OpenStack servers are created one per request.")
        self.authenticate()
        regions = self._scoped_regions("compute")
        region = spec.get("region") or (regions[0] if regions else "")
        if region not in regions:
            raise ProviderError(f"Region {region!r} offers no compute service to this provider "
                                f"(it has {', '.join(regions) or 'none'}).")
        conn = self._project_connection(region, spec.get("project"))

        found = self._call("compute", region, lambda: self._resolve(conn, spec, region))
        flavor, image, networks = found
        attrs = {"name": spec["name"], "flavor_id": flavor, "image_id": image,
                 "networks": [{"uuid": network} for network in networks] or "auto"}
        if spec.get("zone"):
            attrs["availability_zone"] = spec["zone"]
        if spec.get("tags"):
            attrs["metadata"] = {str(k): str(v) for k, v in dict(spec["tags"]).items()}
        server = self._call("compute", region, lambda: conn.compute.create_server(**attrs))
        logger.info("asked Nova in %s to create server %s (%s)", region, spec["name"], server.id)

        self._wait_active(conn, server.id, spec["name"], region,
                          float(spec.get("timeout") or DEFAULT_BUILD_TIMEOUT))
        return [server.id]

    def _project_connection(self, region: str, project: str | None):
        """The region's connection, or one whose token is scoped to another project."""
        access = self._access() if self.authenticated else None
        if not project or access is None or project in (access.project_id, access.project_name):
            return self.connection(region)
        if self.config()["auth_type"] != "password":
            raise ProviderError("Servers for another project need user name and password "
                                "credentials; an application credential is bound to one.")
        auth = {key: value for key, value in self.config()["auth"].items()
                if not key.startswith("project_")}
        auth.update(project_name=project, project_domain_name=self.config()["auth"].get(
            "project_domain_name", "Default"))
        other = {**self.config(), "auth": auth}
        other.pop("regions", None)
        other.pop("region_name", None)
        conn = openstack.connect(load_yaml_config=False, load_envvars=False,
                                 app_name="cloud-portal", region_name=region, **other)
        self._call("identity", region, conn.session.get_auth_headers)
        return conn

    def _resolve(self, conn, spec, region: str) -> tuple[str, str, list[str]]:
        """Ids of the flavor, image and networks named (by name or id) in ``spec``."""
        def find(kind: str, finder, value: str) -> str:
            try:
                return finder(value, ignore_missing=False).id
            except sdk_exceptions.NotFoundException:
                raise ProviderError(f"No {kind} {value!r} exists in {region}.") from None

        flavor = find("flavor", conn.compute.find_flavor, spec["flavor"])
        image = find("image", conn.image.find_image, spec["image"])
        wanted = spec.get("networks") or ([spec["network"]] if spec.get("network") else [])
        networks = [find("network", conn.network.find_network, name) for name in wanted]
        return flavor, image, networks

    def _wait_active(self, conn, server_id: str, name: str, region: str,
                     timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pause = FIRST_POLL
        while True:
            server = self._call("compute", region, lambda: conn.compute.get_server(server_id))
            status = (server.status or "").upper()
            if status == "ACTIVE":
                return
            if status == "ERROR":
                fault = (server.fault or {}).get("message") or "Nova gave no reason"
                raise ProviderError(
                    f"Nova in {region} could not build server {name} ({server_id}): {fault}. "
                    "The server is left in ERROR for inspection; retire it to delete it."
                )
            if time.monotonic() + pause > deadline:
                raise ProviderError(
                    f"Server {name} ({server_id}) in {region} was still {status or 'unknown'} "
                    f"after {timeout:g} s; it is left to finish, and the next sync records it."
                )
            time.sleep(pause)
            pause = min(pause * POLL_FACTOR, MAX_POLL)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
