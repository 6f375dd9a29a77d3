"""Sending a task to Celery, or running it in this process when no broker is configured.

With a broker (``CELERY_BROKER_URL``) tasks go to the workers. On the embedded default they run
in the portal process: on a background thread, so a page or API call never waits for a sync,
or inline when ``PORTAL_TASKS_IN_THREAD`` is off (the test suite does that).
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)


def _run_in_thread(task, args) -> None:
    def target() -> None:
        try:
            task.apply(args=args, throw=False)
        finally:
            # The thread got its own connection from Django; return it.
            close_old_connections()

    threading.Thread(target=target, name=f"task-{task.name}", daemon=True).start()


def dispatch(task, *args) -> None:
    """Queue ``task(*args)`` once the current transaction commits."""
    def send() -> None:
        if settings.CELERY_BROKER_URL:
            task.delay(*args)
        elif settings.PORTAL_TASKS_IN_THREAD:
            _run_in_thread(task, args)
        else:
            task.apply(args=args, throw=True)

    transaction.on_commit(send)
