"""Django settings for the portal.

Everything an operator changes comes from the environment (see the README's configuration
table). With nothing set the portal runs on the embedded default: SQLite under ``var/`` and
Celery tasks executed inside the portal process.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.conf import env_bool, env_float, env_int, env_list, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

# Development fallbacks only: with DEBUG off a missing value stops start-up.
SECRET_KEY = env_required("SECRET_KEY", "insecure-development-key-do-not-use", required=not DEBUG)
PORTAL_ENCRYPTION_KEY = env_required(
    "PORTAL_ENCRYPTION_KEY",
    # A fixed, public Fernet key: fine for a laptop demo, never for real credentials.
    "cG9ydGFsLWRldi1rZXktbmV2ZXItcHJvZHVjdGlvbiE=",
    required=not DEBUG,
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Demo mode seeds a demo tenant, the demo/demo login and a local moto AWS account.
PORTAL_DEMO = env_bool("PORTAL_DEMO", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal.tenancy",
    "portal.audit",
    "portal.inventory",
    "portal.operations",
    "portal.registry",
    "portal.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.web.context_processors.portal",
            ],
        },
    },
]

_SQLITE_URL = f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _SQLITE_URL))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web process and the in-process task threads write
    # without "database is locked" errors; the timeout covers a sync's batch commit.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": env_str("PORTAL_TEST_SQLITE", "") or None}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds login throttling counters; with several web processes they must share one.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("CACHE_URL must be a redis:// or rediss:// URL.")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic's output; created up front so whitenoise finds it even before the first run.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
SESSION_COOKIE_HTTPONLY = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.tenancy.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.portal_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cloud management portal API",
    "DESCRIPTION": "Inventory, sync and chargeback across bare metal, OpenStack and AWS.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Hosts and providers both have a "kind": give each choice set its own readable name.
    "ENUM_NAME_OVERRIDES": {
        "ProviderKindEnum": "portal.inventory.models.ProviderKind",
        "HostKindEnum": "portal.api.schema.host_kind_choices",
        # Sync runs and power requests both have a "status"; the sync run's keeps its old name.
        "StatusEnum": "portal.inventory.models.SyncStatus",
        "PowerRequestStatusEnum": "portal.operations.models.PowerStatus",
        "PowerActionEnum": "portal.operations.models.PowerActionChoice",
    },
}

# API tokens live this long unless the request asks for less.
PORTAL_TOKEN_TTL_DAYS = env_int("PORTAL_TOKEN_TTL_DAYS", 90)

# The largest CSV a host import accepts. 5 MB holds the row limit (20,000 hosts) with room
# to spare, and a request never parses more than this.
PORTAL_IMPORT_MAX_BYTES = env_int("PORTAL_IMPORT_MAX_BYTES", 5 * 1024 * 1024)

# Celery. With no broker URL, tasks run inside the portal process (see portal/dispatch.py).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ROUTES = {
    "portal.inventory.tasks.sync_provider_task": {"queue": "sync"},
    "portal.inventory.tasks.queue_due_syncs_task": {"queue": "sync"},
    # A power task waits minutes for its host; it must not hold up syncs or other work.
    "portal.operations.tasks.power_task": {"queue": "provision"},
    "portal.operations.tasks.expire_abandoned_power_task": {"queue": "provision"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULE = {
    "queue-due-syncs": {
        "task": "portal.inventory.tasks.queue_due_syncs_task",
        "schedule": env_int("PORTAL_SCHEDULER_TICK", 60),
    },
    "expire-abandoned-power-requests": {
        "task": "portal.operations.tasks.expire_abandoned_power_task",
        "schedule": env_int("PORTAL_SCHEDULER_TICK", 60),
    },
}
# What the embedded scheduler (portal/scheduler.py) runs at every tick without a broker.
PORTAL_PERIODIC_TASKS = [entry["task"] for entry in CELERY_BEAT_SCHEDULE.values()]
# How portal.dispatch runs a task: "celery" (send to the broker), "thread" (in this process,
# in the background, so a page never waits for a sync) or "inline" (right away; the tests).
PORTAL_TASK_MODE = env_str("PORTAL_TASK_MODE", "celery" if CELERY_BROKER_URL else "thread")
if PORTAL_TASK_MODE not in {"celery", "thread", "inline"}:
    raise ImproperlyConfigured("PORTAL_TASK_MODE must be celery, thread or inline.")
if PORTAL_TASK_MODE == "celery" and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("PORTAL_TASK_MODE=celery needs CELERY_BROKER_URL.")
# Start the built-in scheduler loop in the web process when there is no broker.
PORTAL_EMBEDDED_SCHEDULER = env_bool("PORTAL_EMBEDDED_SCHEDULER", not CELERY_BROKER_URL)
PORTAL_SCHEDULER_TICK = env_int("PORTAL_SCHEDULER_TICK", 60)
# A sync claims its provider for this long and renews the claim after every batch.
PORTAL_SYNC_LEASE_SECONDS = env_int("PORTAL_SYNC_LEASE_SECONDS", 300)
# Power actions: how long a host may take to reach the asked state (a provider's
# "power_timeout" setting overrides it) and how often its state is read meanwhile.
PORTAL_POWER_TIMEOUT = env_int("PORTAL_POWER_TIMEOUT", 180)
PORTAL_POWER_POLL_INTERVAL = env_float("PORTAL_POWER_POLL_INTERVAL", 2.0)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "portal.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},
    },
}
