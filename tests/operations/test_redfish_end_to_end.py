"""A power request on the real Redfish driver, against a sushy-tools emulator.

The emulator applies a power change after a random 1 to 11 seconds, so the request is followed
by real polling of the BMC until the system shows off; the sync queued afterwards moves the
host along.
"""

import pytest
import sushy

from portal.inventory.models import Host, SyncRun
from portal.inventory.sync import sync_provider
from portal.operations.models import PowerRequest
from portal.operations.power import request_power
from providers.redfish import NoAuth
from tests.fixtures.redfish import EMULATOR_SYSTEMS

# Well past the emulator's longest delay, yet short enough for a failing test to end soon.
POWER_TIMEOUT = 30

FORCE_OFF_SYSTEM = next(s for s in EMULATOR_SYSTEMS if s["name"] == "power-force-off")


@pytest.fixture(autouse=True)
def real_polls(settings):
    # The conftest polls a fake cloud every millisecond; a real BMC is read a few times a second.
    settings.PORTAL_POWER_POLL_INTERVAL = 0.25


@pytest.fixture
def bmc_host(make_provider, redfish_emulator):
    """The emulator's power-force-off system (on), synced into the portal as a host."""
    provider = make_provider(
        kind="redfish", name="rack-a", credentials={},
        settings={"bmcs": [{"name": "rack-a", "url": redfish_emulator.url}], "timeout": 2,
                  "power_timeout": POWER_TIMEOUT},
    )
    assert sync_provider(provider.pk).status == "succeeded"
    return Host.objects.get(provider=provider, external_id=f"rack-a/{FORCE_OFF_SYSTEM['uuid']}")


def test_force_off_is_followed_until_the_bmc_shows_the_system_off(
    bmc_host, redfish_emulator, operator_user, django_capture_on_commit_callbacks
):
    bmc = sushy.Sushy(redfish_emulator.url + "/redfish/v1", auth=NoAuth())
    system_path = f"/redfish/v1/Systems/{FORCE_OFF_SYSTEM['uuid']}"
    state_before = bmc_host.state

    # Tasks run inline once the request's transaction commits, the sync after the power task.
    with django_capture_on_commit_callbacks(execute=True):
        asked = request_power(bmc_host, "force_off", user=operator_user)

    done = PowerRequest.objects.get(pk=asked.pk)
    bmc_host.refresh_from_db()
    run = SyncRun.objects.get(triggered_by=f"power request #{done.pk}")
    assert state_before == "running"
    assert (done.status, done.observed_state, done.message) == ("confirmed", "stopped", "")
    assert done.deadline_seconds == POWER_TIMEOUT
    assert bmc.get_system(system_path).power_state == sushy.PowerState.OFF
    assert done.sync_run == run and run.status == "succeeded"
    assert bmc_host.state == "stopped"
