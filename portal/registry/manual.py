"""Writing hand-registered hosts: one code path for the form, the API and the CSV import.

Each tenant keeps its hand-registered hosts under one provider of kind ``manual`` whose host
``external_id`` is the serial number. Writes go through the sync engine's ``Reconciler``, so
fingerprints, ``last_seen`` and metering intervals behave exactly as for synced hosts, and each
write is recorded as a ``SyncRun`` in the provider's history.

A write first *plans*: every registration is compared with the stored host and becomes a
create, an update (with the old and new value of each changed field) or unchanged. A dry run
stops there. A real write plans again under a lock on the provider row, so two imports of the
same tenant never interleave, and writes only what changed: re-registering identical facts
writes nothing at all. Nothing is ever archived because it was left out: an import adds and
updates only.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.inventory.models import Host, Provider, ProviderKind, SyncRun, SyncStatus
from portal.inventory.sync import BATCH_SIZE, RECORD_FIELDS, Reconciler
from portal.registry import fields
from portal.tenancy.models import Tenant
from providers.base import HostKind, HostRecord, HostState

logger = logging.getLogger(__name__)

MANUAL_PROVIDER_NAME = "Registered by hand"
# The scope of hand-registered hosts. Nothing archives by scope here: no ScopeDone is sent.
MANUAL_SCOPE = "manual"

# The facts a person registers, in the order pages and plans show them.
EDITABLE = (
    "name", "kind", "state", "sockets", "cores", "threads", "memory_mib", "location",
    "manufacturer", "model", "tags",
)
DEFAULTS = {
    "kind": HostKind.BARE_METAL, "state": fields.RUNNING, "threads": None,
    "manufacturer": "", "model": "", "tags": {},
}
# How a registry state is stored on the Host.
_HOST_STATES = {
    fields.RUNNING: HostState.RUNNING,
    fields.STOPPED: HostState.STOPPED,
    fields.RETIRED: HostState.TERMINATED,
}

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


class AlreadyRegistered(Exception):
    """A registration meant to create a host names a serial the tenant already has."""

    def __init__(self, host: Host):
        self.host = host
        state = " (retired)" if host.archived_at else ""
        super().__init__(
            f"Serial {host.external_id!r} is already registered in tenant "
            f"'{host.tenant.slug}' as host #{host.pk}{state}; change that host instead."
        )


@dataclass(frozen=True)
class Registration:
    """One host as a person described it: only the facts they gave are in ``values``."""

    tenant: Tenant
    serial: str
    values: dict
    # Where it came from in a CSV file (the spreadsheet's row number), for plans and errors.
    row: int | None = None


@dataclass
class Planned:
    """What a registration does to the stored host."""

    registration: Registration
    action: str
    desired: dict
    host: Host | None = None
    # {field: (old, new)} for an update.
    changes: dict = field(default_factory=dict)

    @property
    def host_id(self) -> int | None:
        return self.host.pk if self.host is not None else None


@dataclass
class Outcome:
    """The plan of a write, and the runs that recorded it (none for a dry run or no change)."""

    planned: list[Planned]
    runs: list[SyncRun] = field(default_factory=list)
    written: bool = False

    def count(self, action: str) -> int:
        return sum(1 for item in self.planned if item.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {action: self.count(action) for action in (CREATE, UPDATE, UNCHANGED)}


def _find_manual_provider(tenant: Tenant) -> Provider | None:
    return (
        Provider.objects.filter(tenant=tenant, kind=ProviderKind.MANUAL).order_by("pk").first()
    )


def manual_provider_for(tenant: Tenant) -> Provider:
    """The tenant's provider for hand-registered hosts, created on first need."""
    provider = _find_manual_provider(tenant)
    if provider is not None:
        return provider

    # A second name only for a tenant that already has another kind of provider by the first.
    for name in (MANUAL_PROVIDER_NAME, f"{MANUAL_PROVIDER_NAME} (hosts)"):
        try:
            # A savepoint: losing the race to a concurrent request leaves our transaction usable.
            with transaction.atomic():
                provider = Provider.objects.create(
                    tenant=tenant, name=name, kind=ProviderKind.MANUAL, enabled=True
                )
        except IntegrityError:
            provider = _find_manual_provider(tenant)
            if provider is not None:
                return provider
            continue
        logger.info("created the manual provider of tenant %s", tenant.slug)
        return provider
    raise IntegrityError(f"No free name for the manual provider of tenant {tenant.slug}.")


def current_values(host: Host) -> dict:
    """A stored host's facts as the registry names them."""
    values = {name: getattr(host, name) for name in EDITABLE if name != "state"}
    values["state"] = fields.state_of(host)
    values["tags"] = dict(sorted((host.tags or {}).items()))
    return values


def _stored_hosts(provider: Provider | None, serials: list[str]) -> dict[str, Host]:
    if provider is None:
        return {}
    found = {}
    # Chunks keep each IN list far below SQLite's bound-parameter limit.
    for start in range(0, len(serials), BATCH_SIZE):
        chunk = serials[start:start + BATCH_SIZE]
        hosts = Host.objects.filter(provider=provider, external_id__in=chunk)
        found.update({host.external_id: host for host in hosts.select_related("tenant")})
    return found


def _plan_tenant(provider: Provider | None, registrations: list[Registration]) -> list[Planned]:
    stored = _stored_hosts(provider, [item.serial for item in registrations])
    planned = []
    for registration in registrations:
        host = stored.get(registration.serial)
        if host is None:
            desired = {**DEFAULTS, **registration.values}
            planned.append(Planned(registration, CREATE, desired))
            continue

        current = current_values(host)
        desired = {**current, **registration.values}
        changes = {
            name: (current[name], desired[name])
            for name in EDITABLE if current[name] != desired[name]
        }
        action = UPDATE if changes else UNCHANGED
        planned.append(Planned(registration, action, desired, host, changes))
    return planned


def _by_tenant(registrations: Iterable[Registration]):
    ordered = sorted(registrations, key=lambda item: item.tenant.pk)
    for _, group in groupby(ordered, key=lambda item: item.tenant.pk):
        items = list(group)
        yield items[0].tenant, items


def plan(registrations: Iterable[Registration]) -> list[Planned]:
    """What writing ``registrations`` would do, without writing anything."""
    planned = []
    for tenant, items in _by_tenant(registrations):
        planned.extend(_plan_tenant(_find_manual_provider(tenant), items))
    return _in_given_order(planned)


def _in_given_order(planned: list[Planned]) -> list[Planned]:
    return sorted(planned, key=lambda item: (item.registration.row or 0))


def _record(item: Planned) -> HostRecord:
    """The HostRecord the Reconciler writes: stored facts the registry does not edit are kept."""
    desired = item.desired
    kept = {}
    if item.host is not None:
        kept = {name: getattr(item.host, name) for name in RECORD_FIELDS}
        kept["addresses"] = tuple(kept["addresses"] or ())
        kept["mac_addresses"] = tuple(kept["mac_addresses"] or ())
    facts = {
        **kept,
        "scope": kept.get("scope") or MANUAL_SCOPE,
        "name": desired["name"],
        "kind": desired["kind"],
        "state": _HOST_STATES[desired["state"]],
        "sockets": desired["sockets"],
        "cores": desired["cores"],
        "threads": desired["threads"],
        # Rate plans price vCPU-hours; on bare metal those are the hardware threads.
        "vcpus": desired["threads"] or desired["cores"],
        "memory_mib": desired["memory_mib"],
        "location": desired["location"],
        "manufacturer": desired["manufacturer"],
        "model": desired["model"],
        "serial": item.registration.serial,
        "tags": dict(desired["tags"]),
    }
    return HostRecord(external_id=item.registration.serial, **facts)


def _write_tenant(provider: Provider, planned: list[Planned], triggered_by: str) -> SyncRun:
    now = timezone.now()
    changed = [item for item in planned if item.action != UNCHANGED]
    run = SyncRun.objects.create(
        provider=provider, status=SyncStatus.RUNNING, triggered_by=triggered_by[:150],
        started_at=now,
    )
    reconciler = Reconciler(provider, run, now=now)
    for start in range(0, len(changed), BATCH_SIZE):
        reconciler.apply_batch([_record(item) for item in changed[start:start + BATCH_SIZE]])

    # The Reconciler brings back every host it is given (a seen host is active); a retired
    # host is archived again here, keeping the moment it was first retired.
    retiring = [item for item in changed if item.desired["state"] == fields.RETIRED]
    newly = [item.registration.serial for item in retiring
             if item.host is None or item.host.archived_at is None]
    for start in range(0, len(newly), BATCH_SIZE):
        Host.objects.filter(
            provider=provider, external_id__in=newly[start:start + BATCH_SIZE]
        ).update(archived_at=now)
    for item in retiring:
        if item.host is not None and item.host.archived_at is not None:
            Host.objects.filter(pk=item.host.pk).update(archived_at=item.host.archived_at)

    unchanged = len(planned) - len(changed)
    run.seen += unchanged
    run.unchanged += unchanged
    run.archived = len(newly)
    run.status = SyncStatus.SUCCEEDED
    run.scopes_total = run.scopes_done = 1
    run.finished_at = timezone.now()
    run.save()
    Provider.objects.filter(pk=provider.pk).update(last_run=run, last_sync_at=run.finished_at)
    return run


def _attach_hosts(provider: Provider, planned: list[Planned]) -> None:
    """Point every planned item at its host as stored now."""
    stored = _stored_hosts(provider, [item.registration.serial for item in planned])
    for item in planned:
        item.host = stored.get(item.registration.serial, item.host)


def write(registrations: Iterable[Registration], *, triggered_by: str,
          dry_run: bool = False, create_only: bool = False) -> Outcome:
    """Plan ``registrations`` and, unless ``dry_run``, write what changed, all or nothing.

    ``create_only`` refuses (``AlreadyRegistered``) a serial the tenant already has, checked
    under the same lock as the write, so two concurrent registrations cannot both create it.
    """
    registrations = list(registrations)
    if dry_run:
        return Outcome(plan(registrations))

    planned, runs = [], []
    with transaction.atomic():
        for tenant, items in _by_tenant(registrations):
            provider = manual_provider_for(tenant)
            # Held to the end of the transaction: a second import of this tenant waits here
            # and then plans against what this one wrote.
            provider = Provider.objects.select_for_update().get(pk=provider.pk)
            tenant_plan = _plan_tenant(provider, items)
            if create_only:
                taken = next((item for item in tenant_plan if item.action != CREATE), None)
                if taken is not None:
                    raise AlreadyRegistered(taken.host)
            if any(item.action != UNCHANGED for item in tenant_plan):
                runs.append(_write_tenant(provider, tenant_plan, triggered_by))
                _attach_hosts(provider, tenant_plan)
            planned.extend(tenant_plan)

    outcome = Outcome(_in_given_order(planned), runs, written=bool(runs))
    if runs:
        logger.info(
            "hand-registered hosts written by %s: created=%d updated=%d unchanged=%d",
            triggered_by, outcome.count(CREATE), outcome.count(UPDATE),
            outcome.count(UNCHANGED),
        )
    return outcome


def retire(host: Host, *, triggered_by: str) -> Outcome:
    """Retire (archive) one hand-registered host, closing its metering interval."""
    registration = Registration(host.tenant, host.external_id, {"state": fields.RETIRED})
    return write([registration], triggered_by=triggered_by)


def is_manual(host: Host) -> bool:
    return host.provider.kind == ProviderKind.MANUAL


def audit_changes(item: Planned) -> dict:
    """A planned item as an audit event records it: new values, or old and new ones."""
    if item.action == CREATE:
        return {"serial": item.registration.serial, **item.desired}
    return {name: {"old": old, "new": new} for name, (old, new) in item.changes.items()}
