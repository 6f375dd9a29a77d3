"""Fixtures for the API tests: a small estate of acme rows and a stand-in driver."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.utils import timezone

from portal.inventory.models import HostInterval, SyncRun
from tests.factories import make_hosts


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache, which outlives a test; start every test at zero.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def stub_driver(monkeypatch):
    """Make aws providers use tests.api.drivers.StubDriver."""
    import providers

    monkeypatch.setitem(providers.DRIVERS, "aws", "tests.api.drivers.StubDriver")


@pytest.fixture
def estate(make_provider, tenant):
    """One acme provider with a host, an interval and a finished sync run."""
    provider = make_provider(settings={"regions": ["eu-west-1"]})
    (host,) = make_hosts(provider, 1)
    interval = HostInterval.objects.create(
        host=host, started_at=timezone.now() - timedelta(hours=2), vcpus=2, memory_mib=4096,
    )
    run = SyncRun.objects.create(provider=provider, status="succeeded")
    provider.last_run = run
    provider.save(update_fields=["last_run"])
    return SimpleNamespace(
        tenant=tenant, provider=provider, host=host, interval=interval, run=run
    )
