"""The sync engine: reconcile one provider's discovered records into Host rows and intervals.

The shape of the work (see DESIGN.md, "Sync engine"):

1. claim the provider with a conditional UPDATE on ``sync_lease_until`` so only one worker syncs
   it at a time, on SQLite and PostgreSQL alike; a killed worker's lease simply runs out;
2. read the driver's records in batches: one query fetches the batch's existing rows, new ones
   go in with one ``bulk_create``, changed ones with one ``bulk_update`` of the changed fields,
   so the number of queries grows with batches, never with rows;
3. archive, only inside scopes that were read whole, the hosts that were not seen;
4. open and close metering intervals as hosts start, stop, resize or disappear;
5. close the run as succeeded, partial or failed and release the lease.
"""

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.utils import timezone

from portal.inventory.bulk import insert_rows
from portal.inventory.checks import redact
from portal.inventory.models import (
    Host,
    HostInterval,
    Provider,
    ProviderProject,
    SyncRun,
    SyncStatus,
)
from providers.base import (
    HostRecord,
    HostState,
    ProjectRecord,
    ProviderError,
    ScopeDone,
    ScopeFailed,
    ScopePlan,
)

logger = logging.getLogger(__name__)

# Big enough that 10,000 hosts take ten round trips, small enough that one batch's IN list
# stays far below SQLite's bound-parameter limit and a batch commits in well under a second.
BATCH_SIZE = 1000

# Refreshing last_seen on every sync would rewrite every row every time; refreshing it at most
# this often keeps a no-change resync free of writes while last_seen stays accurate to the hour.
LAST_SEEN_GRANULARITY = timedelta(hours=1)

# Fields copied from a HostRecord onto a Host; a difference in any of them is a change.
RECORD_FIELDS = (
    "name", "kind", "state", "region", "zone", "instance_type", "sockets", "cores", "vcpus",
    "memory_mib", "os", "system_uuid", "addresses", "tags", "launched_at", "scope", "threads",
    "serial", "manufacturer", "model", "bios_version", "mac_addresses", "location",
    "provider_status", "project", "parent_external_id",
)
SIZE_FIELDS = ("vcpus", "memory_mib", "sockets")
# The stored facts: the record's fields plus a digest of them, compared first.
FACT_FIELDS = (*RECORD_FIELDS, "fingerprint")


class SyncBusy(Exception):
    """Another worker holds the provider's sync lease."""


_PLAIN_FACTS = attrgetter(*(name for name in RECORD_FIELDS if name != "tags"))


def _fingerprint(record: HostRecord) -> str:
    """A digest of the record's facts: equal digests mean nothing to write."""
    # repr() of plain values is stable across runs and cheap; tags are sorted because a
    # provider may list them in any order. 16 bytes of BLAKE2 make an accidental match between
    # two different fact sets practically impossible.
    facts = (_PLAIN_FACTS(record), sorted(record.tags.items()))
    return hashlib.blake2b(repr(facts).encode(), digest_size=16).hexdigest()


def _record_values(record: HostRecord, fingerprint: str | None = None) -> dict:
    """The Host field values a record stands for, with their fingerprint."""
    values = {name: getattr(record, name) for name in RECORD_FIELDS}
    values["addresses"] = list(record.addresses)
    values["mac_addresses"] = list(record.mac_addresses)
    values["tags"] = dict(sorted(record.tags.items()))
    values["name"] = record.name[:255]
    values["fingerprint"] = fingerprint or _fingerprint(record)
    return values


# --- the lease -----------------------------------------------------------------------------

def claim(provider_id: int, owner: str, seconds: int | None = None) -> bool:
    """Take the provider's sync lease if it is free or expired. One UPDATE, no locks held."""
    now = timezone.now()
    seconds = seconds or settings.PORTAL_SYNC_LEASE_SECONDS
    claimed = (
        Provider.objects.filter(pk=provider_id)
        .filter(Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lte=now))
        .update(sync_lease_until=now + timedelta(seconds=seconds), sync_lease_owner=owner)
    )
    return claimed == 1


def renew(provider_id: int, owner: str, seconds: int | None = None) -> bool:
    """Extend our own lease; False when it was lost (expired and taken over)."""
    seconds = seconds or settings.PORTAL_SYNC_LEASE_SECONDS
    until = timezone.now() + timedelta(seconds=seconds)
    return bool(
        Provider.objects.filter(pk=provider_id, sync_lease_owner=owner).update(
            sync_lease_until=until
        )
    )


def release(provider_id: int, owner: str) -> None:
    Provider.objects.filter(pk=provider_id, sync_lease_owner=owner).update(
        sync_lease_until=None, sync_lease_owner=""
    )


# --- reconciling ---------------------------------------------------------------------------

@dataclass
class Reconciler:
    """Applies a stream of records to one provider's hosts, batch by batch."""

    provider: Provider
    run: SyncRun
    now: datetime = field(default_factory=timezone.now)
    seen: dict[str, set[str]] = field(default_factory=dict)
    # The provider had no hosts when the run began. Until an id comes round a second time no
    # row can exist, so the first import of a large account skips looking rows up.
    empty_at_start: bool = False
    _applied: set[str] = field(default_factory=set)

    def apply_batch(self, records: list[HostRecord]) -> None:
        # A provider can list the same host twice (paging races); the last word wins.
        by_id = {record.external_id: record for record in records}
        for record in by_id.values():
            self.seen.setdefault(record.scope, set()).add(record.external_id)
        nothing_stored = self.empty_at_start and self._applied.isdisjoint(by_id)
        self._applied.update(by_id)

        # Plain tuples of a few columns, not model instances: a no-change resync of 10,000
        # hosts is mostly this query, and the fingerprint spares reading every fact back.
        # Staleness of last_seen is decided in SQL: parsing 10,000 timestamps costs more.
        stale = ExpressionWrapper(
            Q(last_seen__lte=self.now - LAST_SEEN_GRANULARITY), output_field=BooleanField()
        )
        existing = {} if nothing_stored else {
            row[1]: row
            for row in Host.objects.filter(provider=self.provider, external_id__in=list(by_id))
            .annotate(stale=stale)
            .values_list("pk", "external_id", "fingerprint", "stale", "archived_at")
        }
        fingerprints = {external_id: _fingerprint(r) for external_id, r in by_id.items()}
        old_facts = self._facts_of_changed(existing, fingerprints)

        new_rows, updates, changed_fields, metered = [], [], set(), []
        for external_id, record in by_id.items():
            fingerprint = fingerprints[external_id]
            row = existing.get(external_id)
            if row is None:
                new_rows.append({
                    "provider_id": self.provider.pk, "tenant_id": self.provider.tenant_id,
                    "external_id": external_id, "first_seen": self.now, "last_seen": self.now,
                    "archived_at": None, **_record_values(record, fingerprint),
                })
                continue

            pk, _, stored_fingerprint, stale, archived_at = row
            if stored_fingerprint == fingerprint and not stale and archived_at is None:
                # The common case of a resync: nothing to compare field by field.
                self.run.unchanged += 1
                continue

            values = _record_values(record, fingerprint)
            changes = {
                name for name, old in old_facts.get(pk, {}).items() if old != values[name]
            }
            if archived_at is not None:
                changes.add("archived_at")
            if changes:
                self.run.updated += 1
            else:
                self.run.unchanged += 1
            if changes or stale:
                # bulk_update writes the union of changed fields for every row in the batch,
                # so each instance carries all current values, not just its own changes.
                updates.append(Host(pk=pk, last_seen=self.now, archived_at=None, **values))
                changed_fields |= changes | {"last_seen"}
                metered.append((pk, values))

        with transaction.atomic():
            created_ids = insert_rows(Host, new_rows)
            if updates:
                Host.objects.bulk_update(updates, sorted(changed_fields))
            self._meter(metered, new=zip(created_ids, new_rows, strict=True))
        self.run.created += len(new_rows)
        self.run.seen += len(by_id)

    def _facts_of_changed(self, existing: dict, fingerprints: dict) -> dict[int, dict]:
        """Stored facts of the hosts whose fingerprint differs, to tell which fields changed."""
        changed = [
            row[0] for external_id, row in existing.items() if row[2] != fingerprints[external_id]
        ]
        if not changed:
            return {}
        return {
            pk: dict(zip(FACT_FIELDS, facts, strict=True))
            for pk, *facts in Host.objects.filter(pk__in=changed).values_list("pk", *FACT_FIELDS)
        }

    def _meter(self, hosts: list[tuple[int, dict]], new) -> None:
        """Open, close or resize the intervals of seen hosts whose facts may have changed.

        ``hosts`` and ``new`` hold (host id, current values) pairs of existing and of just
        created hosts; all of them are active, since they were just seen.
        """
        open_by_host = {}
        if hosts:
            open_by_host = {
                host_id: (pk, size)
                for pk, host_id, *size in HostInterval.objects.filter(
                    host_id__in=[pk for pk, _ in hosts], ended_at__isnull=True
                ).values_list("pk", "host_id", *SIZE_FIELDS)
            }
        to_close, to_open = [], []
        for host_id, values in [*hosts, *new]:
            billable = values["state"] in HostState.BILLABLE
            size = [values[name] for name in SIZE_FIELDS]
            interval = open_by_host.get(host_id)
            if interval is not None:
                if billable and interval[1] == size:
                    continue
                to_close.append(interval[0])
            if billable:
                to_open.append({
                    "host_id": host_id, "started_at": self.now, "ended_at": None,
                    **dict(zip(SIZE_FIELDS, size, strict=True)),
                })

        if to_close:
            HostInterval.objects.filter(pk__in=to_close).update(ended_at=self.now)
        insert_rows(HostInterval, to_open)

    def archive_unseen(self, scope: str) -> int:
        """Archive the scope's active hosts that this run did not see, closing their intervals."""
        seen = self.seen.get(scope, set())
        active = Host.objects.active().filter(provider=self.provider, scope=scope)
        gone = [pk for pk, external_id in active.values_list("pk", "external_id")
                if external_id not in seen]
        for start in range(0, len(gone), BATCH_SIZE):
            chunk = gone[start:start + BATCH_SIZE]
            with transaction.atomic():
                Host.objects.filter(pk__in=chunk).update(archived_at=self.now)
                HostInterval.objects.filter(host_id__in=chunk, ended_at__isnull=True).update(
                    ended_at=self.now
                )
        self.run.archived += len(gone)
        return len(gone)

    def link_parents(self) -> int:
        """Point each host at the host its ``parent_external_id`` names; one UPDATE."""
        hosts = Host.objects.filter(provider=self.provider)
        parent_pk = Subquery(
            Host.objects.filter(
                provider=self.provider, external_id=OuterRef("parent_external_id")
            ).values("pk")[:1]
        )
        # Only rows whose link is wrong are written, so a resync that changed nothing writes
        # nothing; a parent that is not stored (yet) leaves the link empty.
        wrong = (
            Q(parent__isnull=True, parent_external_id__gt="")
            | (Q(parent__isnull=False) & ~Q(parent__external_id=F("parent_external_id")))
        )
        stale = hosts.filter(wrong)
        if not stale.exists():
            return 0
        return stale.update(parent=parent_pk)

    def record_projects(self, projects: list[ProjectRecord]) -> None:
        """Create or refresh the provider's projects; mappings to tenants are kept as they are."""
        by_id = {project.external_id: project for project in projects}
        stored = {
            project.external_id: project
            for project in ProviderProject.objects.filter(
                provider=self.provider, external_id__in=list(by_id)
            )
        }
        new, changed = [], []
        for external_id, record in by_id.items():
            facts = {
                "name": record.name[:255], "domain": record.domain[:255],
                "description": record.description, "enabled": record.enabled,
            }
            project = stored.get(external_id)
            if project is None:
                new.append(ProviderProject(
                    provider=self.provider, external_id=external_id[:255],
                    first_seen=self.now, last_seen=self.now, **facts,
                ))
                continue
            for name, value in facts.items():
                setattr(project, name, value)
            project.last_seen = self.now
            changed.append(project)
        with transaction.atomic():
            ProviderProject.objects.bulk_create(new)
            ProviderProject.objects.bulk_update(
                changed, ["name", "domain", "description", "enabled", "last_seen"]
            )


def _save_progress(run: SyncRun) -> None:
    run.save(update_fields=[
        "seen", "created", "updated", "unchanged", "archived", "scopes_total", "scopes_done",
        "errors",
    ])


def reconcile(provider: Provider, run: SyncRun, items, *, owner: str = "",
              on_progress: Callable[[SyncRun], None] | None = None) -> None:
    """Apply a driver's item stream to the database, updating ``run`` as it goes."""
    # Errors are shown to people and logged: no credential may be quoted in them.
    credentials = provider.credentials
    empty = not Host.objects.filter(provider=provider).exists()
    reconciler = Reconciler(provider, run, empty_at_start=empty)
    batch: list[HostRecord] = []
    projects: list[ProjectRecord] = []

    def report() -> None:
        _save_progress(run)
        if on_progress:
            on_progress(run)

    def flush() -> None:
        if batch:
            reconciler.apply_batch(batch)
            batch.clear()
            report()
            if owner and not renew(provider.pk, owner):
                raise ProviderError("The sync lease was lost to another worker; stopping.")

    for item in items:
        if isinstance(item, HostRecord):
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                flush()
        elif isinstance(item, ProjectRecord):
            projects.append(item)
        elif isinstance(item, ScopePlan):
            run.scopes_total = len(item.scopes)
            report()
        elif isinstance(item, ScopeDone):
            flush()
            reconciler.archive_unseen(item.scope)
            run.scopes_done += 1
            report()
        elif isinstance(item, ScopeFailed):
            flush()
            error = redact(item.error, credentials)
            run.errors[item.scope] = error
            run.scopes_done += 1
            logger.warning(
                "sync of provider %s: scope %s failed, its hosts are kept: %s",
                provider.pk, item.scope, error,
            )
            report()
    flush()
    if projects:
        reconciler.record_projects(projects)
    reconciler.link_parents()


# --- one whole sync ------------------------------------------------------------------------

def start_run(provider: Provider, triggered_by: str = "") -> SyncRun:
    """Record a queued run, so callers can point at it before a worker picks it up."""
    return SyncRun.objects.create(provider=provider, triggered_by=triggered_by[:150])


def _finish(run: SyncRun, status: str, message: str = "") -> SyncRun:
    run.status = status
    run.message = message or run.message
    run.finished_at = timezone.now()
    run.save()
    return run


def sync_provider(provider_id: int, run_id: int | None = None, *, triggered_by: str = "",
                  on_progress: Callable[[SyncRun], None] | None = None) -> SyncRun:
    """Sync one provider now. Returns the run; a busy provider gives a ``skipped`` run."""
    provider = Provider.objects.select_related("tenant").get(pk=provider_id)
    run = SyncRun.objects.get(pk=run_id) if run_id else start_run(provider, triggered_by)
    owner = uuid.uuid4().hex

    if not claim(provider.pk, owner):
        logger.info("sync of provider %s skipped: another worker holds its lease", provider.pk)
        return _finish(run, SyncStatus.SKIPPED, "Another sync of this provider is running.")

    started = time.monotonic()
    run.status = SyncStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        reconcile(provider, run, provider.driver().discover(), owner=owner,
                  on_progress=on_progress)
    except ProviderError as exc:
        status, message = SyncStatus.FAILED, redact(str(exc), provider.credentials)
    except Exception as exc:
        logger.exception("sync of provider %s crashed", provider.pk)
        status = SyncStatus.FAILED
        message = redact(f"Internal error: {exc.__class__.__name__}: {exc}", provider.credentials)
    else:
        if run.errors and len(run.errors) >= max(run.scopes_done, 1):
            reasons = "; ".join(f"{scope}: {error}" for scope, error in run.errors.items())
            status, message = SyncStatus.FAILED, f"No scope could be read. {reasons}"
        elif run.errors:
            status, message = SyncStatus.PARTIAL, f"{len(run.errors)} scope(s) failed."
        else:
            status, message = SyncStatus.SUCCEEDED, ""
    finally:
        release(provider.pk, owner)

    _finish(run, status, message)
    Provider.objects.filter(pk=provider.pk).update(last_sync_at=run.finished_at, last_run=run)
    log = logger.warning if status != SyncStatus.SUCCEEDED else logger.info
    log(
        "sync of provider %s (%s) %s in %.1fs: seen=%d created=%d updated=%d unchanged=%d "
        "archived=%d errors=%d %s",
        provider.pk, provider.name, status, time.monotonic() - started, run.seen, run.created,
        run.updated, run.unchanged, run.archived, len(run.errors), message,
        extra={"provider_id": provider.pk, "sync_run_id": run.pk, "status": status},
    )
    return run


# A queued run that no worker picked up within this time is given up (broker lost it, or no
# worker listens on the sync queue), so the scheduler may queue the provider again.
QUEUED_RUN_TIMEOUT = timedelta(hours=1)


def fail_abandoned_runs(now: datetime | None = None) -> int:
    """Close runs whose worker died (running, lease gone) or that were never picked up."""
    now = now or timezone.now()
    live_lease = Q(provider__sync_lease_until__gt=now)
    running = SyncRun.objects.filter(status=SyncStatus.RUNNING).exclude(live_lease)
    stuck = SyncRun.objects.filter(
        status=SyncStatus.QUEUED, queued_at__lt=now - QUEUED_RUN_TIMEOUT
    )
    count = running.update(
        status=SyncStatus.FAILED, finished_at=now,
        message="The worker running this sync stopped before finishing (its lease expired).",
    )
    count += stuck.update(
        status=SyncStatus.FAILED, finished_at=now,
        message="No worker picked this sync up within an hour; is a worker consuming 'sync'?",
    )
    if count:
        logger.warning("closed %d abandoned sync run(s)", count)
    return count
