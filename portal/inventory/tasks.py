"""Celery tasks for inventory: thin wrappers around ``portal.inventory.sync``."""

import logging

from celery import shared_task
from django.utils import timezone

from portal.dispatch import dispatch
from portal.inventory import sync
from portal.inventory.models import Provider, SyncRun, SyncStatus

logger = logging.getLogger(__name__)


@shared_task(name="portal.inventory.tasks.sync_provider_task")
def sync_provider_task(provider_id: int, run_id: int | None = None) -> int:
    """Sync one provider; returns the SyncRun id."""
    return sync.sync_provider(provider_id, run_id).pk


def queue_sync(provider: Provider, triggered_by: str = "") -> SyncRun:
    """Record a queued run for ``provider`` and send its task; return the run."""
    run = sync.start_run(provider, triggered_by)
    dispatch(sync_provider_task, provider.pk, run.pk)
    return run


def due_providers(now=None):
    """Enabled providers whose interval has passed and that have no run queued or running."""
    now = now or timezone.now()
    busy = SyncRun.objects.filter(
        status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]
    ).values("provider_id")
    candidates = Provider.objects.filter(enabled=True).exclude(pk__in=busy)
    return [provider for provider in candidates if provider.is_sync_due(now)]


@shared_task(name="portal.inventory.tasks.queue_due_syncs_task")
def queue_due_syncs_task() -> int:
    """Periodic: queue a sync for every provider that is due. Returns how many were queued."""
    sync.fail_abandoned_runs()
    providers = due_providers()
    for provider in providers:
        queue_sync(provider, triggered_by="schedule")
    if providers:
        logger.info("queued %d scheduled sync(s)", len(providers))
    return len(providers)
