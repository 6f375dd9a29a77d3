"""The OpenStack driver against the loopback OpenStack double: facts, paging, failures, acts.

Every call goes through the real openstacksdk and keystoneauth over HTTP; failures are real
HTTP errors, timeouts and broken bodies from the simulator, nothing is mocked in-process.
"""

import gc
import os
import stat

import pytest

from providers import get_driver_class
from providers.base import (
    HostKind,
    HostState,
    NotSupported,
    ProjectRecord,
    ProviderAuthError,
    ProviderError,
    ScopeDone,
    ScopeFailed,
    ScopePlan,
)
from providers.openstack import OpenStackDriver
from providers.simulators import openstack as simulator
from providers.simulators.loopback import free_port
from tests.helpers import split_items

# A compute service is read as two scopes, hypervisors first, so servers can name them.
SCOPES = ("RegionOne/hypervisors", "RegionOne/compute", "RegionOne/baremetal",
          "RegionTwo/hypervisors", "RegionTwo/compute", "RegionTwo/baremetal")
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n-----END CERTIFICATE-----\n"


def discover(settings, credentials):
    return split_items(OpenStackDriver(settings, credentials).discover())


def test_kind_openstack_resolves_to_this_driver():
    assert get_driver_class("openstack") is OpenStackDriver
    assert OpenStackDriver.kind == "openstack"


def test_servers_hypervisors_and_nodes_of_two_regions_come_with_their_facts(openstack_cloud):
    sim = openstack_cloud.sim
    web = sim.add_server("RegionOne", "web-1", "m1.large", "platform", zone="az-1",
                         metadata={"team": "payments", "env": "prod"})
    db = sim.add_server("RegionTwo", "db-1", "m1.medium", "research", status="SHUTOFF")
    rack = sim.add_node("RegionOne", "rack1-u1", cpus=48, memory_mb=393216)
    spare = sim.add_node("RegionTwo", "rack2-u1", power_state="power off",
                         provision_state="available", maintenance=True)

    items, records, ends = discover(openstack_cloud.settings(), openstack_cloud.credentials())

    assert items[0] == ScopePlan(SCOPES)
    assert ends == [ScopeDone(scope) for scope in SCOPES]
    host = records[web.id]
    assert (host.scope, host.region, host.zone, host.name) == ("RegionOne/compute",
                                                               "RegionOne", "az-1", "web-1")
    assert (host.kind, host.state, host.provider_status) == (HostKind.VIRTUAL,
                                                             HostState.RUNNING, "ACTIVE")
    assert (host.instance_type, host.vcpus, host.memory_mib) == ("m1.large", 4, 8192)
    assert host.project == openstack_cloud.project_id("platform")
    assert host.tags == {"team": "payments", "env": "prod"}
    assert host.addresses == (web.addresses["private"][0]["addr"],)
    assert host.mac_addresses == (web.addresses["private"][0]["OS-EXT-IPS-MAC:mac_addr"],)
    assert host.system_uuid == web.id
    assert host.launched_at == web.launched_at
    assert host.parent_external_id == f"hypervisor/RegionOne/{web.hypervisor}"
    stopped = records[db.id]
    assert (stopped.state, stopped.provider_status, stopped.vcpus) == (HostState.STOPPED,
                                                                       "SHUTOFF", 2)
    assert stopped.project == openstack_cloud.project_id("research")

    hypervisor = records[f"hypervisor/RegionOne/{web.hypervisor}"]
    assert (hypervisor.kind, hypervisor.state, hypervisor.provider_status) == (
        HostKind.BARE_METAL, HostState.RUNNING, "up, enabled")
    assert (hypervisor.sockets, hypervisor.cores, hypervisor.threads) == (2, 32, 64)
    assert (hypervisor.vcpus, hypervisor.memory_mib) == (64, 262144)
    placed = next(h for h in openstack_cloud.hypervisors("RegionOne")
                  if h.hostname == web.hypervisor)
    assert hypervisor.scope == "RegionOne/hypervisors"
    assert hypervisor.addresses == (placed.host_ip,)

    node = records[f"node/{rack.uuid}"]
    assert (node.scope, node.kind, node.name) == ("RegionOne/baremetal", HostKind.BARE_METAL,
                                                  "rack1-u1")
    assert (node.state, node.provider_status) == (HostState.RUNNING, "active")
    assert (node.cores, node.memory_mib, node.manufacturer) == (48, 393216, "Dell Inc.")
    off = records[f"node/{spare.uuid}"]
    assert (off.state, off.provider_status) == (HostState.STOPPED, "available (maintenance)")
    # Two hypervisors a region, one server each side, one node each side.
    assert len(records) == 4 + 2 + 2


@pytest.mark.parametrize(("status", "state"), [
    ("BUILD", HostState.PENDING),
    ("ERROR", HostState.ERROR),
    ("PAUSED", HostState.STOPPED),
    ("SOFT_DELETED", HostState.TERMINATED),
    ("REBOOT", HostState.RUNNING),
    ("SOMETHING_NEW", HostState.UNKNOWN),
])
def test_nova_statuses_map_onto_host_states(openstack_cloud, status, state):
    server, = openstack_cloud.add_servers("RegionOne", status=status)

    _, records, _ = discover(openstack_cloud.settings(["RegionOne"], services=["compute"]),
                             openstack_cloud.credentials())

    assert (records[server].state, records[server].provider_status) == (state, status)


def test_projects_are_listed_and_fall_back_for_a_user_who_may_not_list_them(openstack_cloud):
    admin_items, _, _ = discover(openstack_cloud.settings(), openstack_cloud.credentials())
    reader_items, _, _ = discover(openstack_cloud.settings(project_name="research"),
                                  openstack_cloud.credentials("reader"))
    own_items, _, _ = discover(openstack_cloud.settings(all_projects=False),
                               openstack_cloud.credentials())

    projects = [item for item in admin_items if isinstance(item, ProjectRecord)]
    assert sorted((p.name, p.domain, p.description) for p in projects) == [
        ("platform", "default", "Shared platform services"),
        ("research", "default", "Research workloads"),
    ]
    assert {p.external_id for p in projects} == {openstack_cloud.project_id("platform"),
                                                 openstack_cloud.project_id("research")}
    # The reader may not list every project (403), so the driver asks for the user's own.
    assert [p.name for p in reader_items if isinstance(p, ProjectRecord)] == ["research"]
    assert openstack_cloud.sim.count("GET", "/identity/v3/projects") == 2
    assert [p.name for p in own_items if isinstance(p, ProjectRecord)] == ["platform"]


def test_paging_reads_every_page(openstack_cloud):
    ids = openstack_cloud.add_servers("RegionOne", 23)
    settings = openstack_cloud.settings(["RegionOne"], services=["compute"], page_size=10)

    _, records, ends = discover(settings, openstack_cloud.credentials())

    assert set(ids) <= set(records)
    assert ends == [ScopeDone("RegionOne/hypervisors"), ScopeDone("RegionOne/compute")]
    # Pages of 10, 10 and 3, then the SDK's closing request that comes back empty (it asks
    # once more whenever a limit was given).
    assert openstack_cloud.sim.count("GET", "servers/detail") == 4
    markers = [r.query.get("marker") for r in openstack_cloud.sim.requests
               if r.path.endswith("servers/detail")]
    assert markers == [None, ids[9], ids[19], ids[22]]
    assert all(r.query["limit"] == "10" and r.query["all_tenants"] == "True"
               for r in openstack_cloud.sim.requests if r.path.endswith("servers/detail"))


def test_flavor_named_only_by_id_is_looked_up_once(openstack_cloud):
    # Before microversion 2.47 Nova names a server's flavor by id instead of embedding it.
    openstack_cloud.sim.compute_version = ("2.1", "2.46")
    small, large = (openstack_cloud.add_servers("RegionOne", 2, flavor=f) for f in
                    ("m1.small", "m1.large"))

    _, records, _ = discover(openstack_cloud.settings(["RegionOne"], services=["compute"]),
                             openstack_cloud.credentials())

    assert {(records[i].instance_type, records[i].vcpus, records[i].memory_mib)
            for i in small} == {("m1.small", 1, 2048)}
    assert {(records[i].vcpus, records[i].memory_mib) for i in large} == {(4, 8192)}
    assert openstack_cloud.sim.count("GET", "flavors/detail") == 1


# The compute endpoint serves hypervisors and servers alike, so its failure fails both scopes.
COMPUTE_SCOPES = ["RegionTwo/hypervisors", "RegionTwo/compute"]


@pytest.mark.parametrize(("service", "mode", "status", "phrase", "scopes"), [
    ("compute", "error", 500, "answered HTTP 500: Internal Server Error: the compute service",
     COMPUTE_SCOPES),
    ("compute", "slow", 500, "did not answer within 1 s", COMPUTE_SCOPES),
    ("compute", "garbage", 500, "not valid JSON", COMPUTE_SCOPES),
    ("baremetal", "error", 500, "did not describe its API versions (HTTP 500)",
     ["RegionTwo/baremetal"]),
    ("baremetal", "garbage", 500, "did not describe its API versions (its answer is not valid",
     ["RegionTwo/baremetal"]),
])
def test_a_failing_service_fails_its_scopes_alone(openstack_cloud, service, mode, status,
                                                  phrase, scopes):
    healthy = openstack_cloud.add_servers("RegionOne", 2)
    openstack_cloud.add_servers("RegionTwo", 2)
    openstack_cloud.sim.fail("RegionTwo", service, mode, status=status, seconds=2)

    _, records, ends = discover(openstack_cloud.settings(timeout=1),
                                openstack_cloud.credentials())

    failed = [end for end in ends if isinstance(end, ScopeFailed)]
    assert [end.scope for end in failed] == scopes
    assert all(phrase in end.error for end in failed)
    assert all(f"/regions/RegionTwo/{service}" in end.error for end in failed)
    assert set(healthy) <= set(records)
    assert [end for end in ends if isinstance(end, ScopeDone)] == [
        ScopeDone(scope) for scope in SCOPES if scope not in scopes]


def test_busy_compute_is_asked_three_times_before_its_scope_fails(openstack_cloud):
    openstack_cloud.sim.fail("RegionOne", "compute", "error", status=503)
    settings = openstack_cloud.settings(["RegionOne"], services=["compute"])

    _, _, ends = discover(settings, openstack_cloud.credentials())

    assert [(type(end), end.scope) for end in ends] == [
        (ScopeFailed, "RegionOne/hypervisors"), (ScopeFailed, "RegionOne/compute")]
    assert all(end.error.endswith("answered HTTP 503: Service Unavailable: the compute "
                                  "service failed, after 3 attempts.") for end in ends)
    # keystoneauth retried each 503 twice, half a second and a second apart.
    assert openstack_cloud.sim.count("GET", "os-hypervisors/detail") == 3
    assert openstack_cloud.sim.count("GET", "servers/detail") == 3


def test_a_service_missing_from_a_region_is_no_scope(openstack_cloud):
    openstack_cloud.sim.remove_service("RegionTwo", "baremetal")
    node = openstack_cloud.sim.add_node("RegionOne", "rack1-u1")

    items, records, ends = discover(openstack_cloud.settings(), openstack_cloud.credentials())

    assert items[0] == ScopePlan(SCOPES[:5])
    assert ends == [ScopeDone(scope) for scope in SCOPES[:5]]
    assert f"node/{node.uuid}" in records
    assert openstack_cloud.sim.count(path="/regions/RegionTwo/baremetal") == 0


def test_regions_default_to_those_in_the_catalog(openstack_cloud):
    openstack_cloud.sim.remove_service("RegionTwo", "compute")
    settings = openstack_cloud.settings()
    del settings["regions"]

    items, _, _ = discover(settings, openstack_cloud.credentials())

    assert items[0] == ScopePlan(("RegionOne/hypervisors", "RegionOne/compute",
                                  "RegionOne/baremetal", "RegionTwo/baremetal"))


def test_a_user_without_admin_reads_its_own_servers_and_no_hypervisors(openstack_cloud):
    own = openstack_cloud.add_servers("RegionOne", 2, project="research")
    openstack_cloud.add_servers("RegionOne", 3, project="platform")
    settings = openstack_cloud.settings(["RegionOne"], services=["compute"],
                                        project_name="research")

    items, records, ends = discover(settings, openstack_cloud.credentials("reader"))

    # Listing hypervisors needs the admin role: that scope is planned but left unread (neither
    # done nor failed), while the servers' scope is still read whole.
    assert items[0] == ScopePlan(("RegionOne/hypervisors", "RegionOne/compute"))
    assert openstack_cloud.sim.count("GET", "os-hypervisors/detail") == 1
    assert set(records) == set(own)
    assert ends == [ScopeDone("RegionOne/compute")]
    # The simulator still names each server's hypervisor, and the driver keeps that link.
    assert all(record.parent_external_id.startswith("hypervisor/RegionOne/")
               for record in records.values())


def test_a_user_without_admin_gets_an_error_for_a_hypervisors_power_state(openstack_cloud):
    hostname = openstack_cloud.hypervisors("RegionOne")[0].hostname
    driver = OpenStackDriver(openstack_cloud.settings(project_name="research"),
                             openstack_cloud.credentials("reader"))

    # Nova refuses the listing (403): a readable error, not a crash on the missing list.
    with pytest.raises(ProviderError, match=f"hypervisor {hostname}"):
        driver.power_state(f"hypervisor/RegionOne/{hostname}")

    assert openstack_cloud.sim.count("GET", "os-hypervisors/detail") == 1


def test_application_credential_reads_the_cloud(openstack_cloud):
    server, = openstack_cloud.add_servers("RegionTwo")
    settings = openstack_cloud.settings(auth_type="v3applicationcredential")
    del settings["project_name"], settings["project_domain_name"]

    _, records, ends = discover(settings, openstack_cloud.app_credentials())

    assert server in records and ends == [ScopeDone(scope) for scope in SCOPES]
    token = next(iter(openstack_cloud.sim.tokens.values()))
    assert token.methods == ["application_credential"]


def test_rejected_password_gives_a_readable_auth_error_without_the_secret(openstack_cloud):
    secret = "n0t-the-Right-pa55word"
    credentials = {"username": "admin", "password": secret}
    wrong_app = {**openstack_cloud.app_credentials(), "application_credential_secret": secret}
    app_settings = openstack_cloud.settings(auth_type="v3applicationcredential")

    with pytest.raises(ProviderAuthError) as on_check:
        OpenStackDriver(openstack_cloud.settings(), credentials).check()
    with pytest.raises(ProviderAuthError) as on_discover:
        list(OpenStackDriver(openstack_cloud.settings(), credentials).discover())
    with pytest.raises(ProviderAuthError) as on_app:
        list(OpenStackDriver(app_settings, wrong_app).discover())

    assert str(on_check.value) == (
        f"OpenStack at {openstack_cloud.sim.auth_url} rejected the user name and password for "
        "project platform (HTTP 401)."
    )
    assert str(on_discover.value) == str(on_check.value)
    assert "rejected the application credential" in str(on_app.value)
    assert all(secret not in str(error) for error in (on_check.value, on_discover.value,
                                                      on_app.value))
    # Nothing but signing in was tried.
    assert openstack_cloud.sim.count(service="compute") == 0


def test_unreachable_auth_url_names_the_url_and_the_reason():
    url = f"http://127.0.0.1:{free_port()}/identity/v3"
    settings = {"auth_url": url, "project_name": "platform", "timeout": 2}

    with pytest.raises(ProviderError) as caught:
        OpenStackDriver(settings, {"username": "admin", "password": "pw"}).check()

    assert not isinstance(caught.value, ProviderAuthError)
    assert str(caught.value) == f"Could not sign in at the identity service at {url}: " \
                                "connection refused."


def test_identity_answering_garbage_is_a_readable_error(openstack_cloud):
    openstack_cloud.sim.fail(None, "identity", "garbage")

    with pytest.raises(ProviderError) as caught:
        OpenStackDriver(openstack_cloud.settings(), openstack_cloud.credentials()).check()

    assert str(caught.value).endswith("it did not answer with an identity version document.")


def test_missing_credentials_fail_before_any_request(openstack_cloud):
    driver = OpenStackDriver(openstack_cloud.settings(), {"username": "admin"})

    with pytest.raises(ProviderAuthError, match="cannot sign in with password: password is "
                                                "missing"):
        list(driver.discover())
    with pytest.raises(ProviderAuthError, match="auth_url, username and password are missing"):
        OpenStackDriver({}, {}).check()

    assert openstack_cloud.sim.count() == 0


def test_clouds_yaml_entry_is_used_and_explicit_settings_override_it(openstack_cloud):
    openstack_cloud.add_servers("RegionOne", 1)
    two, = openstack_cloud.add_servers("RegionTwo", 1)
    clouds_yaml = f"""
clouds:
  lab:
    auth:
      auth_url: http://127.0.0.1:{free_port()}/nowhere
  production:
    auth_type: password
    auth:
      auth_url: {openstack_cloud.sim.auth_url}
      username: admin
      password: {simulator.ADMIN['password']}
      project_name: research
      project_domain_name: Default
      user_domain_name: Default
    regions: [RegionOne, RegionTwo]
    interface: public
"""
    settings = {"cloud": "production", "project_name": "platform", "regions": ["RegionTwo"],
                "services": ["compute"]}

    items, records, ends = discover(settings, {"clouds_yaml": clouds_yaml})

    assert items[0] == ScopePlan(("RegionTwo/hypervisors", "RegionTwo/compute"))
    assert two in records
    token = next(iter(openstack_cloud.sim.tokens.values()))
    assert token.project_id == openstack_cloud.project_id("platform")
    with pytest.raises(ProviderError, match="has more than one cloud; set 'cloud' to one of: "
                                            "lab, production"):
        OpenStackDriver({}, {"clouds_yaml": clouds_yaml}).check()
    with pytest.raises(ProviderError, match="no cloud named 'staging'"):
        OpenStackDriver({"cloud": "staging"}, {"clouds_yaml": clouds_yaml}).check()


def test_broken_clouds_yaml_is_reported_without_quoting_it():
    secret = "pa55-in-a-broken-file"
    broken = f"clouds:\n  lab:\n    auth: {{password: {secret}\n"

    with pytest.raises(ProviderError) as caught:
        OpenStackDriver({}, {"clouds_yaml": broken}).check()

    assert str(caught.value).startswith("The clouds.yaml in the credentials is not valid YAML")
    assert secret not in str(caught.value)


def test_the_machines_own_openstack_configuration_is_ignored(openstack_cloud, monkeypatch,
                                                              tmp_path):
    closed = f"http://127.0.0.1:{free_port()}/v3"
    config = tmp_path / "clouds.yaml"
    config.write_text(f"clouds:\n  envvars:\n    auth:\n      auth_url: {closed}\n"
                      f"  mine:\n    auth:\n      auth_url: {closed}\n")
    for name, value in {"OS_AUTH_URL": closed, "OS_USERNAME": "root", "OS_PASSWORD": "x",
                        "OS_PROJECT_NAME": "elsewhere", "OS_CLOUD": "mine",
                        "OS_CLIENT_CONFIG_FILE": str(config)}.items():
        monkeypatch.setenv(name, value)
    server, = openstack_cloud.add_servers("RegionOne")

    _, records, _ = discover(openstack_cloud.settings(), openstack_cloud.credentials())

    assert server in records
    with pytest.raises(ProviderAuthError, match="auth_url, username and password are missing"):
        OpenStackDriver({"regions": ["RegionOne"]}, {}).check()


def test_check_summarises_regions_services_and_project(openstack_cloud):
    openstack_cloud.sim.remove_service("RegionTwo", "baremetal")

    summary = OpenStackDriver(openstack_cloud.settings(), openstack_cloud.credentials()).check()

    assert summary == ("2 regions (RegionOne, RegionTwo), services: compute, baremetal; "
                       "project platform")
    # One small request per scope proves each endpoint answers.
    assert openstack_cloud.sim.count("GET", "compute/v2.1/flavors") == 2
    assert openstack_cloud.sim.count("GET", "baremetal/v1/nodes") == 1


def test_check_fails_on_an_endpoint_that_does_not_answer(openstack_cloud):
    openstack_cloud.sim.fail("RegionTwo", "compute", "error", status=503)

    with pytest.raises(ProviderError) as caught:
        OpenStackDriver(openstack_cloud.settings(), openstack_cloud.credentials()).check()

    assert str(caught.value).startswith(
        f"The compute (Nova) endpoint {openstack_cloud.endpoint('RegionTwo', 'compute')}/v2.1 "
        "of RegionTwo answered HTTP 503"
    )


def test_a_region_with_none_of_the_services_is_an_error(openstack_cloud):
    with pytest.raises(ProviderError) as caught:
        OpenStackDriver(openstack_cloud.settings(["RegionThree"]),
                        openstack_cloud.credentials()).check()

    assert str(caught.value) == ("No region of RegionThree offers compute or baremetal at the "
                                 "public interface.")


def test_ca_certificate_goes_to_a_private_file_removed_with_the_driver(openstack_cloud):
    driver = OpenStackDriver(openstack_cloud.settings(ca_cert=PEM, verify=True),
                             openstack_cloud.credentials())

    path = driver.config()["cacert"]

    assert open(path).read() == PEM
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert driver.config()["verify"] is True
    del driver
    gc.collect()
    assert not os.path.exists(path)


def test_auth_none_reads_bare_metal_through_an_endpoint_override(openstack_cloud):
    openstack_cloud.sim.require_token = False
    node = openstack_cloud.sim.add_node("RegionTwo", "standalone-1")
    settings = {"auth_type": "none", "services": ["baremetal"], "regions": ["RegionOne"],
                "endpoint_overrides": {"baremetal": openstack_cloud.endpoint("RegionTwo",
                                                                             "baremetal")}}

    items, records, ends = discover(settings, {})
    summary = OpenStackDriver(settings, {}).check()

    assert items[0] == ScopePlan(("RegionOne/baremetal",)) and ends == [
        ScopeDone("RegionOne/baremetal")]
    assert records[f"node/{node.uuid}"].name == "standalone-1"
    assert not any(isinstance(item, ProjectRecord) for item in items)
    assert summary == ("1 region (RegionOne), services: baremetal; no identity service "
                       "(auth_type none)")
    assert openstack_cloud.sim.count(service="identity") == 0


def test_auth_none_without_an_override_says_what_is_missing():
    with pytest.raises(ProviderError, match="give endpoint_overrides for compute or baremetal"):
        OpenStackDriver({"auth_type": "none"}, {}).check()


def test_provision_creates_a_server_by_names_and_waits_until_it_is_active(openstack_cloud):
    driver = OpenStackDriver(openstack_cloud.settings(), openstack_cloud.credentials())
    spec = {"name": "build-1", "flavor": "m1.medium", "image": "cirros-0.6",
            "network": "private", "region": "RegionTwo", "tags": {"team": "ci"}}

    created = driver.provision(spec)

    server = openstack_cloud.server(created[0])
    assert (server.name, server.region, server.status) == ("build-1", "RegionTwo", "ACTIVE")
    assert openstack_cloud.sim.flavors[server.flavor_id].name == "m1.medium"
    assert openstack_cloud.sim.images[server.image_id].name == "cirros-0.6"
    assert list(server.addresses) == ["private"] and server.metadata == {"team": "ci"}
    assert server.project_id == openstack_cloud.project_id("platform")
    # The simulator builds a server in two reads of it: the driver polled until ACTIVE.
    assert openstack_cloud.sim.count("GET", f"servers/{server.id}") == 2


def test_provision_into_another_project(openstack_cloud):
    driver = OpenStackDriver(openstack_cloud.settings(), openstack_cloud.credentials())

    created = driver.provision({"name": "lab-1", "flavor": "m1.small", "image": "cirros-0.6",
                                "network": "private", "project": "research"})

    server = openstack_cloud.server(created[0])
    assert server.project_id == openstack_cloud.project_id("research")
    assert server.region == "RegionOne"


def test_provision_reports_a_failed_build_and_a_missed_deadline(openstack_cloud):
    driver = OpenStackDriver(openstack_cloud.settings(), openstack_cloud.credentials())
    spec = {"name": "big-1", "flavor": "m1.xlarge", "image": "ubuntu-24.04", "timeout": 1}
    openstack_cloud.sim.fail_next_build("No valid host was found. There are not enough hosts "
                                        "available.")

    with pytest.raises(ProviderError) as failed:
        driver.provision(spec)
    openstack_cloud.sim.build_reads = 1000
    with pytest.raises(ProviderError) as late:
        driver.provision(spec)
    with pytest.raises(ProviderError) as unknown:
        driver.provision({**spec, "image": "windows-11"})

    assert "could not build server big-1" in str(failed.value)
    assert "No valid host was found" in str(failed.value)
    assert "was still BUILD after 1 s" in str(late.value)
    assert str(unknown.value) == "No image 'windows-11' exists in RegionOne."
    assert [s.status for s in openstack_cloud.sim.servers.values()] == ["ERROR", "BUILD"]


def test_power_and_retire_act_on_servers(openstack_cloud):
    first, second = openstack_cloud.add_servers("RegionTwo", 2)
    driver = OpenStackDriver(openstack_cloud.settings(), openstack_cloud.credentials())

    driver.power(first, "off")
    stopped, read_stopped = openstack_cloud.server(first).status, driver.power_state(first)
    driver.power(first, "force_off")
    driver.power(first, "on")
    started, read_started = openstack_cloud.server(first).status, driver.power_state(first)
    driver.power(first, "on")
    driver.power(first, "restart")
    driver.retire(second)

    assert (stopped, started) == ("SHUTOFF", "ACTIVE")
    assert (read_stopped, read_started) == (HostState.STOPPED, HostState.RUNNING)
    assert second not in openstack_cloud.sim.servers
    assert openstack_cloud.sim.count("POST", f"servers/{first}/action") == 5
    driver.power(first, "off")
    with pytest.raises(ProviderError, match="answered HTTP 409: Cannot 'reboot' instance"):
        driver.power(first, "restart")
    with pytest.raises(ProviderError, match="Unknown power action 'hibernate'"):
        driver.power(first, "hibernate")
    with pytest.raises(ProviderError, match="No server 0000 was found in RegionOne, RegionTwo"):
        driver.power("0000", "off")


def test_power_acts_on_bare_metal_nodes_and_refuses_hypervisors(openstack_cloud):
    node = openstack_cloud.sim.add_node("RegionTwo", "rack2-u7")
    hypervisor = openstack_cloud.hypervisors("RegionOne")[0].hostname
    driver = OpenStackDriver(openstack_cloud.settings(), openstack_cloud.credentials())

    driver.power(f"node/{node.uuid}", "off")
    off = (node.power_state, driver.power_state(f"node/{node.uuid}"))
    driver.power(f"node/{node.uuid}", "on")
    on = (node.power_state, driver.power_state(f"node/{node.uuid}"))

    assert off == ("power off", HostState.STOPPED) and on == ("power on", HostState.RUNNING)
    assert driver.power_state(f"hypervisor/RegionOne/{hypervisor}") == HostState.RUNNING
    with pytest.raises(NotSupported):
        driver.power(f"hypervisor/RegionOne/{hypervisor}", "off")
    with pytest.raises(NotSupported):
        driver.retire(f"node/{node.uuid}")
