"""A loopback OpenStack cloud: identity, compute, bare metal, image and network, on 127.0.0.1.

Written from the OpenStack API reference for the demo and the tests: openstacksdk talks to it
over HTTP exactly as it talks to a real cloud. It speaks

    identity v3   /identity/v3: version document, tokens (password and application
                  credentials, scoped to a project), projects and a user's projects
    compute v2.1  /regions/<region>/compute/v2.1: servers (list with paging, show, create,
                  delete, start, stop, reboot), flavors and hypervisors, up to 2.87
    bare metal    /regions/<region>/baremetal/v1: nodes (list with paging, show, power)
    image v2      /regions/<region>/image/v2: images (for provisioning by image name)
    network v2.0  /regions/<region>/network/v2.0: networks (for provisioning by network name)

Each region has its own URL prefix, so a test can break one region's compute alone. Faults
(``fail``): an HTTP error status, a slow answer, or a body that is not JSON, per region and
service. Tokens can be made to expire (``expire_tokens``) so a client has to authenticate
again. Every request is recorded once answered (``requests``, ``count``) so tests can count
pages. Version documents and the token request need no token, as in a real cloud; every other
request must carry a valid ``X-Auth-Token``.

As a command:

    python -m providers.simulators.openstack [--port 5056]

serves the demo cloud (``seed_demo_cloud``) and prints how to connect to it.
"""

import argparse
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlencode, urlsplit

from providers.simulators.loopback import LoopbackServer

logger = logging.getLogger(__name__)

REGIONS = ("RegionOne", "RegionTwo")
SERVICES = ("compute", "baremetal", "image", "network")
DOMAIN = {"id": "default", "name": "Default"}

# What the double admits to: 2.87 is the last compute microversion whose hypervisor answers
# still carry vCPUs and memory, and 1.87 is a bare-metal version every current SDK accepts.
COMPUTE_VERSION = ("2.1", "2.87")
BAREMETAL_VERSION = ("1.1", "1.87")
# From 2.47 on, Nova embeds the flavor's facts in a server instead of a link to the flavor.
EMBEDDED_FLAVOR_VERSION = (2, 47)
# Nova's and Ironic's default page limit when a client asks for none.
MAX_LIMIT = 1000

# The demo's logins; the tests use them too. Nothing else listens for them.
ADMIN = {"username": "admin", "password": "sim-admin-secret", "project_name": "platform"}
READER = {"username": "reader", "password": "sim-reader-secret", "project_name": "research"}
APP_CREDENTIAL = {"id": "5e1a9c0f0c7d4b7da6fd9e62a1c4f001", "secret": "sim-app-cred-secret"}

GARBAGE = b"\x00\x01 this is not JSON at all <<<"
FAULT_MODES = ("error", "slow", "garbage")

# Nova's power_state numbers.
NOSTATE, RUNNING, SHUTDOWN = 0, 1, 4


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id() -> str:
    return uuid.uuid4().hex


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


# --- the estate ------------------------------------------------------------------------------

@dataclass
class Project:
    id: str
    name: str
    description: str = ""
    enabled: bool = True


@dataclass
class User:
    id: str
    name: str
    password: str
    # Role names by project id; a token scoped to a project where the user is "admin" may
    # see every project's servers, the hypervisors and the project list.
    roles: dict[str, list[str]] = field(default_factory=dict)
    default_project_id: str = ""


@dataclass
class AppCredential:
    id: str
    secret: str
    user_id: str
    project_id: str


@dataclass
class Flavor:
    id: str
    name: str
    vcpus: int
    ram: int
    disk: int


@dataclass
class Image:
    id: str
    name: str


@dataclass
class Network:
    id: str
    name: str
    cidr: str = "10.0.0.0/24"


@dataclass
class Hypervisor:
    id: str
    region: str
    hostname: str
    vcpus: int
    memory_mb: int
    local_gb: int
    host_ip: str
    state: str = "up"
    status: str = "enabled"
    hypervisor_type: str = "QEMU"
    cpu_info: dict = field(default_factory=dict)

    @property
    def service_host(self) -> str:
        return self.hostname.split(".")[0]


@dataclass
class Server:
    id: str
    region: str
    name: str
    project_id: str
    user_id: str
    flavor_id: str
    image_id: str = ""
    status: str = "ACTIVE"
    hypervisor: str = ""
    zone: str = "nova"
    addresses: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    created: datetime = field(default_factory=_now)
    launched_at: datetime | None = None
    # A server being built turns ACTIVE (or ERROR) after this many more reads of it.
    build_reads_left: int = 0
    build_error: str = ""
    fault: dict | None = None


@dataclass
class Node:
    uuid: str
    region: str
    name: str
    power_state: str | None = "power on"
    provision_state: str = "active"
    properties: dict = field(default_factory=dict)
    maintenance: bool = False
    owner: str | None = None
    resource_class: str = "baremetal"
    extra: dict = field(default_factory=dict)
    created: datetime = field(default_factory=_now)


@dataclass
class Token:
    id: str
    user_id: str
    project_id: str
    roles: list[str]
    methods: list[str]
    issued_at: datetime
    expires_at: datetime
    expired: bool = False


@dataclass
class Fault:
    mode: str
    status: int = 500
    seconds: float = 2.0
    body: bytes | None = None


@dataclass(frozen=True)
class Request:
    """One request as the double saw it."""

    method: str
    path: str
    query: dict
    service: str
    region: str
    status: int


class Answer(Exception):
    """Raised by a route to answer at once (an error, usually)."""

    def __init__(self, status: int, body=None, headers: Sequence[tuple[str, str]] = ()):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, list(headers)


def nova_error(status: int, kind: str, message: str) -> Answer:
    return Answer(status, {kind: {"code": status, "message": message}})


def keystone_error(status: int, title: str, message: str) -> Answer:
    return Answer(status, {"error": {"code": status, "title": title, "message": message}})


def ironic_error(status: int, message: str) -> Answer:
    # Ironic wraps its error in a JSON string inside the JSON body.
    inner = json.dumps({"faultstring": message, "faultcode": "Client", "debuginfo": None})
    return Answer(status, {"error_message": inner})


UNAUTHORIZED = ("Unauthorized", "The request you have made requires authentication.")


# --- the server ------------------------------------------------------------------------------

class OpenStackSimulator(LoopbackServer):
    """A small OpenStack cloud in memory, served over HTTP on 127.0.0.1.

    ``build_reads`` is how many reads of a new server it stays in BUILD; ``token_ttl`` is the
    lifetime of a token in seconds.
    """

    def __init__(self, port: int = 0, regions: Sequence[str] = REGIONS,
                 token_ttl: float = 3600, build_reads: int = 2):
        self.regions = tuple(regions)
        self._initial = {"token_ttl": token_ttl, "build_reads": build_reads}
        self.lock = threading.RLock()
        super().__init__(port)
        self.reset()

    # --- life cycle --------------------------------------------------------------------------

    @property
    def auth_url(self) -> str:
        return f"{self.url}/identity/v3"

    def start(self) -> "OpenStackSimulator":
        super().start()
        logger.info("OpenStack simulator serving on %s", self.url)
        return self

    def reset(self) -> None:
        """Forget the estate, tokens, faults and recorded requests; undo every setting."""
        with self.lock:
            self.token_ttl = self._initial["token_ttl"]
            self.build_reads = self._initial["build_reads"]
            self.projects: dict[str, Project] = {}
            self.users: dict[str, User] = {}
            self.app_credentials: dict[str, AppCredential] = {}
            self.flavors: dict[str, Flavor] = {}
            self.images: dict[str, Image] = {}
            self.networks: dict[str, Network] = {}
            self.hypervisors: dict[str, Hypervisor] = {}
            self.servers: dict[str, Server] = {}
            self.nodes: dict[str, Node] = {}
            self.tokens: dict[str, Token] = {}
            self.services = {region: set(SERVICES) for region in self.regions}
            self.faults: dict[tuple[str, str], Fault] = {}
            self.requests: list[Request] = []
            self.require_token = True
            self.compute_version = COMPUTE_VERSION
            self._expire_after: str | None = None
            self._next_build_error = ""

    # --- shaping the estate ------------------------------------------------------------------

    def add_project(self, name: str, description: str = "", id: str | None = None) -> Project:
        project = Project(id or _new_id(), name, description)
        with self.lock:
            self.projects[project.id] = project
        return project

    def project_named(self, name: str) -> Project:
        return next(p for p in self.projects.values() if p.name == name)

    def add_user(self, name: str, password: str, roles: dict[str, list[str]]) -> User:
        """``roles`` maps project names to role names, such as {"platform": ["admin"]}."""
        by_id = {self.project_named(project).id: list(names) for project, names in roles.items()}
        user = User(_new_id(), name, password, by_id, next(iter(by_id), ""))
        with self.lock:
            self.users[user.id] = user
        return user

    def add_app_credential(self, user: str, project: str, id: str, secret: str) -> None:
        owner = next(u for u in self.users.values() if u.name == user)
        with self.lock:
            self.app_credentials[id] = AppCredential(id, secret, owner.id,
                                                     self.project_named(project).id)

    def add_flavor(self, name: str, vcpus: int, ram: int, disk: int = 20) -> Flavor:
        flavor = Flavor(_new_id(), name, vcpus, ram, disk)
        with self.lock:
            self.flavors[flavor.id] = flavor
        return flavor

    def add_image(self, name: str) -> Image:
        image = Image(str(uuid.uuid4()), name)
        with self.lock:
            self.images[image.id] = image
        return image

    def add_network(self, name: str, cidr: str = "10.0.0.0/24") -> Network:
        network = Network(str(uuid.uuid4()), name, cidr)
        with self.lock:
            self.networks[network.id] = network
        return network

    def add_hypervisor(self, region: str, hostname: str, *, vcpus: int = 64,
                       memory_mb: int = 262144, local_gb: int = 1800, sockets: int = 2,
                       cores: int = 16, threads: int = 2, **fields) -> Hypervisor:
        cpu_info = {
            "arch": "x86_64", "model": "Cascadelake-Server", "vendor": "Intel",
            "features": ["avx2", "vmx"],
            "topology": {"sockets": sockets, "cores": cores, "threads": threads, "cells": 1},
        }
        octet = len(self.hypervisors) + 10
        fields.setdefault("host_ip", f"192.168.{self.regions.index(region) + 1}.{octet}")
        hypervisor = Hypervisor(str(uuid.uuid4()), region, hostname, vcpus, memory_mb,
                                local_gb, cpu_info=cpu_info, **fields)
        with self.lock:
            self.hypervisors[hypervisor.id] = hypervisor
        return hypervisor

    def add_server(self, region: str, name: str, flavor: str, project: str, *,
                   hypervisor: str | None = None, status: str = "ACTIVE",
                   **fields) -> Server:
        """A server of ``project`` (a name) with ``flavor`` (a name), placed on a hypervisor."""
        flavor_id = next(f.id for f in self.flavors.values() if f.name == flavor)
        project_id = self.project_named(project).id
        user_id = next((u.id for u in self.users.values() if project_id in u.roles), "")
        with self.lock:
            number = len(self.servers) + 2
            fields.setdefault("addresses", {"private": [_address(f"10.0.0.{number}")]})
            server = Server(str(uuid.uuid4()), region, name, project_id, user_id, flavor_id,
                            status=status, **fields)
            if status == "BUILD":
                server.build_reads_left = server.build_reads_left or self.build_reads
            else:
                server.hypervisor = hypervisor or self._place(region)
                server.launched_at = server.launched_at or server.created
            self.servers[server.id] = server
        return server

    def add_node(self, region: str, name: str, *, cpus: int = 32, memory_mb: int = 131072,
                 **fields) -> Node:
        properties = {"cpus": cpus, "memory_mb": memory_mb, "local_gb": 900,
                      "cpu_arch": "x86_64", "vendor": "Dell Inc."}
        node = Node(str(uuid.uuid4()), region, name, properties=properties, **fields)
        with self.lock:
            self.nodes[node.uuid] = node
        return node

    def remove_service(self, region: str, service: str) -> None:
        """Take ``service`` out of ``region``'s catalog (a cloud without bare metal, say)."""
        with self.lock:
            self.services[region].discard(service)

    def _place(self, region: str) -> str:
        """The region's hypervisor with the fewest servers, as a simple scheduler would pick."""
        candidates = [h for h in self.hypervisors.values()
                      if h.region == region and h.state == "up"]
        if not candidates:
            return ""
        load = {h.hostname: 0 for h in candidates}
        for server in self.servers.values():
            if server.hypervisor in load:
                load[server.hypervisor] += 1
        return min(load, key=lambda hostname: (load[hostname], hostname))

    # --- faults and tokens -------------------------------------------------------------------

    def fail(self, region: str | None, service: str, mode: str = "error", *, status: int = 500,
             seconds: float = 2.0, body: bytes | None = None) -> None:
        """Make ``service`` in ``region`` (None: identity, or every region) misbehave."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        with self.lock:
            self.faults[region or "*", service] = Fault(mode, status, seconds, body)

    def heal(self) -> None:
        with self.lock:
            self.faults.clear()

    def expire_tokens(self, after: str | None = None) -> None:
        """Make every token issued so far answer 401, now or right after the next request
        whose path ends with ``after`` (such as "servers/detail": after the first page)."""
        with self.lock:
            if after:
                self._expire_after = after
                return
            for token in self.tokens.values():
                token.expired = True

    def fail_next_build(self, reason: str = "No valid host was found.") -> None:
        """The next server created ends in ERROR with ``reason`` as its fault."""
        self._next_build_error = reason

    def count(self, method: str | None = None, path: str | None = None,
              region: str | None = None, service: str | None = None) -> int:
        """Requests seen so far whose path ends with ``path`` (all of them by default)."""
        with self.lock:
            return sum(
                1 for r in self.requests
                if method in (None, r.method) and (path is None or r.path.endswith(path))
                and region in (None, r.region) and service in (None, r.service)
            )

    # --- HTTP ---------------------------------------------------------------------------------

    def _handler_class(self):
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):
                # Quiet: tests read ``requests``; nobody reads an access log.
                pass

            def do_GET(self):
                simulator._serve(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = parts.path.rstrip("/") or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        region, service, rest = _split(path)

        status, body, headers = 500, None, []
        try:
            self._apply_fault(region, service)
            body = self._route(handler, region, service, rest, query, raw)
            status = 200
            if isinstance(body, Answer):
                status, headers, body = body.status, body.headers, body.body
        except Answer as answer:
            status, body, headers = answer.status, answer.body, answer.headers
        except Exception:
            logger.exception("the OpenStack simulator failed on %s %s", handler.command, path)
            status, body = 500, {"computeFault": {"code": 500, "message": "simulator bug"}}

        with self.lock:
            self.requests.append(Request(handler.command, path, query, service, region, status))
            if self._expire_after and path.endswith(self._expire_after) and status < 400:
                self._expire_after = None
                for token in self.tokens.values():
                    token.expired = True
        _write(handler, status, body, headers)

    def _apply_fault(self, region: str, service: str) -> None:
        fault = self.faults.get((region or "*", service)) or self.faults.get(("*", service))
        if fault is None:
            return
        if fault.mode == "slow":
            self.stopping.wait(fault.seconds)
        elif fault.mode == "garbage":
            raise Answer(200, fault.body or GARBAGE, [("Content-Type", "application/json")])
        else:
            phrase = "Service Unavailable" if fault.status == 503 else "Internal Server Error"
            raise Answer(fault.status, {"computeFault": {
                "code": fault.status, "message": f"{phrase}: the {service} service failed."}})

    def _route(self, handler, region: str, service: str, rest: str, query: dict, raw: bytes):
        if service == "identity":
            return self._identity(handler, rest, raw)
        if region not in self.services or service not in self.services[region]:
            raise Answer(404, {"error": {"code": 404, "message": "No such endpoint."}})

        base = f"{self.url}/regions/{region}/{service}"
        routes: dict[str, Callable] = {
            "compute": self._compute, "baremetal": self._baremetal,
            "image": self._image, "network": self._network,
        }
        if service == "baremetal" and rest in ("", "/v1"):
            return _ironic_root(base, rest)
        if service == "compute" and rest in ("", "/v2.1"):
            return _nova_root(base, rest, self.compute_version)
        if service in ("image", "network") and rest == "":
            return _plain_root(base, "v2.16" if service == "image" else "v2.0",
                               "v2" if service == "image" else "v2.0")
        token = self._token(handler)
        body = json.loads(raw) if raw else {}
        with self.lock:
            return routes[service](handler.command, rest, query, body, token, base, handler)

    def _token(self, handler) -> Token | None:
        if not self.require_token:
            return None
        token = self.tokens.get(handler.headers.get("X-Auth-Token") or "")
        if token is None or token.expired or token.expires_at <= _now():
            raise keystone_error(401, *UNAUTHORIZED)
        return token

    # --- identity -----------------------------------------------------------------------------

    def _identity(self, handler, rest: str, raw: bytes):
        version = {
            "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{self.url}/identity/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}],
        }
        if rest == "" and handler.command == "GET":
            return Answer(300, {"versions": {"values": [version]}})
        if rest == "/v3" and handler.command == "GET":
            return {"version": version}
        if rest == "/v3/auth/tokens" and handler.command == "POST":
            with self.lock:
                return self._issue(json.loads(raw or b"{}"))

        token = self._token(handler)
        with self.lock:
            user = self.users.get(token.user_id) if token else None
            if rest == "/v3/projects":
                if not token or "admin" not in token.roles:
                    raise keystone_error(403, "Forbidden", "You are not authorized to perform "
                                         "the requested action: identity:list_projects.")
                return {"projects": [_project(p, self.url) for p in self.projects.values()],
                        "links": {"self": f"{self.url}/identity/v3/projects", "next": None}}
            if rest in ("/v3/auth/projects", f"/v3/users/{user.id if user else '-'}/projects"):
                mine = [p for p in self.projects.values() if user and p.id in user.roles]
                return {"projects": [_project(p, self.url) for p in mine],
                        "links": {"self": f"{self.url}/identity{rest}", "next": None}}
        raise keystone_error(404, "Not Found", f"Could not find {rest}.")

    def _issue(self, request: dict) -> Answer:
        identity = (request.get("auth") or {}).get("identity") or {}
        methods = identity.get("methods") or []
        if methods == ["password"]:
            user = self._password_user((identity.get("password") or {}).get("user") or {})
            project_id = self._scope(request, user)
        elif methods == ["application_credential"]:
            given = identity.get("application_credential") or {}
            credential = self.app_credentials.get(given.get("id") or "")
            if credential is None or given.get("secret") != credential.secret:
                raise keystone_error(401, *UNAUTHORIZED)
            user, project_id = self.users[credential.user_id], credential.project_id
        else:
            raise keystone_error(401, *UNAUTHORIZED)

        issued = _now()
        token = Token(uuid.uuid4().hex, user.id, project_id, user.roles.get(project_id, []),
                      methods, issued, issued + timedelta(seconds=self.token_ttl))
        self.tokens[token.id] = token
        return Answer(201, {"token": self._token_body(token, user)},
                      [("X-Subject-Token", token.id)])

    def _password_user(self, given: dict) -> User:
        domain = given.get("domain") or {}
        if domain and domain.get("id", "default") != "default" and \
                domain.get("name", "Default") != "Default":
            raise keystone_error(401, *UNAUTHORIZED)
        user = next((u for u in self.users.values()
                     if given.get("id") == u.id or given.get("name") == u.name), None)
        if user is None or given.get("password") != user.password:
            raise keystone_error(401, *UNAUTHORIZED)
        return user

    def _scope(self, request: dict, user: User) -> str:
        """The project a password token is scoped to; the user's default one without scope."""
        wanted = ((request.get("auth") or {}).get("scope") or {}).get("project")
        if wanted is None:
            return user.default_project_id
        project = next((p for p in self.projects.values()
                        if wanted.get("id") == p.id or wanted.get("name") == p.name), None)
        if project is None or project.id not in user.roles:
            raise keystone_error(401, "Unauthorized",
                                 "User has no access to project; the scope is not valid.")
        return project.id

    def _token_body(self, token: Token, user: User) -> dict:
        project = self.projects.get(token.project_id)
        body = {
            "methods": token.methods, "audit_ids": [uuid.uuid4().hex[:22]],
            "issued_at": token.issued_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "expires_at": token.expires_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "user": {"id": user.id, "name": user.name, "domain": DOMAIN,
                     "password_expires_at": None},
            "roles": [{"id": name, "name": name} for name in token.roles],
            "is_domain": False,
        }
        if project is not None:
            body["project"] = {"id": project.id, "name": project.name, "domain": DOMAIN}
            body["catalog"] = self._catalog()
        return body

    def _catalog(self) -> list[dict]:
        names = {"compute": "nova", "baremetal": "ironic", "image": "glance",
                 "network": "neutron", "identity": "keystone"}
        suffix = {"compute": "/v2.1"}
        catalog = []
        for service, name in names.items():
            endpoints = []
            for region in self.regions:
                if service == "identity":
                    url = f"{self.url}/identity/v3"
                elif service in self.services[region]:
                    url = f"{self.url}/regions/{region}/{service}{suffix.get(service, '')}"
                else:
                    continue
                endpoints.append({"id": _new_id(), "interface": "public", "region": region,
                                  "region_id": region, "url": url})
            if endpoints:
                catalog.append({"type": service, "name": name, "id": _new_id(),
                                "endpoints": endpoints})
        return catalog

    # --- compute ------------------------------------------------------------------------------

    def _compute(self, method, rest, query, body, token, base, handler):
        version = _requested(handler, "compute", self.compute_version)
        path = rest.removeprefix("/v2.1")
        parts = path.strip("/").split("/")
        if path in ("/servers/detail", "/servers") and method == "GET":
            return self._list_servers(query, token, base, path, version)
        if path == "/servers" and method == "POST":
            return self._create_server(body, token, base)
        if parts[0] == "servers" and len(parts) >= 2:
            server = self.servers.get(parts[1])
            if server is None or server.region != _region_of(base):
                raise nova_error(404, "itemNotFound", f"Instance {parts[1]} could not be found.")
            if len(parts) == 2 and method == "GET":
                self._advance(server)
                return {"server": self._server_body(server, base, version)}
            if len(parts) == 2 and method == "DELETE":
                del self.servers[server.id]
                return Answer(204)
            if parts[2:] == ["action"] and method == "POST":
                return self._server_action(server, body)
        if path in ("/flavors/detail", "/flavors") and method == "GET":
            flavors = [_flavor(f, base) for f in self.flavors.values()]
            return {"flavors": flavors}
        if parts[0] == "flavors" and len(parts) == 2 and method == "GET":
            flavor = self.flavors.get(parts[1])
            if flavor is None:
                raise nova_error(404, "itemNotFound", f"Flavor {parts[1]} could not be found.")
            return {"flavor": _flavor(flavor, base)}
        if path in ("/os-hypervisors/detail", "/os-hypervisors") and method == "GET":
            if not token or "admin" not in token.roles:
                raise nova_error(403, "forbidden", "Policy doesn't allow "
                                 "os_compute_api:os-hypervisors:list-detail to be performed.")
            region = _region_of(base)
            found = [h for h in self.hypervisors.values() if h.region == region]
            page, link = _page(found, query, lambda h: h.id, f"{base}/v2.1{path}")
            answer = {"hypervisors": [self._hypervisor_body(h) for h in page]}
            if link:
                answer["hypervisors_links"] = [{"rel": "next", "href": link}]
            return answer
        raise nova_error(404, "itemNotFound", f"No route for {method} {path}.")

    def _list_servers(self, query, token, base, path, version):
        region = _region_of(base)
        # Like Nova's policy check (fatal=False): all_tenants from someone who is no
        # administrator is ignored, not refused.
        asked = query.get("all_tenants") not in (None, "0", "false", "False")
        every = token is None or (asked and "admin" in token.roles)
        found = [s for s in self.servers.values()
                 if s.region == region and (every or s.project_id == token.project_id)]
        page, link = _page(found, query, lambda s: s.id, f"{base}/v2.1{path}")
        for server in page:
            self._advance(server)
        answer = {"servers": [self._server_body(s, base, version) for s in page]}
        if link:
            answer["servers_links"] = [{"rel": "next", "href": link}]
        return answer

    def _create_server(self, body, token, base):
        spec = body.get("server") or {}
        flavor = self.flavors.get(spec.get("flavorRef") or "")
        if not spec.get("name") or flavor is None:
            raise nova_error(400, "badRequest", "Invalid flavorRef or missing name provided.")
        if spec.get("imageRef") not in self.images:
            raise nova_error(400, "badRequest", f"Can not find requested image "
                             f"{spec.get('imageRef')}")
        networks = [n.get("uuid") for n in spec.get("networks") or [] if isinstance(n, dict)]
        if any(network not in self.networks for network in networks):
            raise nova_error(400, "badRequest", "Network could not be found.")

        server = Server(str(uuid.uuid4()), _region_of(base), spec["name"], token.project_id,
                        token.user_id, flavor.id, image_id=spec["imageRef"], status="BUILD",
                        zone=spec.get("availability_zone") or "nova",
                        metadata=dict(spec.get("metadata") or {}),
                        build_reads_left=self.build_reads, build_error=self._next_build_error)
        self._next_build_error = ""
        cidr = self.networks[networks[0]].cidr if networks else "10.0.0.0/24"
        server.addresses = {
            (self.networks[networks[0]].name if networks else "private"):
                [_address(cidr.rsplit(".", 1)[0] + f".{len(self.servers) + 100}")],
        }
        self.servers[server.id] = server
        return Answer(202, {"server": {
            "id": server.id, "links": _links(f"{base}/v2.1/servers/{server.id}"),
            "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}],
            "adminPass": uuid.uuid4().hex[:12],
        }}, [("Location", f"{base}/v2.1/servers/{server.id}")])

    def _advance(self, server: Server) -> None:
        """A server in BUILD moves on by one read; after enough reads it is built."""
        if server.status != "BUILD":
            return
        server.build_reads_left -= 1
        if server.build_reads_left > 0:
            return
        if server.build_error:
            server.status = "ERROR"
            server.fault = {"code": 500, "message": server.build_error,
                            "created": _stamp(_now())}
            return
        server.status = "ACTIVE"
        server.hypervisor = self._place(server.region)
        server.launched_at = _now()

    def _server_action(self, server: Server, body: dict) -> Answer:
        action = next(iter(body), "")
        hard = action == "reboot" and (body["reboot"] or {}).get("type") == "HARD"
        # Nova reboots softly only a running guest; a hard reboot also revives a stopped one.
        allowed = {"os-start": ("SHUTOFF",), "os-stop": ("ACTIVE", "ERROR"),
                   "reboot": ("ACTIVE", "SHUTOFF", "ERROR") if hard else ("ACTIVE",)}
        if action not in allowed:
            raise nova_error(400, "badRequest", f"There is no such action: {action}")
        if server.status not in allowed[action]:
            word = action.removeprefix("os-")
            raise nova_error(409, "conflictingRequest",
                             f"Cannot '{word}' instance {server.id} while it is in vm_state "
                             f"{_vm_state(server.status)}")
        server.status = "SHUTOFF" if action == "os-stop" else "ACTIVE"
        return Answer(202)

    def _server_body(self, server: Server, base: str, version: tuple[int, int]) -> dict:
        flavor = self.flavors.get(server.flavor_id)
        if version >= EMBEDDED_FLAVOR_VERSION and flavor is not None:
            flavor_body = {"vcpus": flavor.vcpus, "ram": flavor.ram, "disk": flavor.disk,
                           "ephemeral": 0, "swap": 0, "original_name": flavor.name,
                           "extra_specs": {}}
        else:
            flavor_body = {"id": server.flavor_id,
                           "links": _links(f"{base}/flavors/{server.flavor_id}", bookmark=True)}
        hypervisor = next((h for h in self.hypervisors.values()
                           if h.hostname == server.hypervisor), None)
        body = {
            "id": server.id, "name": server.name, "status": server.status,
            "tenant_id": server.project_id, "user_id": server.user_id,
            "metadata": server.metadata, "hostId": uuid.uuid5(
                uuid.NAMESPACE_DNS, server.hypervisor or "-").hex if server.hypervisor else "",
            "image": {"id": server.image_id} if server.image_id else "",
            "flavor": flavor_body,
            "created": _stamp(server.created), "updated": _stamp(_now()),
            "addresses": server.addresses if server.status != "BUILD" else {},
            "accessIPv4": "", "accessIPv6": "", "links": _links(f"{base}/servers/{server.id}"),
            "OS-DCF:diskConfig": "MANUAL", "progress": 0, "config_drive": "",
            "key_name": None, "locked": False, "description": None, "tags": [],
            "OS-EXT-AZ:availability_zone": server.zone,
            # Nova writes launched_at without a zone; it is UTC.
            "OS-SRV-USG:launched_at": server.launched_at.strftime("%Y-%m-%dT%H:%M:%S.%f")
            if server.launched_at else None,
            "OS-SRV-USG:terminated_at": None,
            "OS-EXT-SRV-ATTR:host": hypervisor.service_host if hypervisor else None,
            "OS-EXT-SRV-ATTR:hypervisor_hostname": server.hypervisor or None,
            "OS-EXT-SRV-ATTR:instance_name": f"instance-{server.id[:8]}",
            "OS-EXT-STS:vm_state": _vm_state(server.status),
            "OS-EXT-STS:power_state": {"ACTIVE": RUNNING, "SHUTOFF": SHUTDOWN}.get(
                server.status, NOSTATE),
            "OS-EXT-STS:task_state": "spawning" if server.status == "BUILD" else None,
            "os-extended-volumes:volumes_attached": [],
            "security_groups": [{"name": "default"}],
        }
        if server.fault:
            body["fault"] = server.fault
        return body

    def _hypervisor_body(self, hypervisor: Hypervisor) -> dict:
        guests = [s for s in self.servers.values() if s.hypervisor == hypervisor.hostname]
        used_vcpus = sum(self.flavors[s.flavor_id].vcpus for s in guests)
        used_ram = sum(self.flavors[s.flavor_id].ram for s in guests)
        return {
            "id": hypervisor.id, "hypervisor_hostname": hypervisor.hostname,
            "state": hypervisor.state, "status": hypervisor.status,
            "hypervisor_type": hypervisor.hypervisor_type, "hypervisor_version": 8002000,
            "host_ip": hypervisor.host_ip,
            "service": {"host": hypervisor.service_host, "id": str(uuid.uuid5(
                uuid.NAMESPACE_DNS, hypervisor.hostname)), "disabled_reason": None},
            "vcpus": hypervisor.vcpus, "memory_mb": hypervisor.memory_mb,
            "local_gb": hypervisor.local_gb, "vcpus_used": used_vcpus,
            "memory_mb_used": used_ram, "local_gb_used": 0,
            "free_ram_mb": hypervisor.memory_mb - used_ram, "free_disk_gb": hypervisor.local_gb,
            "current_workload": 0, "running_vms": len(guests),
            "disk_available_least": hypervisor.local_gb, "cpu_info": hypervisor.cpu_info,
        }

    # --- bare metal ---------------------------------------------------------------------------

    def _baremetal(self, method, rest, query, body, token, base, handler):
        parts = rest.strip("/").split("/")[1:]
        region = _region_of(base)
        if parts in (["nodes"], ["nodes", "detail"]) and method == "GET":
            found = [n for n in self.nodes.values() if n.region == region]
            page, link = _page(found, query, lambda n: n.uuid, f"{base}{rest}")
            answer = {"nodes": [_node(n, base) for n in page]}
            if link:
                answer["next"] = link
            return answer
        if parts[:1] == ["nodes"] and len(parts) >= 2:
            node = next((n for n in self.nodes.values() if n.region == region
                         and parts[1] in (n.uuid, n.name)), None)
            if node is None:
                raise ironic_error(404, f"Node {parts[1]} could not be found.")
            if len(parts) == 2 and method == "GET":
                return _node(node, base)
            if parts[2:] == ["states", "power"] and method == "PUT":
                return self._node_power(node, body.get("target") or "")
        raise ironic_error(404, f"The resource could not be found: {method} {rest}.")

    def _node_power(self, node: Node, target: str) -> Answer:
        states = {"power on": "power on", "power off": "power off", "rebooting": "power on",
                  "soft power off": "power off", "soft rebooting": "power on"}
        if target not in states:
            raise ironic_error(400, f"Invalid power state target {target!r}.")
        if node.maintenance:
            raise ironic_error(400, f"Node {node.uuid} is in maintenance mode.")
        # Ironic's fake driver applies the change at once; a real one takes seconds.
        node.power_state = states[target]
        return Answer(202)

    # --- image and network (enough to find one by name) ---------------------------------------

    def _image(self, method, rest, query, body, token, base, handler):
        parts = rest.strip("/").split("/")[1:]
        if parts == ["images"] and method == "GET":
            found = [i for i in self.images.values() if query.get("name") in (None, i.name)]
            return {"images": [_image(i) for i in found], "first": "/v2/images",
                    "schema": "/v2/schemas/images"}
        if parts[:1] == ["images"] and len(parts) == 2 and parts[1] in self.images:
            return _image(self.images[parts[1]])
        raise Answer(404, b"404 Not Found\n\nThe resource could not be found.",
                     [("Content-Type", "text/plain")])

    def _network(self, method, rest, query, body, token, base, handler):
        parts = rest.strip("/").split("/")[1:]
        if parts == ["networks"] and method == "GET":
            found = [n for n in self.networks.values() if query.get("name") in (None, n.name)]
            return {"networks": [_network(n) for n in found]}
        if parts[:1] == ["networks"] and len(parts) == 2 and parts[1] in self.networks:
            return {"network": _network(self.networks[parts[1]])}
        raise Answer(404, {"NeutronError": {"type": "NetworkNotFound", "detail": "",
                                            "message": f"Network {parts[-1]} could not be "
                                                       "found."}})


# --- wire shapes -----------------------------------------------------------------------------

def _split(path: str) -> tuple[str, str, str]:
    """``(region, service, rest)`` of a request path; identity has no region."""
    parts = path.split("/")
    if len(parts) >= 4 and parts[1] == "regions":
        return parts[2], parts[3], "/" + "/".join(parts[4:]) if len(parts) > 4 else ""
    if len(parts) >= 2 and parts[1] == "identity":
        return "", "identity", "/" + "/".join(parts[2:]) if len(parts) > 2 else ""
    return "", "", path


def _region_of(base: str) -> str:
    return base.split("/regions/", 1)[1].split("/", 1)[0]


def _write(handler, status: int, body, headers) -> None:
    if isinstance(body, bytes):
        payload = body
    elif body is None:
        payload = b""
    else:
        payload = json.dumps(body).encode()
    names = {name.lower() for name, _ in headers}
    try:
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        if payload and "content-type" not in names:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("X-Openstack-Request-Id", f"req-{uuid.uuid4()}")
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)
    except (BrokenPipeError, ConnectionResetError):
        # The client gave up first (its read timeout): nobody is left to answer.
        handler.close_connection = True


def _requested(handler, service: str, bounds: tuple[str, str]) -> tuple[int, int]:
    """The microversion a request asks for; the minimum when it names none."""
    header = handler.headers.get("OpenStack-API-Version") or ""
    words = header.split()
    wanted = words[1] if len(words) == 2 and words[0] == service else bounds[0]
    if wanted == "latest":
        wanted = bounds[1]
    try:
        version = _version(wanted)
    except ValueError:
        raise nova_error(400, "badRequest", f"Invalid microversion {wanted!r}.") from None
    if not _version(bounds[0]) <= version <= _version(bounds[1]):
        raise nova_error(406, "notAcceptable", f"Version {wanted} is not supported by the API.")
    return version


def _page(items: list, query: dict, key: Callable, url: str) -> tuple[list, str]:
    """One page of ``items`` after ``marker``, and the next page's URL when the page is full."""
    try:
        limit = min(int(query.get("limit") or MAX_LIMIT), MAX_LIMIT)
    except ValueError:
        raise nova_error(400, "badRequest", "limit must be an integer") from None
    start = 0
    if query.get("marker"):
        keys = [key(item) for item in items]
        if query["marker"] not in keys:
            raise nova_error(400, "badRequest", f"marker [{query['marker']}] not found")
        start = keys.index(query["marker"]) + 1
    page = items[start:start + limit]
    if len(page) < limit or not page:
        return page, ""
    return page, f"{url}?{urlencode({**query, 'limit': limit, 'marker': key(page[-1])})}"


def _links(href: str, bookmark: bool = False) -> list[dict]:
    return [{"rel": "bookmark" if bookmark else "self", "href": href}]


def _address(ip: str) -> dict:
    mac = "fa:16:3e:" + ":".join(f"{int(part) % 256:02x}" for part in ip.split(".")[1:])
    return {"version": 4, "addr": ip, "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": mac}


def _vm_state(status: str) -> str:
    return {"ACTIVE": "active", "SHUTOFF": "stopped", "BUILD": "building",
            "ERROR": "error"}.get(status, status.lower())


def _flavor(flavor: Flavor, base: str) -> dict:
    return {
        "id": flavor.id, "name": flavor.name, "vcpus": flavor.vcpus, "ram": flavor.ram,
        "disk": flavor.disk, "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0, "rxtx_factor": 1.0,
        "os-flavor-access:is_public": True, "OS-FLV-DISABLED:disabled": False,
        "description": None, "extra_specs": {},
        "links": _links(f"{base}/v2.1/flavors/{flavor.id}"),
    }


def _project(project: Project, url: str) -> dict:
    return {"id": project.id, "name": project.name, "domain_id": DOMAIN["id"],
            "description": project.description, "enabled": project.enabled,
            "is_domain": False, "parent_id": DOMAIN["id"], "tags": [], "options": {},
            "links": {"self": f"{url}/identity/v3/projects/{project.id}"}}


def _node(node: Node, base: str) -> dict:
    return {
        "uuid": node.uuid, "name": node.name, "power_state": node.power_state,
        "target_power_state": None, "provision_state": node.provision_state,
        "target_provision_state": None, "maintenance": node.maintenance,
        "maintenance_reason": None, "fault": None, "last_error": None,
        "properties": node.properties, "driver": "fake-hardware", "driver_info": {},
        "instance_uuid": None, "instance_info": {}, "extra": node.extra,
        "resource_class": node.resource_class, "conductor_group": "", "owner": node.owner,
        "lessee": None, "description": None, "protected": False, "retired": False,
        "console_enabled": False, "created_at": node.created.isoformat(),
        "updated_at": None, "links": _links(f"{base}/v1/nodes/{node.uuid}"),
    }


def _image(image: Image) -> dict:
    return {"id": image.id, "name": image.name, "status": "active", "visibility": "public",
            "container_format": "bare", "disk_format": "qcow2", "size": 12345678,
            "min_disk": 0, "min_ram": 0, "protected": False, "tags": [],
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "self": f"/v2/images/{image.id}", "file": f"/v2/images/{image.id}/file",
            "schema": "/v2/schemas/image"}


def _network(network: Network) -> dict:
    return {"id": network.id, "name": network.name, "status": "ACTIVE", "admin_state_up": True,
            "shared": True, "subnets": [], "tenant_id": "", "project_id": "",
            "router:external": False, "mtu": 1450}


def _nova_root(base: str, rest: str, bounds: tuple[str, str]) -> dict:
    version = {
        "id": "v2.1", "status": "CURRENT", "min_version": bounds[0], "version": bounds[1],
        "updated": "2013-07-23T11:33:21Z", "links": _links(f"{base}/v2.1/"),
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }
    return {"version": version} if rest else {"versions": [version]}


def _ironic_root(base: str, rest: str) -> dict:
    version = {"id": "v1", "status": "CURRENT", "min_version": BAREMETAL_VERSION[0],
               "version": BAREMETAL_VERSION[1], "links": _links(f"{base}/v1/")}
    if rest:
        return {"id": "v1", "links": _links(f"{base}/v1/"), "version": version,
                "media_types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.ironic.v1+json"}]}
    return {"name": "OpenStack Ironic API", "description": "Ironic is an OpenStack project.",
            "default_version": version, "versions": [version]}


def _plain_root(base: str, version_id: str, path: str) -> dict:
    return {"versions": [{"id": version_id, "status": "CURRENT",
                          "links": _links(f"{base}/{path}/")}]}


# --- seeding ---------------------------------------------------------------------------------

FLAVORS = (("m1.small", 1, 2048, 20), ("m1.medium", 2, 4096, 40), ("m1.large", 4, 8192, 80),
           ("m1.xlarge", 8, 16384, 160))


def seed_identity(sim: OpenStackSimulator) -> None:
    """Two projects; an administrator of "platform" who is a member of "research" too, a
    reader of "research" only, and an application credential of the administrator."""
    sim.add_project("platform", "Shared platform services")
    sim.add_project("research", "Research workloads")
    sim.add_user(ADMIN["username"], ADMIN["password"],
                 {"platform": ["admin", "member"], "research": ["member"]})
    sim.add_user(READER["username"], READER["password"], {"research": ["member", "reader"]})
    sim.add_app_credential(ADMIN["username"], "platform", **APP_CREDENTIAL)


def seed_catalogue(sim: OpenStackSimulator, hypervisors_per_region: int = 2) -> None:
    """Flavors, two images, a network and each region's hypervisors."""
    for name, vcpus, ram, disk in FLAVORS:
        sim.add_flavor(name, vcpus, ram, disk)
    sim.add_image("cirros-0.6")
    sim.add_image("ubuntu-24.04")
    sim.add_network("private", "10.0.0.0/24")
    for region in sim.regions:
        short = f"r{sim.regions.index(region) + 1}"
        for number in range(1, hypervisors_per_region + 1):
            sim.add_hypervisor(region, f"compute-{short}-{number:02d}.cloud.example")


def seed_demo_cloud(sim: OpenStackSimulator, servers: int = 15, nodes: int = 2,
                    seed: int = 11) -> dict[str, list[str]]:
    """The demo cloud: two projects, two regions, hypervisors, ``servers`` servers spread over
    both (about one in five stopped) and ``nodes`` bare-metal nodes per region. Returns the
    server ids by region; the same seed gives the same cloud."""
    rng = random.Random(seed)
    seed_identity(sim)
    seed_catalogue(sim)
    roles = ("web", "api", "worker", "db", "cache")
    created: dict[str, list[str]] = {region: [] for region in sim.regions}
    for number in range(servers):
        region = sim.regions[number % len(sim.regions)]
        project = ("platform", "research")[rng.randrange(2)]
        role = roles[number % len(roles)]
        flavor = FLAVORS[rng.randrange(len(FLAVORS))][0]
        status = "SHUTOFF" if number % 5 == 4 else "ACTIVE"
        server = sim.add_server(region, f"{project}-{role}-{number:02d}", flavor, project,
                                status=status, metadata={"team": project, "role": role})
        created[region].append(server.id)
    for region in sim.regions:
        for number in range(1, nodes + 1):
            sim.add_node(region, f"{region.lower()}-metal-{number:02d}",
                         power_state="power off" if number % 2 == 0 else "power on",
                         provision_state="available" if number % 2 == 0 else "active")
    return created


def demo_settings(sim: OpenStackSimulator) -> tuple[dict, dict]:
    """Provider settings and credentials that reach ``sim`` as its administrator."""
    settings = {"auth_url": sim.auth_url, "auth_type": "password",
                "project_name": ADMIN["project_name"], "project_domain_name": "Default",
                "user_domain_name": "Default", "regions": list(sim.regions)}
    credentials = {"username": ADMIN["username"], "password": ADMIN["password"]}
    return settings, credentials


def _regions(value: str) -> Iterable[str]:
    return tuple(region.strip() for region in value.split(",") if region.strip())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a demo OpenStack cloud on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=5056, help="port on 127.0.0.1 (5056)")
    parser.add_argument("--regions", type=_regions, default=REGIONS,
                        help="comma-separated regions (RegionOne,RegionTwo)")
    parser.add_argument("--servers", type=int, default=15, help="servers in all (15)")
    args = parser.parse_args(argv)

    with OpenStackSimulator(port=args.port, regions=args.regions) as sim:
        created = seed_demo_cloud(sim, servers=args.servers)
        settings, credentials = demo_settings(sim)
        print(f"Demo OpenStack cloud at {sim.auth_url} with "
              f"{sum(map(len, created.values()))} servers in {', '.join(created)}.")
        print(f"Settings: {json.dumps(settings)}")
        print(f"Credentials: {json.dumps(credentials)}")
        print("Ctrl-C stops it.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
