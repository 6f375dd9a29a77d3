"""WSGI entry point (gunicorn portal.wsgi)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Without a broker there is no celery beat: the web process runs the scheduler itself.
if settings.PORTAL_EMBEDDED_SCHEDULER and settings.PORTAL_TASK_MODE == "thread":
    from portal import scheduler

    scheduler.start()
