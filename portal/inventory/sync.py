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

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.inventory.models import Host, HostInterval, Provider, SyncRun, SyncStatus
from providers.base import (
    HostRecord,
    HostState,
    ProviderAuthError,
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
    "memory_mib", "os", "system_uuid", "addresses", "tags", "launched_at", "scope",
)
SIZE_FIELDS = ("vcpus", "memory_mib", "sockets")


class SyncBusy(Exception):
    """Another worker holds the provider's sync lease."""


def _record_values(record: HostRecord) -> dict:
    values = {name: getattr(record, name) for name in RECORD_FIELDS}
    values["addresses"] = list(record.addresses)
    values["tags"] = dict(record.tags)
    values["name"] = record.name[:255]
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

    def apply_batch(self, records: list[HostRecord]) -> None:
        # A provider can list the same host twice (paging races); the last word wins.
        by_id = {record.external_id: record for record in records}
        for record in by_id.values():
            self.seen.setdefault(record.scope, set()).add(record.external_id)

        existing = {
            host.external_id: host
            for host in Host.objects.filter(provider=self.provider, external_id__in=list(by_id))
        }
        to_create, to_update, changed_fields = [], [], set()
        for external_id, record in by_id.items():
            values = _record_values(record)
            host = existing.get(external_id)
            if host is None:
                to_create.append(
                    Host(
                        provider=self.provider, tenant_id=self.provider.tenant_id,
                        external_id=external_id, first_seen=self.now, last_seen=self.now,
                        **values,
                    )
                )
                continue

            changes = {name for name, value in values.items() if getattr(host, name) != value}
            if host.archived_at is not None:
                host.archived_at = None
                changes.add("archived_at")
            if changes or self.now - host.last_seen >= LAST_SEEN_GRANULARITY:
                for name in changes:
                    if name in values:
                        setattr(host, name, values[name])
                host.last_seen = self.now
                changes.add("last_seen")
                to_update.append(host)
                changed_fields |= changes
            if changes - {"last_seen"}:
                self.run.updated += 1
            else:
                self.run.unchanged += 1

        with transaction.atomic():
            created = Host.objects.bulk_create(to_create)
            if to_update:
                # One UPDATE for the batch, limited to the fields that changed somewhere in it.
                Host.objects.bulk_update(to_update, sorted(changed_fields))
            if not all(host.pk for host in created):
                # Backends without RETURNING give no ids back: fetch them in one query.
                ids = dict(
                    Host.objects.filter(
                        provider=self.provider, external_id__in=[h.external_id for h in created]
                    ).values_list("external_id", "pk")
                )
                for host in created:
                    host.pk = ids[host.external_id]
            self._meter(created + to_update)
        self.run.created += len(created)
        self.run.seen += len(by_id)

    def _meter(self, hosts: Iterable[Host]) -> None:
        """Open, close or resize the intervals of hosts whose facts may have changed."""
        hosts = list(hosts)
        if not hosts:
            return

        open_by_host = {
            interval.host_id: interval
            for interval in HostInterval.objects.filter(
                host_id__in=[host.pk for host in hosts], ended_at__isnull=True
            )
        }
        to_close, to_open = [], []
        for host in hosts:
            interval = open_by_host.get(host.pk)
            size = tuple(getattr(host, name) for name in SIZE_FIELDS)
            if interval is not None:
                current = tuple(getattr(interval, name) for name in SIZE_FIELDS)
                if host.is_billable and current == size:
                    continue
                to_close.append(interval.pk)
            if host.is_billable:
                to_open.append(
                    HostInterval(host_id=host.pk, started_at=self.now, **dict(zip(SIZE_FIELDS, size)))
                )

        if to_close:
            HostInterval.objects.filter(pk__in=to_close).update(ended_at=self.now)
        if to_open:
            HostInterval.objects.bulk_create(to_open)

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


def _save_progress(run: SyncRun) -> None:
    run.save(update_fields=[
        "seen", "created", "updated", "unchanged", "archived", "scopes_total", "scopes_done",
        "errors",
    ])


def reconcile(provider: Provider, run: SyncRun, items, *, owner: str = "",
              on_progress: Callable[[SyncRun], None] | None = None) -> None:
    """Apply a driver's item stream to the database, updating ``run`` as it goes."""
    reconciler = Reconciler(provider, run)
    batch: list[HostRecord] = []

    def flush() -> None:
        if batch:
            reconciler.apply_batch(batch)
            batch.clear()
            _save_progress(run)
            if owner and not renew(provider.pk, owner):
                raise ProviderError("The sync lease was lost to another worker; stopping.")
            if on_progress:
                on_progress(run)

    for item in items:
        if isinstance(item, HostRecord):
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                flush()
        elif isinstance(item, ScopePlan):
            run.scopes_total = len(item.scopes)
        elif isinstance(item, ScopeDone):
            flush()
            reconciler.archive_unseen(item.scope)
            run.scopes_done += 1
            _save_progress(run)
        elif isinstance(item, ScopeFailed):
            flush()
            run.errors[item.scope] = item.error
            run.scopes_done += 1
            logger.warning(
                "sync of provider %s: scope %s failed, its hosts are kept: %s",
                provider.pk, item.scope, item.error,
            )
            _save_progress(run)
    flush()


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
    except ProviderAuthError as exc:
        status, message = SyncStatus.FAILED, str(exc)
    except ProviderError as exc:
        status, message = SyncStatus.FAILED, str(exc)
    except Exception as exc:
        logger.exception("sync of provider %s crashed", provider.pk)
        status, message = SyncStatus.FAILED, f"Internal error: {exc.__class__.__name__}: {exc}"
    else:
        if run.errors and len(run.errors) >= max(run.scopes_done, 1):
            status, message = SyncStatus.FAILED, "No scope could be read."
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
