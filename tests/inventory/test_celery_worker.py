"""A real Celery worker process runs a sync that the portal queued through the real broker.

Runs in the PostgreSQL + Redis leg of ``make test`` (it needs CELERY_BROKER_URL and a database
another process can open). The worker is ``celery -A portal worker`` as operators start it.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from portal.celery import app
from portal.inventory.models import Host, SyncRun, SyncStatus
from portal.inventory.tasks import queue_sync
from providers.simulators import aws as aws_simulator

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("The worker test needs PostgreSQL: set DATABASE_URL (make test does).")
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    """A `celery worker` subprocess on the test database, consuming the sync queue."""
    # Messages left by an earlier, interrupted run would be executed against this database.
    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare("sync", durable=True)
        conn.default_channel.queue_purge("sync")

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PORTAL_TASK_MODE": "celery",
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
         "-Q", "sync", "-n", f"test-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
         "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    print((tmp_path / "worker.log").read_text()[-3000:])


def test_worker_process_runs_a_sync_queued_through_the_broker(
    worker, aws, make_provider, settings
):
    settings.PORTAL_TASK_MODE = "celery"
    ids = aws_simulator.seed_demo_estate(aws.url, regions=("eu-west-1",), per_region=4)
    provider = make_provider(settings=aws.settings(regions=["eu-west-1"]))

    run = queue_sync(provider, triggered_by="worker test")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            break
        time.sleep(0.25)

    assert worker.poll() is None, "the worker process exited early"
    assert run.status == SyncStatus.SUCCEEDED, run.message
    assert run.created == 4
    assert set(Host.objects.filter(provider=provider).values_list("external_id", flat=True)) == \
        set(ids["eu-west-1"])
    assert SyncRun.objects.get(pk=run.pk).finished_at is not None
