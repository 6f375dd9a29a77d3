"""The OpenStack driver against a real, standalone OpenStack Ironic (no identity service).

Ironic runs from tests/fixtures/ironic.py with fake-hardware nodes; the driver reaches it the
way an operator without Keystone would configure it: auth_type "none" and an endpoint
override for the bare-metal service.
"""

import time

import pytest

from portal.inventory import sync
from portal.inventory.models import Host, SyncStatus
from providers.base import HostState, ScopeDone, ScopePlan
from providers.openstack import OpenStackDriver

# A fake-hardware power change lands at once, but through Ironic's conductor thread.
POWER_DEADLINE = 30


def settings_for(ironic) -> dict:
    return {"auth_type": "none", "endpoint_overrides": {"baremetal": ironic.url},
            "services": ["baremetal"], "regions": ["RegionOne"], "page_size": 10}


def wait_for_power(ironic, node_id: str, wanted: str) -> str:
    """The node's power state as Ironic reports it, once it is ``wanted`` or time is up."""
    deadline = time.monotonic() + POWER_DEADLINE
    while True:
        state = ironic.connection().baremetal.get_node(node_id).power_state
        if state == wanted or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


@pytest.fixture
def provider(make_provider, ironic):
    return make_provider(name="ironic", kind="openstack", settings=settings_for(ironic),
                         credentials={})


def test_nodes_appear_as_bare_metal_hosts_with_power_and_provision_state(provider, ironic):
    big = ironic.create_node("rack1-u1", resource_class="baremetal-large",
                             properties={"cpus": 64, "memory_mb": 524288})
    small = ironic.create_node("rack1-u2", properties={"cpus": 8, "memory_mb": 32768})
    ironic.connection().baremetal.set_node_power_state(big, "power on")
    assert wait_for_power(ironic, big.id, "power on") == "power on"
    ironic.connection().baremetal.set_node_power_state(small, "power off")
    assert wait_for_power(ironic, small.id, "power off") == "power off"

    run = sync.sync_provider(provider.pk, triggered_by="test")

    assert run.status == SyncStatus.SUCCEEDED, run.message
    assert (run.scopes_total, run.created) == (1, 2)
    on, off = Host.objects.get(name="rack1-u1"), Host.objects.get(name="rack1-u2")
    assert (on.external_id, on.scope, on.kind) == (f"node/{big.id}", "RegionOne/baremetal",
                                                   "bare_metal")
    # A node created at a recent API version starts its life in Ironic's "enroll" state.
    assert (on.state, on.provider_status) == (HostState.RUNNING, "enroll")
    assert (on.cores, on.memory_mib, on.instance_type) == (64, 524288, "baremetal-large")
    assert (off.state, off.cores, off.memory_mib) == (HostState.STOPPED, 8, 32768)
    assert on.intervals.filter(ended_at__isnull=True).count() == 1
    assert not off.intervals.exists()


def test_power_on_changes_the_node_in_ironic_and_reads_back(ironic):
    node = ironic.create_node("rack2-u1")
    ironic.connection().baremetal.set_node_power_state(node, "power off")
    assert wait_for_power(ironic, node.id, "power off") == "power off"
    driver = OpenStackDriver(settings_for(ironic), {})

    before = driver.power_state(f"node/{node.id}")
    driver.power(f"node/{node.id}", "on")
    landed = wait_for_power(ironic, node.id, "power on")
    after = driver.power_state(f"node/{node.id}")
    driver.power(f"node/{node.id}", "force_off")
    forced = wait_for_power(ironic, node.id, "power off")

    assert (before, landed, after, forced) == (HostState.STOPPED, "power on",
                                               HostState.RUNNING, "power off")


def test_discovery_and_check_need_no_identity_service(ironic):
    node = ironic.create_node("rack3-u1")
    driver = OpenStackDriver(settings_for(ironic), {})

    items = list(driver.discover())
    summary = driver.check()

    assert items[0] == ScopePlan(("RegionOne/baremetal",))
    assert items[-1] == ScopeDone("RegionOne/baremetal")
    assert [item.external_id for item in items[1:-1]] == [f"node/{node.id}"]
    assert summary == ("1 region (RegionOne), services: baremetal; no identity service "
                       "(auth_type none)")
