"""The built-in scheduler for the embedded default: Celery beat's job, without a broker.

When no broker is configured, the web process starts one daemon thread that calls the
periodic tasks every ``PORTAL_SCHEDULER_TICK`` seconds. With a broker, ``celery beat`` does this
and the thread is never started.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

_started = threading.Event()


def _loop(stop: threading.Event) -> None:
    # The same tasks celery beat would send (CELERY_BEAT_SCHEDULE), called in this thread.
    tasks = [import_string(path) for path in settings.PORTAL_PERIODIC_TASKS]

    while not stop.is_set():
        for task in tasks:
            try:
                task()
            except Exception:
                logger.exception("embedded scheduler: %s failed", getattr(task, "name", task))
            finally:
                close_old_connections()
        stop.wait(settings.PORTAL_SCHEDULER_TICK)


def start(stop: threading.Event | None = None) -> bool:
    """Start the loop once per process; returns False when it was already running."""
    if _started.is_set():
        return False
    _started.set()

    threading.Thread(
        target=_loop, args=(stop or threading.Event(),), name="portal-scheduler", daemon=True
    ).start()
    logger.info("embedded scheduler started (tick %ss)", settings.PORTAL_SCHEDULER_TICK)
    return True
