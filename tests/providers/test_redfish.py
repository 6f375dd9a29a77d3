"""The Redfish driver against real sushy-tools servers: facts, failures and power actions.

sushy-emulator's fake driver gives systems whose power really changes (after a random 1 to 11
seconds, so tests poll with a deadline); sushy-static serves the project's mockup for the full
hardware facts. Failures are real too: a closed port, a server answering garbage or 404s, a
slow one, and an emulator rejecting the login.
"""

import logging
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from sushy.auth import BasicAuth
from sushy.resources.constants import ResetType, State
from sushy.resources.system.constants import ProcessorType

from providers import get_driver_class
from providers.base import (
    HostKind,
    HostRecord,
    HostState,
    PowerAction,
    ProviderAuthError,
    ProviderError,
    ScopeDone,
    ScopeFailed,
    ScopePlan,
)
from providers.redfish import (
    NoAuth,
    RedfishDriver,
    choose_reset,
    cpu_facts,
    location_of,
    normalise_mac,
    root_url,
)
from tests.fixtures.redfish import BMC_PASSWORD, BMC_USER, EMULATOR_SYSTEMS, LOCKED_SYSTEMS

PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

# Polling for the emulator's power changes: its fake driver applies one within 11 s.
POLL_SECONDS, POWER_DEADLINE = 0.2, 20.0


def driver(*bmcs, credentials=None, **settings):
    bmcs_setting = [{"name": name, "url": url} for name, url in bmcs]
    return RedfishDriver({"bmcs": bmcs_setting, **settings}, credentials or {})


def settled_state(subject, external_id, wanted, deadline=POWER_DEADLINE):
    """Read a system's power state until it is ``wanted`` or the deadline passes; the last."""
    give_up_at = time.monotonic() + deadline
    while True:
        state = subject.power_state(external_id)
        if state == wanted or time.monotonic() >= give_up_at:
            return state
        time.sleep(POLL_SECONDS)


def discover(subject):
    items = list(subject.discover())
    records = {item.external_id: item for item in items if isinstance(item, HostRecord)}
    ends = {item.scope: item for item in items if isinstance(item, ScopeDone | ScopeFailed)}
    return items, records, ends


def by_name(systems, name):
    return next(system for system in systems if system["name"] == name)


def test_kind_redfish_resolves_to_this_driver():
    assert get_driver_class("redfish") is RedfishDriver
    assert RedfishDriver.kind == "redfish"


def test_bmcs_take_the_default_login_unless_their_own_overrides_it():
    subject = RedfishDriver(
        {"bmcs": [
            {"name": "rack1-u1", "url": "https://10.0.0.11/redfish/v1/"},
            {"name": "rack1-u2", "url": "https://10.0.0.12:8443", "verify": False},
        ]},
        {"username": "root", "password": "default-pw",
         "bmcs": {"rack1-u2": {"password": "own-pw"}}},
    )

    first, second = subject.bmcs()

    assert (first.url, first.verify, first.username, first.password) == (
        "https://10.0.0.11", True, "root", "default-pw")
    assert (second.url, second.verify, second.username, second.password) == (
        "https://10.0.0.12:8443", False, "root", "own-pw")
    assert "pw" not in repr(first) + repr(second)
    assert root_url("http://user:secret@bmc.example.net:8000/redfish/v1") == (
        "http://user:secret@bmc.example.net:8000")
    assert driver(("x", "http://user:secret@bmc:8000")).bmcs()[0].shown_url == "http://bmc:8000"


def test_client_gets_verify_timeouts_retries_and_login(monkeypatch):
    made = []
    monkeypatch.setattr("providers.redfish.sushy.Sushy",
                        lambda url, **kwargs: made.append((url, kwargs)))
    subject = RedfishDriver(
        {"bmcs": [{"name": "plain", "url": "https://10.0.0.1"},
                  {"name": "off", "url": "https://10.0.0.2", "verify": False, "ca_cert": PEM},
                  {"name": "own-ca", "url": "https://10.0.0.3/redfish/v1", "ca_cert": PEM}],
         "timeout": 4},
        {"username": "admin", "password": "pw-for-all"},
    )

    for bmc in subject.bmcs():
        subject.connect(bmc)
    anonymous = driver(("open", "http://127.0.0.1:1"))
    anonymous.connect(anonymous.bmcs()[0])

    (url, plain), (_, off), (own_url, own), (_, open_) = made
    assert (url, own_url) == ("https://10.0.0.1", "https://10.0.0.3")
    assert (plain["verify"], off["verify"]) == (True, False)
    ca_file = own["verify"]
    assert open(ca_file).read() == PEM
    assert stat.S_IMODE(os.stat(ca_file).st_mode) == 0o600
    assert (plain["read_timeout"], plain["connect_timeout"]) == (4.0, 4.0)
    assert (plain["server_side_retries"], plain["server_side_retries_delay"]) == (2, 1)
    assert isinstance(plain["auth"], BasicAuth) and isinstance(open_["auth"], NoAuth)
    # The CA file lives as long as the driver that wrote it.
    del subject
    assert not os.path.exists(ca_file)


def test_tls_certificate_is_checked_against_the_system_or_the_given_ca(tls_static):
    settings = {"bmcs": [
        {"name": "checked", "url": tls_static.url},
        {"name": "own-ca", "url": tls_static.url, "ca_cert": tls_static.certificate},
        {"name": "unchecked", "url": tls_static.url, "verify": False},
    ]}

    _, records, ends = discover(RedfishDriver(settings, {}))

    assert tls_static.url.startswith("https://")
    assert ends["checked"].error == (
        f"Could not reach BMC checked at {tls_static.url}: its TLS certificate was not "
        "accepted (self-signed certificate). Give the CA that signed it as ca_cert, or set "
        "verify to false."
    )
    assert ends["own-ca"] == ScopeDone("own-ca") and ends["unchecked"] == ScopeDone("unchecked")
    assert {"own-ca/Node1", "unchecked/Node1"} <= set(records)


def test_emulator_systems_come_with_identity_power_and_macs(redfish_emulator):
    subject = driver(("rack-a", redfish_emulator.url))

    items, records, ends = discover(subject)

    assert items[0] == ScopePlan(("rack-a",))
    assert ends == {"rack-a": ScopeDone("rack-a")}
    assert set(records) == {f"rack-a/{system['uuid']}" for system in EMULATOR_SYSTEMS}
    on = records[f"rack-a/{by_name(EMULATOR_SYSTEMS, 'steady-on')['uuid']}"]
    off = records[f"rack-a/{by_name(EMULATOR_SYSTEMS, 'steady-off')['uuid']}"]
    assert (on.name, on.kind, on.scope) == ("steady-on", HostKind.BARE_METAL, "rack-a")
    assert (on.state, on.provider_status) == (HostState.RUNNING, "On")
    assert (off.state, off.provider_status) == (HostState.STOPPED, "Off")
    assert on.system_uuid == by_name(EMULATOR_SYSTEMS, "steady-on")["uuid"]
    assert on.mac_addresses == ("52:54:00:ab:01:01",)
    assert on.manufacturer == "Sushy Emulator"
    # The emulator's chassis has a rack position; its fake systems have no processor facts.
    assert on.location == "Row North, Rack WEB43, U12"
    assert (on.sockets, on.cores, on.threads, on.memory_mib) == (None, None, None, None)
    assert (on.region, on.zone) == ("", "")


def test_mockup_gives_sockets_cores_threads_memory_and_hardware(redfish_static):
    subject = driver(("enclosure-7", redfish_static.url + "/redfish/v1/"))

    _, records, ends = discover(subject)

    assert ends == {"enclosure-7": ScopeDone("enclosure-7")}
    big, small = records["enclosure-7/Node1"], records["enclosure-7/Node2"]
    # ProcessorSummary.Count is the socket count; the GPU listed among the processors adds
    # neither a socket nor cores.
    assert (big.sockets, big.cores, big.threads, big.vcpus) == (2, 64, 128, 128)
    assert big.memory_mib == 512 * 1024
    assert (big.name, big.state, big.provider_status) == ("db-01.example.net", "running", "On")
    assert (big.serial, big.manufacturer, big.model) == ("ES22G3A0001", "Example Systems",
                                                         "ES-2200 G3")
    assert (big.bios_version, big.system_uuid) == ("2.19.1",
                                                   "4c4c4544-0042-3510-8052-b2c04f4e3132")
    assert big.mac_addresses == ("b0:7b:25:de:1a:10", "b0:7b:25:de:1a:11")
    assert big.addresses == ("10.20.0.11",)
    assert big.location == "Row B, Rack R12, U14"
    # A generic "System" name gives way to the BMC's name; 127.5 GiB is 130,560 MiB.
    assert (small.name, small.state) == ("enclosure-7/Node2", HostState.STOPPED)
    assert (small.sockets, small.cores, small.threads, small.memory_mib) == (1, 16, 32, 130560)
    assert small.mac_addresses == ("00:1b:21:aa:02:01",)


def test_two_bmcs_numbering_systems_alike_keep_their_hosts_apart(redfish_static):
    subject = driver(("left", redfish_static.url), ("right", redfish_static.url))

    _, records, ends = discover(subject)

    assert set(records) == {"left/Node1", "left/Node2", "right/Node1", "right/Node2"}
    assert records["right/Node1"].scope == "right"
    assert set(ends) == {"left", "right"}


@pytest.mark.parametrize(("case", "phrase"), [
    ("down", "Could not reach BMC broken at http://127.0.0.1:{port}: connection refused."),
    ("garbage", "answered with something that is not JSON: is the URL that of a Redfish"),
    ("missing", "has no such Redfish resource (HTTP 404, /redfish/v1/)"),
    ("slow", "BMC broken at http://127.0.0.1:{port} did not answer within 0.5 s"),
    ("wrong-password", "rejected the username and password (HTTP 401): check the login"),
    ("no-login", "asks for a login (HTTP 401) and none is set"),
])
def test_a_failing_bmc_fails_alone_with_a_readable_reason(
    case, phrase, redfish_static, locked_emulator, fake_bmc, closed_port
):
    urls = {"down": closed_port, "garbage": fake_bmc.url, "missing": fake_bmc.url,
            "slow": fake_bmc.url, "wrong-password": locked_emulator.url,
            "no-login": locked_emulator.url}
    fake_bmc.mode = case if case in fake_bmc.MODES else "garbage"
    logins = {"good": {"username": "any", "password": "any-pw"}}
    if case == "wrong-password":
        logins["broken"] = {"username": BMC_USER, "password": "not-" + BMC_PASSWORD}
    subject = driver(("broken", urls[case]), ("good", redfish_static.url), timeout=0.5,
                     credentials={"bmcs": logins})

    items, records, ends = discover(subject)

    assert set(records) == {"good/Node1", "good/Node2"}
    assert ends["good"] == ScopeDone("good")
    failure = ends["broken"]
    assert isinstance(failure, ScopeFailed)
    port = urls[case].rsplit(":", 1)[1]
    assert phrase.format(port=port) in failure.error
    assert failure.error.startswith(("BMC broken at", "Could not reach BMC broken at"))
    assert BMC_PASSWORD not in failure.error


def test_the_right_login_opens_a_locked_bmc_and_nothing_logs_the_password(
    locked_emulator, caplog
):
    for name in (None, "sushy", "urllib3", "providers"):
        caplog.set_level(logging.DEBUG, logger=name)
    right = {"username": BMC_USER, "password": BMC_PASSWORD}
    wrong = {"username": BMC_USER, "password": BMC_PASSWORD + "-not"}

    _, records, ends = discover(driver(("locked", locked_emulator.url), credentials=right))
    _, _, rejected = discover(driver(("locked", locked_emulator.url), credentials=wrong))

    assert {record.name for record in records.values()} == {s["name"] for s in LOCKED_SYSTEMS}
    assert ends["locked"] == ScopeDone("locked")
    assert "rejected the username and password" in rejected["locked"].error
    # sushy's request-level debug lines were captured, so the check below had its chance.
    assert any(record.name.startswith("sushy") for record in caplog.records)
    assert BMC_PASSWORD not in caplog.text


def test_check_counts_bmcs_and_systems_and_names_those_not_answering(
    redfish_emulator, redfish_static, closed_port
):
    all_good = driver(("emulated", redfish_emulator.url), ("static", redfish_static.url))
    one_down = driver(("emulated", redfish_emulator.url), ("gone", closed_port))

    assert all_good.check() == "2 of 2 BMCs answered, 8 systems"
    assert one_down.check() == (
        f"1 of 2 BMCs answered, 6 systems. Not answering: Could not reach BMC gone at "
        f"{closed_port}: connection refused."
    )


def test_check_fails_when_no_bmc_answers(locked_emulator, closed_port):
    wrong = {"username": BMC_USER, "password": "wrong-" + BMC_PASSWORD}

    with pytest.raises(ProviderError) as none_answer:
        driver(("gone", closed_port), ("locked", locked_emulator.url), credentials=wrong).check()
    with pytest.raises(ProviderAuthError) as all_reject:
        driver(("locked", locked_emulator.url), credentials=wrong).check()

    assert not isinstance(none_answer.value, ProviderAuthError)
    assert str(none_answer.value).startswith("No BMC answered. Could not reach BMC gone")
    assert "BMC locked at" in str(none_answer.value)
    assert str(all_reject.value) == (
        f"No BMC answered. BMC locked at {locked_emulator.url} rejected the username and "
        "password (HTTP 401): check the login set for this BMC."
    )
    assert "wrong-" not in str(none_answer.value) + str(all_reject.value)


def test_power_actions_land_on_the_emulator(redfish_emulator):
    subject = driver(("rack-a", redfish_emulator.url))
    ids = {name: f"rack-a/{by_name(EMULATOR_SYSTEMS, name)['uuid']}"
           for name in ("power-on", "power-off", "power-force-off", "power-restart")}
    actions = {"power-on": PowerAction.ON, "power-off": PowerAction.OFF,
               "power-force-off": PowerAction.FORCE_OFF,
               "power-restart": PowerAction.RESTART}
    settles_at = {"power-on": HostState.RUNNING, "power-off": HostState.STOPPED,
                  "power-force-off": HostState.STOPPED, "power-restart": HostState.RUNNING}

    for name, action in actions.items():
        subject.power(ids[name], action)
    # The fake driver turns a restarting system off at once and back on later.
    restarting = subject.power_state(ids["power-restart"])
    # Each change lands after its own random delay: poll all four side by side, each with a
    # driver of its own.
    with ThreadPoolExecutor(max_workers=4) as pool:
        polls = {
            name: pool.submit(settled_state, RedfishDriver(subject.settings, {}), ids[name],
                              settles_at[name])
            for name in actions
        }
        settled = {name: poll.result() for name, poll in polls.items()}

    assert restarting == HostState.STOPPED
    assert settled == settles_at
    assert subject.power_state(ids["power-on"]) == HostState.RUNNING


def test_restart_falls_back_to_force_restart_and_off_when_off_sends_nothing(redfish_static):
    subject = driver(("enclosure-7", redfish_static.url))

    subject.power("enclosure-7/Node2", PowerAction.RESTART)
    subject.power("enclosure-7/Node2", PowerAction.OFF)
    subject.power("enclosure-7/Node1", PowerAction.RESTART)

    # sushy-static answers POSTs with 204 and logs their bodies, in order.
    posts = [line for line in redfish_static.log().splitlines() if "ResetType" in line]
    assert len(posts) == 2
    assert "ForceRestart" in posts[0] and "GracefulRestart" in posts[1]
    assert subject.power_state("enclosure-7/Node2") == HostState.STOPPED


def test_power_refuses_unknown_actions_bmcs_and_systems(redfish_static, closed_port):
    subject = driver(("enclosure-7", redfish_static.url), ("gone", closed_port))

    with pytest.raises(ProviderError) as unknown_action:
        subject.power("gone/1", "hibernate")
    with pytest.raises(ProviderError, match="This provider has no BMC named 'rack-9'"):
        subject.power("rack-9/1", PowerAction.ON)
    with pytest.raises(ProviderError, match="is not a Redfish host id"):
        subject.power_state("Node1")
    with pytest.raises(ProviderError, match="no longer lists a system 'Node3'"):
        subject.power_state("enclosure-7/Node3")
    with pytest.raises(ProviderError, match="Could not reach BMC gone .*: connection refused"):
        subject.power_state("gone/1")

    assert str(unknown_action.value) == (
        "Unknown power action 'hibernate': use one of on, off, force_off, restart."
    )


def test_choose_reset_prefers_graceful_and_never_forces_a_graceful_off():
    everything = set(ResetType)
    forced_only = {ResetType.ON, ResetType.FORCE_OFF, ResetType.FORCE_RESTART}

    assert choose_reset("restart", everything, "x") == ResetType.GRACEFUL_RESTART
    assert choose_reset("restart", forced_only, "x") == ResetType.FORCE_RESTART
    assert choose_reset("on", {ResetType.FORCE_ON}, "x") == ResetType.FORCE_ON
    with pytest.raises(ProviderError) as refused:
        choose_reset("off", forced_only, "BMC b at https://b, system 1")
    assert str(refused.value) == (
        "BMC b at https://b, system 1 does not offer GracefulShutdown (it allows ForceOff, "
        "ForceRestart, On). Use force_off to cut the power instead."
    )


def test_cpu_facts_count_cpus_when_the_summary_has_no_count():
    def processor(kind, cores, threads, state=State.ENABLED):
        return SimpleNamespace(processor_type=kind, total_cores=cores, total_threads=threads,
                               status=SimpleNamespace(state=state))

    listed = [processor(ProcessorType.CPU, 24, 48), processor(None, 24, 48),
              processor(ProcessorType.CPU, None, None, State.ABSENT),
              processor(ProcessorType.GPU, 108, None), processor(ProcessorType.FPGA, 4, 4)]

    assert cpu_facts({}, listed) == (2, 48, 96)
    assert cpu_facts({"Count": 0}, listed).sockets == 2
    assert cpu_facts({"Count": 4}, listed).sockets == 4
    assert cpu_facts({"Count": 2, "CoreCount": 40, "LogicalProcessorCount": 80}, None) == (
        2, 40, 80)
    assert cpu_facts({}, []) == (None, None, None)


def test_macs_and_rack_positions_read_plainly():
    assert normalise_mac("B0-7B-25-DE-1A-10") == "b0:7b:25:de:1a:10"
    assert normalise_mac("b07b.25de.1a10") == "b0:7b:25:de:1a:10"
    assert normalise_mac("00:00:00:00:00:00") == normalise_mac(None) == ""
    assert location_of({"Location": {"Placement": {"Rack": "R1", "RackOffset": 3,
                                                   "RackOffsetUnits": "OpenU"}}}) == "Rack R1, OU3"
    assert location_of({"Location": {}}) == ""
