"""Shared fixtures: tenants and the personas that every access test checks.

Personas: ``admin`` and ``operator`` (may change providers), ``viewer`` and ``finance`` (read
only) of tenant "acme"; ``outsider``, an admin of another tenant who must see nothing of acme.
"""

import os
import shutil

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytest_plugins = [
    "tests.fixtures.ironic", "tests.fixtures.moto", "tests.fixtures.openstack",
    "tests.fixtures.redfish",
]

_deselected_reasons: list[str] = []


def pytest_collection_modifyitems(config, items):
    """Leave out, loudly, the tests whose real parts this machine lacks (never in CI).

    A worker test needs a broker; a browser test needs Debian's Chromium. In CI both are
    installed by .ci/run, so there a missing part fails the run instead.
    """
    in_ci = bool(os.environ.get("CI"))
    missing = {}
    if not settings.CELERY_BROKER_URL:
        missing["celery_worker"] = "a broker: CELERY_BROKER_URL is not set (make test sets it)"
    if not shutil.which(CHROMIUM) and not in_ci:
        missing["browser"] = f"Chromium: {CHROMIUM} is missing (apt-get install chromium)"

    kept, dropped = [], []
    for item in items:
        reason = next((why for mark, why in missing.items() if item.get_closest_marker(mark)),
                      None)
        (dropped if reason else kept).append(item)
        if reason and reason not in _deselected_reasons:
            _deselected_reasons.append(reason)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    for reason in _deselected_reasons:
        terminalreporter.write_line(f"NOT RUN here: tests that need {reason}", yellow=True)


@pytest.fixture
def tenant(db):
    from portal.tenancy.models import Tenant

    return Tenant.objects.create(name="Acme", slug="acme")


@pytest.fixture
def other_tenant(db):
    from portal.tenancy.models import Tenant

    return Tenant.objects.create(name="Globex", slug="globex")


def _user(username, tenant, role):
    from django.contrib.auth import get_user_model

    from portal.tenancy.models import Membership

    user = get_user_model().objects.create_user(username, password="pw-" + username)
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


@pytest.fixture
def admin_user(tenant):
    return _user("alice", tenant, "admin")


@pytest.fixture
def operator_user(tenant):
    return _user("oscar", tenant, "operator")


@pytest.fixture
def viewer_user(tenant):
    return _user("victor", tenant, "viewer")


@pytest.fixture
def finance_user(tenant):
    return _user("fiona", tenant, "finance")


@pytest.fixture
def outsider_user(other_tenant):
    return _user("mallory", other_tenant, "admin")


@pytest.fixture
def api_client_for():
    """``api_client_for(user)``: an APIClient authenticated with a fresh API token."""
    from portal.tenancy.models import ApiToken

    def make(user):
        client = APIClient()
        if user is not None:
            _, raw = ApiToken.issue(user, name="test")
            client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        return client

    return make


@pytest.fixture
def make_provider(tenant):
    """``make_provider(**fields)``: a Provider of the acme tenant (AWS by default)."""
    from portal.inventory.models import Provider

    def make(**fields):
        credentials = fields.pop("credentials", {"access_key_id": "AKIDEXAMPLE",
                                                 "secret_access_key": "s3cr3t-value"})
        fields.setdefault("tenant", tenant)
        fields.setdefault("name", "aws-main")
        fields.setdefault("kind", "aws")
        provider = Provider(**fields)
        provider.credentials = credentials
        provider.save()
        return provider

    return make


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright cannot download its own browser here; Debian's Chromium serves.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True,
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}
