"""Settings for the test suite: the portal's own, with test-friendly environment defaults.

pytest-django imports settings before any conftest runs, so the defaults are set here.
Anything already in the environment (DATABASE_URL, CELERY_BROKER_URL) still wins.
"""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("LOG_FORMAT", "text")
# Tasks run inline, even with a broker configured; the worker test switches to "celery".
os.environ.setdefault("PORTAL_TASK_MODE", "inline")
os.environ.setdefault("PORTAL_EMBEDDED_SCHEDULER", "0")

from portal.settings import *  # noqa: E402,F403
from portal.settings import DATABASES  # noqa: E402

# Fast hashing: password checks are not what these tests measure.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # In-memory test database: WAL and a file are for the running portal, not for tests.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
