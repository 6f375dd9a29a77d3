"""The sync engine end to end with the Redfish driver: one provider, several real BMCs.

Each BMC is a scope. A BMC that is down, answers garbage or rejects the login fails alone: the
run ends partial, the reason is kept per BMC, and hosts it held before stay where they were.
"""

import logging

import pytest

from portal.inventory.models import Host, HostInterval, SyncStatus
from tests.fixtures.redfish import BMC_PASSWORD, BMC_USER, EMULATOR_SYSTEMS
from tests.helpers import run_sync

DEFAULT_PASSWORD = "rack-default-Pa55"


def redfish_provider(make_provider, bmcs, credentials=None, name="rack-a"):
    settings = {"bmcs": [{"name": bmc, "url": url} for bmc, url in bmcs], "timeout": 2}
    return make_provider(kind="redfish", name=name, settings=settings,
                         credentials=credentials or {})


def hosts_of(provider, scope):
    return Host.objects.filter(provider=provider, scope=scope)


@pytest.fixture
def rack(make_provider, redfish_emulator, redfish_static, locked_emulator, fake_bmc,
         closed_port):
    """Two good BMCs and three bad ones: down, answering garbage, rejecting the login."""
    bmcs = [("emulated", redfish_emulator.url), ("enclosure", redfish_static.url),
            ("down", closed_port), ("garbage", fake_bmc.url), ("locked", locked_emulator.url)]
    credentials = {
        "username": BMC_USER,
        "password": DEFAULT_PASSWORD,
        "bmcs": {"locked": {"password": "wrong-" + BMC_PASSWORD}},
    }
    return redfish_provider(make_provider, bmcs, credentials)


def test_good_bmcs_are_stored_and_each_bad_one_is_reported_alone(rack, caplog):
    for name in (None, "sushy", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)

    run = run_sync(rack)

    assert run.status == SyncStatus.PARTIAL and run.message == "3 scope(s) failed."
    assert (run.scopes_total, run.scopes_done, run.created) == (5, 5, 8)
    assert hosts_of(rack, "emulated").count() == len(EMULATOR_SYSTEMS)
    assert set(hosts_of(rack, "enclosure").values_list("external_id", flat=True)) == {
        "enclosure/Node1", "enclosure/Node2"}
    assert set(run.errors) == {"down", "garbage", "locked"}
    assert run.errors["down"] == (
        f"Could not reach BMC down at {rack.settings['bmcs'][2]['url']}: connection refused."
    )
    assert "answered with something that is not JSON" in run.errors["garbage"]
    assert "rejected the username and password (HTTP 401)" in run.errors["locked"]
    everything = f"{run.errors} {run.message} {caplog.text}"
    assert BMC_PASSWORD not in everything and DEFAULT_PASSWORD not in everything


def test_bare_metal_facts_reach_the_host_and_its_interval(rack):
    run_sync(rack)

    node = Host.objects.get(provider=rack, external_id="enclosure/Node1")
    stopped = Host.objects.get(provider=rack, external_id="enclosure/Node2")

    assert (node.kind, node.state, node.name) == ("bare_metal", "running", "db-01.example.net")
    assert (node.sockets, node.cores, node.threads, node.memory_mib) == (2, 64, 128, 524288)
    assert (node.serial, node.model, node.bios_version) == ("ES22G3A0001", "ES-2200 G3",
                                                           "2.19.1")
    assert node.mac_addresses == ["b0:7b:25:de:1a:10", "b0:7b:25:de:1a:11"]
    assert node.location == "Row B, Rack R12, U14" and node.provider_status == "On"
    interval = HostInterval.objects.get(host=node, ended_at__isnull=True)
    assert (interval.sockets, interval.vcpus, interval.memory_mib) == (2, 128, 524288)
    # A powered-off server accrues nothing.
    assert stopped.state == "stopped" and not stopped.intervals.exists()


def test_a_bmc_that_fails_later_keeps_its_hosts(make_provider, redfish_static, closed_port):
    provider = redfish_provider(make_provider, [("enclosure", redfish_static.url)])
    first = run_sync(provider)
    again = run_sync(provider)
    provider.settings = {"bmcs": [{"name": "enclosure", "url": closed_port}], "timeout": 2}
    provider.save()

    failed = run_sync(provider)

    assert (first.status, first.created) == (SyncStatus.SUCCEEDED, 2)
    # Reading the same BMC twice gives the same facts: nothing to write.
    assert (again.unchanged, again.updated, again.created) == (2, 0, 0)
    assert failed.status == SyncStatus.FAILED and failed.archived == 0
    assert "enclosure: Could not reach BMC enclosure" in failed.message
    kept = hosts_of(provider, "enclosure")
    assert kept.count() == 2 and not kept.filter(archived_at__isnull=False).exists()
    assert HostInterval.objects.filter(host__in=kept, ended_at__isnull=True).count() == 1


def test_a_bmc_that_fails_beside_a_good_one_keeps_its_hosts_on_a_partial_run(
    make_provider, redfish_static, redfish_emulator, fake_bmc
):
    provider = redfish_provider(
        make_provider, [("enclosure", redfish_static.url), ("emulated", redfish_emulator.url)]
    )
    run_sync(provider)
    provider.settings["bmcs"][0]["url"] = fake_bmc.url
    provider.save()

    run = run_sync(provider)

    assert run.status == SyncStatus.PARTIAL and set(run.errors) == {"enclosure"}
    assert run.archived == 0
    assert hosts_of(provider, "enclosure").filter(archived_at__isnull=True).count() == 2
    assert hosts_of(provider, "emulated").count() == len(EMULATOR_SYSTEMS)


def test_every_bmc_rejecting_the_login_fails_the_run(make_provider, locked_emulator):
    wrong = {"username": BMC_USER, "password": "wrong-" + BMC_PASSWORD}
    provider = redfish_provider(
        make_provider, [("locked", locked_emulator.url), ("locked-again", locked_emulator.url)],
        wrong,
    )

    run = run_sync(provider)

    assert run.status == SyncStatus.FAILED and run.created == 0
    assert run.message.startswith("No scope could be read. locked: BMC locked at")
    assert set(run.errors) == {"locked", "locked-again"}
    assert all("rejected the username and password" in error for error in run.errors.values())
    assert "wrong-" not in f"{run.message} {run.errors}"
