"""Fixtures for power actions: a fake cloud behind the AWS kind, hosts in it, quick polling."""

from types import SimpleNamespace

import pytest

from tests.factories import make_host
from tests.operations import drivers

CREDENTIALS = {"access_key_id": "AKIAPOWERTEST0001", "secret_access_key": "power-s3cret-Xy9"}


@pytest.fixture(autouse=True)
def quick_polls(settings):
    # Real waiting would make every test take seconds; the logic is the same at any pace.
    settings.PORTAL_POWER_POLL_INTERVAL = 0.001
    settings.PORTAL_POWER_TIMEOUT = 5


@pytest.fixture
def fake_cloud(monkeypatch):
    """Make aws providers use tests.operations.drivers.PowerStubDriver; returns its estate."""
    import providers

    monkeypatch.setitem(providers.DRIVERS, "aws", "tests.operations.drivers.PowerStubDriver")
    monkeypatch.setattr(drivers, "ESTATE", drivers.FakeCloud())
    return drivers.ESTATE


@pytest.fixture
def power(make_provider, fake_cloud, tenant):
    """An acme provider on the fake cloud with one running host, ``web``."""
    provider = make_provider(settings={"regions": ["eu-west-1"]}, credentials=CREDENTIALS)
    host = make_host(provider, "web", scope="eu-west-1")
    fake_cloud.states[host.external_id] = "running"
    return SimpleNamespace(tenant=tenant, provider=provider, host=host, cloud=fake_cloud)


@pytest.fixture
def manual_host(make_provider):
    """A hand-registered acme host: nothing the portal could power."""
    provider = make_provider(name="by hand", kind="manual", credentials={})
    return make_host(provider, "rack-7")


class FakeClock:
    """``clock`` and ``sleep`` for run_power_request: sleeping moves the clock, instantly."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()
