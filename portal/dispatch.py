"""Sending a task to Celery, or running it in this process when no broker is configured.

``PORTAL_TASK_MODE`` decides: "celery" sends tasks to the workers through the broker (the default
when ``CELERY_BROKER_URL`` is set); "thread" runs them in the portal process on a background
thread, so a page or API call never waits for a sync (the embedded default); "inline" runs them
right away in the caller (the test suite).
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
        if settings.PORTAL_TASK_MODE == "celery":
            task.delay(*args)
        elif settings.PORTAL_TASK_MODE == "thread":
            _run_in_thread(task, args)
        else:
            task.apply(args=args, throw=True)

    transaction.on_commit(send)
