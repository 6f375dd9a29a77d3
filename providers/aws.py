"""AWS EC2: instances across an account's regions, read with boto3.

Settings (``Provider.settings``):

    regions          list of region names; empty or absent means every region the account has
                     enabled, as ``ec2:DescribeRegions`` lists them from ``home_region``
    home_region      the region asked for that list and for the account id (us-east-1)
    endpoint_url     any EC2-compatible endpoint, used for every region (a private cloud, moto)
    connect_timeout  seconds to open a connection (5)
    read_timeout     seconds to wait for an answer (20)
    max_attempts     attempts per request, the first one included (5); botocore retries
                     throttling, 5xx answers and timeouts with exponential backoff and jitter
    retry_mode       "standard" (the default) or "adaptive" (also rate-limits on the client side)
    page_size        instances per DescribeInstances page, 5 to 1000 (1000)

Credentials: ``access_key_id``, ``secret_access_key`` and, for temporary credentials,
``session_token``. The driver never falls back to the environment, a profile or an instance
role: a provider without a key would otherwise silently read the portal host's own account.

Scopes are plain region names ("eu-west-1"): hosts of one provider never share a region name
with another scope, and it is the word operators see in the AWS console.

Terminated instances are skipped rather than recorded. EC2 keeps listing them for about an hour
and then forgets them, so recording them would make a host's archive time depend on when AWS
purges it; skipping makes "terminated" and "gone" the same thing at the first sync that sees
it: the host is archived and its interval closed then. An instance launched and terminated
between two syncs never appears at all, which is right for inventory (and metering, which only
counts what a sync saw running, cannot bill it either way).
"""

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

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

DEFAULTS = {
    "home_region": "us-east-1",
    "connect_timeout": 5,
    "read_timeout": 20,
    "max_attempts": 5,
    "retry_mode": "standard",
    "page_size": 1000,
}

# EC2 refuses MaxResults outside these bounds.
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 5, 1000

# DescribeInstanceTypes takes at most 100 names a call.
TYPE_BATCH = 100

# Error codes that mean "this key (or its signature) is not accepted", whatever the service.
AUTH_ERROR_CODES = frozenset({
    "AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException",
    "SignatureDoesNotMatch", "IncompleteSignature", "ExpiredToken", "InvalidAccessKeyId",
})
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "RequestThrottled", "RequestThrottledException",
})

STATES = {
    "pending": HostState.PENDING,
    "running": HostState.RUNNING,
    "shutting-down": HostState.STOPPING,
    "stopping": HostState.STOPPING,
    "stopped": HostState.STOPPED,
    "terminated": HostState.TERMINATED,
}
# Asked of EC2 so terminated instances do not even cross the wire (see the module docstring).
LISTED_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]

# The portal's power actions (providers.base.PowerAction) as EC2 calls and their arguments.
POWER_ACTIONS = {
    PowerAction.ON: ("start_instances", {}),
    PowerAction.OFF: ("stop_instances", {}),
    PowerAction.FORCE_OFF: ("stop_instances", {"Force": True}),
    PowerAction.RESTART: ("reboot_instances", {}),
}

# Operating-system errors behind a failed connection, in the words an operator would use.
CONNECTION_REASONS = (
    ("refused", "connection refused"),
    ("name or service not known", "the host name could not be resolved"),
    ("nodename nor servname", "the host name could not be resolved"),
    ("temporary failure in name resolution", "the host name could not be resolved"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "the network is unreachable"),
    ("timed out", "the connection timed out"),
    ("certificate", "its TLS certificate was not accepted"),
)

_REGION_WITH_ID = re.compile(r"^(?P<region>[a-z0-9-]+)/(?P<instance>i-[0-9a-f]+)$")


class UnexpectedAnswer(Exception):
    """EC2 answered, in valid XML, something that is not what the operation returns."""


@dataclass(frozen=True)
class InstanceTypeInfo:
    """What ``DescribeInstanceTypes`` says about one instance type."""

    vcpus: int | None = None
    cores: int | None = None
    memory_mib: int | None = None
    bare_metal: bool = False


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def type_info_from(answer: dict) -> InstanceTypeInfo:
    """Read the facts we keep from one entry of ``DescribeInstanceTypes``."""
    cpu = answer.get("VCpuInfo") or {}
    return InstanceTypeInfo(
        vcpus=_int(cpu.get("DefaultVCpus")),
        cores=_int(cpu.get("DefaultCores")),
        memory_mib=_int((answer.get("MemoryInfo") or {}).get("SizeInMiB")),
        bare_metal=bool(answer.get("BareMetal")),
    )


def is_metal_type(instance_type: str) -> bool:
    """``m5.metal``, ``m7i.metal-24xl``: the size part of a bare-metal type starts with metal."""
    _, _, size = instance_type.partition(".")
    return size.startswith("metal")


def _addresses(instance: dict) -> tuple[str, ...]:
    """Private then public addresses of every interface, IPv6 last, each once."""
    found: list[str] = [instance.get("PrivateIpAddress"), instance.get("PublicIpAddress")]
    for interface in instance.get("NetworkInterfaces") or []:
        for private in interface.get("PrivateIpAddresses") or []:
            found.append(private.get("PrivateIpAddress"))
            found.append((private.get("Association") or {}).get("PublicIp"))
        found.append((interface.get("Association") or {}).get("PublicIp"))
        found.extend(ipv6.get("Ipv6Address") for ipv6 in interface.get("Ipv6Addresses") or [])
    found.append(instance.get("Ipv6Address"))
    return tuple(dict.fromkeys(address for address in found if address))


def _os(instance: dict) -> str:
    # PlatformDetails names the billing platform ("Linux/UNIX", "Red Hat Enterprise Linux",
    # "Windows with SQL Server Standard"). Older answers and some EC2-compatible endpoints only
    # have Platform, which AWS documents as "windows" for Windows and absent otherwise.
    if instance.get("PlatformDetails"):
        return instance["PlatformDetails"]
    if (instance.get("Platform") or "").lower() == "windows":
        return "Windows"
    return "Linux/UNIX"


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        # EC2 times are UTC; a naive one from an EC2-compatible endpoint is taken as UTC too.
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def host_record_from(
    instance: dict, region: str, type_info: InstanceTypeInfo | None = None
) -> HostRecord | None:
    """Map one ``DescribeInstances`` instance to a HostRecord; None for a terminated one."""
    instance_id = instance.get("InstanceId")
    if not instance_id:
        raise UnexpectedAnswer("an instance without an InstanceId")

    state = STATES.get((instance.get("State") or {}).get("Name", ""), HostState.UNKNOWN)
    if state == HostState.TERMINATED:
        return None

    info = type_info or InstanceTypeInfo()
    instance_type = instance.get("InstanceType") or ""
    bare_metal = info.bare_metal or is_metal_type(instance_type)
    tags = {
        tag["Key"]: tag.get("Value") or ""
        for tag in instance.get("Tags") or []
        if tag.get("Key")
    }

    # CpuOptions tells what this instance really runs with (cores can be switched off at
    # launch); without it, the type's defaults are what it got.
    cpu = instance.get("CpuOptions") or {}
    core_count, threads = _int(cpu.get("CoreCount")), _int(cpu.get("ThreadsPerCore"))
    vcpus = core_count * threads if core_count and threads else info.vcpus
    cores = core_count or info.cores

    return HostRecord(
        scope=region,
        external_id=instance_id,
        name=tags.get("Name") or instance_id,
        kind=HostKind.BARE_METAL if bare_metal else HostKind.VIRTUAL,
        state=state,
        region=region,
        zone=(instance.get("Placement") or {}).get("AvailabilityZone") or "",
        instance_type=instance_type,
        # A virtual machine presents one socket; EC2 does not say how many a metal host has,
        # so that stays unknown rather than guessed.
        sockets=None if bare_metal else 1,
        cores=cores,
        vcpus=vcpus,
        memory_mib=info.memory_mib,
        os=_os(instance),
        addresses=_addresses(instance),
        launched_at=_aware(instance.get("LaunchTime")),
        tags=tags,
    )


def _connection_reason(exc: Exception) -> str:
    error = getattr(exc, "kwargs", {}).get("error", exc)
    text = str(error).lower()
    for needle, reason in CONNECTION_REASONS:
        if needle in text:
            return reason
    return str(error)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AwsDriver(Driver):
    """Reads EC2 instances region by region; starts, stops, reboots and terminates them."""

    kind = "aws"

    def __init__(self, settings, credentials):
        super().__init__(settings, credentials)
        self._session = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._types: dict[str, InstanceTypeInfo | None] = {}

    # --- settings and the one seam to AWS ----------------------------------------------------

    def option(self, name: str) -> Any:
        value = self.settings.get(name)
        return DEFAULTS[name] if value in (None, "") else value

    @property
    def endpoint_url(self) -> str | None:
        return self.settings.get("endpoint_url") or None

    @property
    def max_attempts(self) -> int:
        return max(1, int(self.option("max_attempts")))

    @property
    def page_size(self) -> int:
        return min(MAX_PAGE_SIZE, max(MIN_PAGE_SIZE, int(self.option("page_size"))))

    @property
    def access_key_hint(self) -> str:
        """Enough of the access key ID to recognise it in a message, not to reuse it."""
        key = str(self.credentials.get("access_key_id") or "")
        return f"{key[:4]}…{key[-4:]}" if len(key) > 12 else f"{key[:4]}…"

    def _boto_session(self):
        if self._session is None:
            key = self.credentials.get("access_key_id")
            secret = self.credentials.get("secret_access_key")
            if not key or not secret:
                raise ProviderAuthError(
                    "This AWS provider has no access key: enter an access key ID and its "
                    "secret access key."
                )
            self._session = boto3.session.Session(
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                aws_session_token=self.credentials.get("session_token") or None,
            )
        return self._session

    def client(self, service: str, region: str):
        """The boto3 client for ``service`` in ``region``: every AWS call goes through here."""
        key = (service, region)
        if key not in self._clients:
            config = Config(
                region_name=region,
                connect_timeout=float(self.option("connect_timeout")),
                read_timeout=float(self.option("read_timeout")),
                # total_max_attempts counts the first request too; botocore's own
                # "max_attempts" in this dict would count only the retries.
                retries={
                    "mode": self.option("retry_mode"),
                    "total_max_attempts": self.max_attempts,
                },
                user_agent_extra="cloud-portal",
            )
            self._clients[key] = self._boto_session().client(
                service, region_name=region, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[key]

    # --- turning failures into sentences -------------------------------------------------------

    def _endpoint_for(self, exc: Exception, service: str, region: str) -> str:
        url = getattr(exc, "kwargs", {}).get("endpoint_url")
        if url:
            return url
        if self.endpoint_url:
            return self.endpoint_url
        return f"https://{service}.{region}.amazonaws.com"

    def error(self, exc: Exception, region: str, service: str = "ec2") -> ProviderError:
        """A ProviderError (or ProviderAuthError) saying what went wrong, for a person."""
        label = "EC2" if service == "ec2" else service.upper()
        endpoint = self._endpoint_for(exc, service, region)

        if isinstance(exc, ClientError):
            error = exc.response.get("Error") or {}
            code = error.get("Code") or "Unknown"
            message = _short(error.get("Message") or "no details given")
            operation = exc.operation_name
            status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if code in AUTH_ERROR_CODES:
                return ProviderAuthError(
                    f"AWS rejected the access key {self.access_key_hint} for region {region}: "
                    f"{message} ({code})."
                )
            if code in THROTTLING_CODES:
                return ProviderError(
                    f"{label} in {region} was still throttling {operation} after "
                    f"{self.max_attempts} attempt(s) ({code}); the next sync will try again."
                )
            if code in {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}:
                return ProviderError(
                    f"The access key {self.access_key_hint} may not call {operation} in "
                    f"{region}; allow {service}:{operation} in its IAM policy ({code})."
                )
            return ProviderError(
                f"{label} in {region} answered {operation} with an error: {message} "
                f"({code}, HTTP {status}, after {self.max_attempts} attempt(s) at most)."
            )
        if isinstance(exc, ConnectTimeoutError):
            return ProviderError(
                f"Could not reach the {label} endpoint {endpoint}: no connection within "
                f"{self.option('connect_timeout')} s."
            )
        if isinstance(exc, EndpointConnectionError):
            return ProviderError(
                f"Could not reach the {label} endpoint {endpoint}: {_connection_reason(exc)}."
            )
        if isinstance(exc, ReadTimeoutError):
            return ProviderError(
                f"The {label} endpoint {endpoint} did not answer within "
                f"{self.option('read_timeout')} s (region {region}, "
                f"{self.max_attempts} attempt(s))."
            )
        if isinstance(exc, ResponseParserError):
            # botocore's own message repeats the whole body; the body is of no use to a person.
            return ProviderError(
                f"The {label} endpoint {endpoint} sent an answer for {region} that is not "
                f"valid AWS XML."
            )
        if isinstance(exc, UnexpectedAnswer):
            return ProviderError(
                f"The {label} endpoint {endpoint} sent an answer for {region} the portal "
                f"could not understand: {exc}."
            )
        return ProviderError(f"The request to {label} in {region} failed: {_short(exc)}.")

    def _call(self, region: str, fn: Callable[[], Any], service: str = "ec2") -> Any:
        try:
            return fn()
        except (BotoCoreError, ClientError, ResponseParserError) as exc:
            raise self.error(exc, region, service) from exc

    # --- reading ------------------------------------------------------------------------------

    def regions(self) -> list[str]:
        """The configured regions, or every region the account has enabled."""
        configured = self.settings.get("regions") or []
        if isinstance(configured, str):
            configured = configured.split(",")
        configured = [region.strip() for region in configured if region and region.strip()]
        if configured:
            return list(dict.fromkeys(configured))

        home = self.option("home_region")
        answer = self._call(home, lambda: self.client("ec2", home).describe_regions())
        if "Regions" not in answer:
            raise self.error(UnexpectedAnswer("no region list"), home)
        regions = sorted(entry["RegionName"] for entry in answer["Regions"]
                         if entry.get("RegionName"))
        if not regions:
            raise ProviderError(f"AWS lists no enabled region for the access key "
                                f"{self.access_key_hint}.")
        return regions

    def instance_types(self, region: str, names: Iterable[str]) -> dict:
        """Facts of the named instance types, asking EC2 only for those not yet known."""
        wanted = sorted({name for name in names if name} - set(self._types))
        for start in range(0, len(wanted), TYPE_BATCH):
            batch = wanted[start:start + TYPE_BATCH]
            self._types.update(self._describe_types(region, batch))
        return self._types

    def _describe_types(self, region: str, batch: list[str]) -> dict:
        found: dict[str, InstanceTypeInfo | None] = dict.fromkeys(batch)
        try:
            pages = self.client("ec2", region).get_paginator("describe_instance_types").paginate(
                InstanceTypes=batch
            )
            for page in pages:
                for entry in page.get("InstanceTypes") or []:
                    found[entry.get("InstanceType")] = type_info_from(entry)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InvalidInstanceType":
                raise
            # One type this endpoint does not know spoils the whole batch; ask one by one so
            # the others still get their sizes, and leave the unknown ones without.
            if len(batch) == 1:
                logger.warning("EC2 in %s does not know instance type %s; its size stays "
                               "unknown", region, batch[0])
                return found
            for name in batch:
                found.update(self._describe_types(region, [name]))
        return found

    def _instances(self, region: str) -> Iterator[HostRecord]:
        paginator = self.client("ec2", region).get_paginator("describe_instances")
        pages = paginator.paginate(
            Filters=[{"Name": "instance-state-name", "Values": LISTED_STATES}],
            PaginationConfig={"PageSize": self.page_size},
        )
        count = 0
        for page in pages:
            # An answer without the reservation list is not an empty region: taking it as one
            # would archive every host there.
            if "Reservations" not in page:
                raise UnexpectedAnswer("a DescribeInstances answer without a reservation list")
            instances = [
                instance
                for reservation in page["Reservations"]
                for instance in reservation.get("Instances") or []
            ]
            types = self.instance_types(
                region, (instance.get("InstanceType") for instance in instances)
            )
            for instance in instances:
                info = types.get(instance.get("InstanceType"))
                record = host_record_from(instance, region, info)
                if record is not None:
                    count += 1
                    yield record
        logger.debug("EC2 in %s listed %d instances", region, count)

    def discover(self) -> Iterator[Item]:
        self._boto_session()
        regions = self.regions()
        yield ScopePlan(tuple(regions))

        # A region that rejects the key may just not be enabled for the account, so it fails
        # alone; but when every region rejects it, the key itself is wrong and the whole sync
        # fails with that. Until some region answers, rejections are held back to tell which.
        rejected: list[tuple[str, ProviderAuthError]] = []
        # Some region answered with something other than a rejection of the key.
        answered = False
        for region in regions:
            failure = None
            try:
                for record in self._instances(region):
                    answered = True
                    yield record
            except (BotoCoreError, ClientError, ResponseParserError, UnexpectedAnswer) as exc:
                failure = self.error(exc, region)
                unexpected = isinstance(exc, ResponseParserError | UnexpectedAnswer)
                log = logger.warning if unexpected else logger.debug
                log("EC2 region %s could not be read: %s", region, failure)

            if isinstance(failure, ProviderAuthError) and not answered:
                rejected.append((region, failure))
                continue
            answered = True
            for name, held in rejected:
                yield ScopeFailed(name, str(held))
            rejected.clear()
            yield ScopeFailed(region, str(failure)) if failure else ScopeDone(region)

        if rejected:
            raise rejected[0][1]

    def check(self) -> str:
        self._boto_session()
        configured = bool(self.settings.get("regions"))
        regions = self.regions()
        if configured:
            # Listing the zones is the cheapest signed EC2 call: it proves the key and the
            # endpoint for each region the syncs will read.
            for region in regions:
                self._call(region, lambda r=region: self.client("ec2", r)
                           .describe_availability_zones())

        home = regions[0] if configured else self.option("home_region")
        try:
            account = self.client("sts", home).get_caller_identity().get("Account")
        except (BotoCoreError, ClientError, ResponseParserError) as exc:
            # EC2 already accepted the key; an EC2-compatible endpoint may offer no STS, and
            # the account number is only a courtesy in the summary.
            logger.debug("STS in %s gave no account id: %s", home, exc)
            account = None

        reach = f"{len(regions)} region{'s' if len(regions) != 1 else ''} reachable"
        return f"Account {account}, {reach}" if account else f"Account unknown, {reach}"

    # --- acting -------------------------------------------------------------------------------

    def locate(self, external_id: str) -> tuple[str, str]:
        """``(region, instance_id)`` for "region/i-…" or a bare "i-…" (searched for)."""
        match = _REGION_WITH_ID.match(external_id.strip())
        if match:
            return match["region"], match["instance"]

        instance_id = external_id.strip()
        regions = self.regions()
        for region in regions:
            try:
                self.client("ec2", region).describe_instances(InstanceIds=[instance_id])
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "InvalidInstanceID.NotFound":
                    continue
                raise self.error(exc, region) from exc
            except (BotoCoreError, ResponseParserError) as exc:
                raise self.error(exc, region) from exc
            return region, instance_id
        raise ProviderError(
            f"No instance {instance_id} was found in {', '.join(regions)}."
        )

    def power(self, external_id: str, action: str) -> None:
        """Start, stop or reboot an instance; ``external_id`` as ``locate`` takes it."""
        if action not in POWER_ACTIONS:
            raise ProviderError(
                f"Unknown power action {action!r}: use one of {', '.join(POWER_ACTIONS)}."
            )
        method, extra = POWER_ACTIONS[action]
        region, instance_id = self.locate(external_id)
        self._call(region, lambda: getattr(self.client("ec2", region), method)(
            InstanceIds=[instance_id], **extra
        ))
        logger.info("asked EC2 in %s to %s %s", region, action, instance_id)

    def power_state(self, external_id: str) -> str:
        region, instance_id = self.locate(external_id)
        answer = self._call(region, lambda: self.client("ec2", region).describe_instances(
            InstanceIds=[instance_id]
        ))
        instances = [
            instance
            for reservation in answer.get("Reservations") or []
            for instance in reservation.get("Instances") or []
        ]
        if not instances:
            raise ProviderError(f"EC2 in {region} no longer knows instance {instance_id}.")
        return STATES.get((instances[0].get("State") or {}).get("Name", ""), HostState.UNKNOWN)

    def retire(self, external_id: str) -> None:
        """Terminate an instance for good; ``external_id`` as ``locate`` takes it."""
        region, instance_id = self.locate(external_id)
        self._call(region, lambda: self.client("ec2", region).terminate_instances(
            InstanceIds=[instance_id]
        ))
        logger.info("asked EC2 in %s to terminate %s", region, instance_id)
