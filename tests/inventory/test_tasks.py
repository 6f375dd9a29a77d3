"""Scheduling: which providers are due, the periodic task, abandoned runs, the embedded loop."""

import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal import scheduler
from portal.inventory import sync
from portal.inventory.models import Provider, SyncRun, SyncStatus
from portal.inventory.tasks import due_providers, queue_due_syncs_task

# Port 9 on loopback refuses connections: a provider there fails fast and for real.
REFUSED = {"regions": ["eu-west-1"], "endpoint_url": "http://127.0.0.1:9",
           "connect_timeout": 1, "max_attempts": 1}


class OneTick(threading.Event):
    """An event that lets the scheduler loop run exactly once."""

    def __init__(self):
        super().__init__()
        self.checks = 0

    def is_set(self):
        self.checks += 1
        return self.checks > 1

    def wait(self, timeout=None):
        return True


def test_due_providers_follow_interval_enabled_and_busy(make_provider):
    never = make_provider(name="never-synced")
    recent = make_provider(name="recent", last_sync_at=timezone.now())
    old = make_provider(name="old", last_sync_at=timezone.now() - timedelta(hours=2))
    make_provider(name="disabled", enabled=False)
    busy = make_provider(name="busy")
    SyncRun.objects.create(provider=busy, status=SyncStatus.QUEUED)

    due = {provider.name for provider in due_providers()}

    assert due == {never.name, old.name}
    assert recent.name not in due


def test_periodic_task_queues_each_due_provider_once(make_provider,
                                                     django_capture_on_commit_callbacks):
    provider = make_provider()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = queue_due_syncs_task()
        second = queue_due_syncs_task()

    assert (first, second) == (1, 0)
    assert len(callbacks) == 1
    run = SyncRun.objects.get(provider=provider)
    assert (run.status, run.triggered_by) == (SyncStatus.QUEUED, "schedule")


def test_abandoned_runs_are_closed_so_the_provider_is_due_again(make_provider):
    dead = make_provider(name="dead-worker")
    alive = make_provider(name="live-worker")
    stale = make_provider(name="never-picked-up")
    dead_run = SyncRun.objects.create(provider=dead, status=SyncStatus.RUNNING)
    live_run = SyncRun.objects.create(provider=alive, status=SyncStatus.RUNNING)
    assert sync.claim(alive.pk, "worker-x")
    stale_run = SyncRun.objects.create(provider=stale, status=SyncStatus.QUEUED)
    SyncRun.objects.filter(pk=stale_run.pk).update(
        queued_at=timezone.now() - sync.QUEUED_RUN_TIMEOUT - timedelta(minutes=1)
    )

    closed = sync.fail_abandoned_runs()

    assert closed == 2
    for run, status in ((dead_run, SyncStatus.FAILED), (live_run, SyncStatus.RUNNING),
                        (stale_run, SyncStatus.FAILED)):
        run.refresh_from_db()
        assert run.status == status
    assert "lease expired" in SyncRun.objects.get(pk=dead_run.pk).message
    assert {p.name for p in due_providers()} == {dead.name, stale.name}


def test_embedded_scheduler_loop_runs_due_syncs(make_provider, monkeypatch,
                                                django_capture_on_commit_callbacks):
    provider = make_provider(settings=REFUSED)
    # The loop normally runs on its own thread and closes that thread's connection after each
    # tick; here it runs on the test's thread, whose connection holds the test transaction.
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)

    with django_capture_on_commit_callbacks(execute=True):
        scheduler._loop(OneTick())

    run = SyncRun.objects.get(provider=provider)
    assert run.status == SyncStatus.FAILED
    assert run.triggered_by == "schedule"
    assert run.message
    assert Provider.objects.get(pk=provider.pk).last_sync_at is not None


def test_sync_command_reports_failure_with_the_reason(make_provider, capsys):
    make_provider(name="broken", settings=REFUSED)

    with pytest.raises(CommandError, match="1 of 1 sync"):
        call_command("sync", "broken")

    out = capsys.readouterr().out
    assert "broken: failed" in out
    assert "connection refused" in out


def test_sync_command_needs_a_name_or_all(db):
    with pytest.raises(CommandError, match="--all"):
        call_command("sync")
    with pytest.raises(CommandError, match="No provider"):
        call_command("sync", "nope")


def test_sync_command_syncs_a_provider_by_name_and_reports_counts(make_provider, aws, capsys):
    aws.run_instances("eu-west-1", 3)
    provider = make_provider(name="moto", settings=aws.settings(regions=["eu-west-1"]))

    call_command("sync", "moto")

    out = capsys.readouterr().out
    assert "moto: succeeded — seen 3, created 3" in out
    assert provider.hosts.count() == 3


def test_embedded_scheduler_runs_every_task_celery_beat_would(settings, monkeypatch):
    called = []
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)
    monkeypatch.setattr(
        "portal.inventory.tasks.queue_due_syncs_task", lambda: called.append("syncs") or 1
    )
    monkeypatch.setattr(
        "portal.operations.tasks.expire_abandoned_power_task", lambda: called.append("power")
    )

    scheduler._loop(OneTick())

    beat = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert settings.PORTAL_PERIODIC_TASKS == beat
    assert called == ["syncs", "power"]
