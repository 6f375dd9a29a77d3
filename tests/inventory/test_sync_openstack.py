"""The sync engine end to end: ``sync_provider`` reading the OpenStack double through the driver.

The same rules as for AWS (test_sync_aws.py), proved with openstacksdk on the wire: scopes per
region and service, hosts kept when a scope fails, projects recorded, servers linked to the
hypervisors they run on.
"""

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.inventory.checks import check_provider
from portal.inventory.models import Host, HostInterval, ProviderProject, SyncStatus
from providers.openstack import OpenStackDriver
from providers.simulators import openstack as simulator
from tests.helpers import host, open_intervals, run_sync
from tests.inventory.test_sync_aws import writes

SECRET = simulator.ADMIN["password"]


@pytest.fixture
def provider(make_provider, openstack_cloud):
    return make_provider(name="openstack-main", kind="openstack",
                         settings=openstack_cloud.settings(),
                         credentials=openstack_cloud.credentials())


def test_first_sync_records_hosts_projects_and_parent_links(provider, openstack_cloud):
    sim = openstack_cloud.sim
    web = sim.add_server("RegionOne", "web-1", "m1.large", "platform")
    lab = sim.add_server("RegionTwo", "lab-1", "m1.medium", "research", status="SHUTOFF")
    node = sim.add_node("RegionTwo", "rack2-u1")

    run = run_sync(provider)

    assert run.status == SyncStatus.SUCCEEDED and run.message == ""
    # Two regions, each with hypervisors, servers (compute) and bare metal.
    assert (run.scopes_total, run.scopes_done, run.created) == (6, 6, 4 + 2 + 1)
    server = host(web.id)
    assert (server.scope, server.kind, server.state) == ("RegionOne/compute", "virtual",
                                                         "running")
    assert (server.instance_type, server.vcpus, server.memory_mib) == ("m1.large", 4, 8192)
    assert server.parent == host(f"hypervisor/RegionOne/{web.hypervisor}")
    assert server.parent.kind == "bare_metal" and server.parent.vcpus == 64
    assert host(lab.id).parent.external_id == f"hypervisor/RegionTwo/{lab.hypervisor}"
    assert host(f"node/{node.uuid}").scope == "RegionTwo/baremetal"
    projects = {p.external_id: p.name for p in ProviderProject.objects.filter(provider=provider)}
    assert projects == {openstack_cloud.project_id("platform"): "platform",
                        openstack_cloud.project_id("research"): "research"}
    assert server.project in projects and host(lab.id).project in projects
    # Running hosts are metered: the server, the node and four hypervisors; not the stopped one.
    assert HostInterval.objects.count() == 6 and not open_intervals(lab.id).exists()


def test_resync_with_nothing_changed_writes_no_host_rows(provider, openstack_cloud):
    openstack_cloud.add_servers("RegionOne", 3)
    openstack_cloud.add_servers("RegionTwo", 2)
    run_sync(provider)

    with CaptureQueriesContext(connection) as ctx:
        run = run_sync(provider)

    assert writes(ctx.captured_queries) == []
    assert run.status == SyncStatus.SUCCEEDED
    assert (run.seen, run.created, run.updated, run.unchanged) == (9, 0, 0, 9)


def test_deleted_server_is_archived_and_a_stopped_one_closes_its_interval(provider,
                                                                          openstack_cloud):
    kept, gone = openstack_cloud.add_servers("RegionOne", 2)
    run_sync(provider)
    del openstack_cloud.sim.servers[gone]
    openstack_cloud.server(kept).status = "SHUTOFF"

    run = run_sync(provider)

    assert (run.archived, run.updated) == (1, 1)
    assert host(gone).archived_at is not None and not open_intervals(gone).exists()
    assert host(kept).state == "stopped" and host(kept).provider_status == "SHUTOFF"
    assert not open_intervals(kept).exists() and host(kept).archived_at is None


def test_token_expiring_mid_sync_is_renewed_and_the_sync_succeeds(make_provider,
                                                                   openstack_cloud):
    ids = openstack_cloud.add_servers("RegionOne", 15)
    provider = make_provider(kind="openstack", credentials=openstack_cloud.credentials(),
                             settings=openstack_cloud.settings(page_size=10))
    # Every token issued so far stops working once the first page of servers is answered.
    openstack_cloud.sim.expire_tokens(after="servers/detail")

    run = run_sync(provider)

    assert run.status == SyncStatus.SUCCEEDED and run.errors == {}
    assert set(ids) <= set(Host.objects.values_list("external_id", flat=True))
    # Signed in once at the start, and once more when the second page was refused.
    assert openstack_cloud.sim.count("POST", "auth/tokens") == 2
    refused = [r for r in openstack_cloud.sim.requests if r.status == 401]
    assert len(refused) == 1 and refused[0].query.get("marker") == ids[9]


def test_short_lived_tokens_are_renewed_before_they_expire(make_provider, openstack_cloud):
    openstack_cloud.add_servers("RegionOne", 2)
    # keystoneauth treats a token that expires within a few minutes as already stale.
    openstack_cloud.sim.token_ttl = 60
    provider = make_provider(kind="openstack", credentials=openstack_cloud.credentials(),
                             settings=openstack_cloud.settings(["RegionOne"],
                                                               services=["compute"]))

    run = run_sync(provider)

    assert run.status == SyncStatus.SUCCEEDED and run.seen == 4
    assert openstack_cloud.sim.count("POST", "auth/tokens") > 1
    assert all(r.status != 401 for r in openstack_cloud.sim.requests)


@pytest.mark.parametrize(("mode", "phrase"), [
    ("error", "answered HTTP 500"),
    ("slow", "did not answer within 1 s"),
    ("garbage", "sent an answer that is not valid JSON"),
])
def test_failing_compute_region_keeps_its_hosts_and_makes_the_run_partial(
    make_provider, openstack_cloud, mode, phrase
):
    one = openstack_cloud.add_servers("RegionOne", 2)
    two = openstack_cloud.add_servers("RegionTwo", 3)
    provider = make_provider(kind="openstack", credentials=openstack_cloud.credentials(),
                             settings=openstack_cloud.settings(timeout=1))
    run_sync(provider)
    # Gone from both regions: only the scope read whole may archive its server.
    del openstack_cloud.sim.servers[one[0]]
    del openstack_cloud.sim.servers[two[0]]
    openstack_cloud.sim.fail("RegionTwo", "compute", mode, seconds=2)

    run = run_sync(provider)

    # The failing endpoint serves both the region's hypervisors and its servers.
    assert run.status == SyncStatus.PARTIAL and run.message == "2 scope(s) failed."
    assert list(run.errors) == ["RegionTwo/hypervisors", "RegionTwo/compute"]
    error = run.errors["RegionTwo/compute"]
    assert phrase in error and "compute (Nova) endpoint" in error and "RegionTwo" in error
    assert (run.scopes_done, run.archived) == (6, 1)
    assert Host.objects.active().filter(scope="RegionTwo/compute").count() == 3
    assert Host.objects.active().filter(scope="RegionTwo/hypervisors").count() == 2
    assert all(open_intervals(external_id).count() == 1 for external_id in two)
    assert host(one[0]).archived_at is not None


def test_switching_to_a_reader_keeps_the_hypervisors_it_may_not_list(provider,
                                                                     openstack_cloud):
    servers = openstack_cloud.add_servers("RegionOne", 2, project="research")
    first = run_sync(provider)
    hypervisors = set(Host.objects.filter(scope__endswith="/hypervisors")
                      .values_list("external_id", flat=True))
    # A reader of "research" may list neither hypervisors nor other projects' servers.
    provider.credentials = openstack_cloud.credentials("reader")
    provider.settings = {**provider.settings, "project_name": "research"}
    provider.save()

    run = run_sync(provider)

    assert first.status == SyncStatus.SUCCEEDED and len(hypervisors) == 4
    assert all(host(server).parent.external_id in hypervisors for server in servers)
    assert openstack_cloud.sim.count("GET", "os-hypervisors/detail") == 2 + 2
    # Each region's hypervisors scope is left unread: no error, no archiving, not "done".
    assert (run.status, run.message, run.errors) == (SyncStatus.SUCCEEDED, "", {})
    assert (run.scopes_total, run.scopes_done, run.archived) == (6, 4, 0)
    assert set(Host.objects.active().filter(scope__endswith="/hypervisors")
               .values_list("external_id", flat=True)) == hypervisors
    assert all(open_intervals(external_id).count() == 1 for external_id in hypervisors)
    assert all(host(server).archived_at is None for server in servers)


def test_rejected_credentials_fail_the_run_and_keep_the_hosts(provider, openstack_cloud):
    server, = openstack_cloud.add_servers("RegionOne")
    run_sync(provider)
    openstack_cloud.sim.users.clear()

    run = run_sync(provider)
    checked = check_provider(provider)

    assert run.status == SyncStatus.FAILED
    assert run.message == (f"OpenStack at {openstack_cloud.sim.auth_url} rejected the user "
                           "name and password for project platform (HTTP 401).")
    assert (checked.ok, checked.detail) == (False, run.message)
    assert SECRET not in run.message
    assert host(server).archived_at is None and open_intervals(server).count() == 1


def test_absent_bare_metal_service_is_skipped(provider, openstack_cloud):
    for region in openstack_cloud.sim.regions:
        openstack_cloud.sim.remove_service(region, "baremetal")
    openstack_cloud.add_servers("RegionTwo")

    run = run_sync(provider)

    assert run.status == SyncStatus.SUCCEEDED and run.errors == {}
    assert (run.scopes_total, run.scopes_done) == (4, 4)
    # RegionOne has hypervisors but no servers, so no host carries its compute scope.
    assert set(Host.objects.values_list("scope", flat=True)) == {
        "RegionOne/hypervisors", "RegionTwo/hypervisors", "RegionTwo/compute"}


def test_provisioned_server_appears_after_the_next_sync(provider, openstack_cloud):
    run_sync(provider)
    driver = provider.driver()

    created, = driver.provision({"name": "ci-runner-1", "flavor": "m1.xlarge",
                                 "image": "ubuntu-24.04", "network": "private",
                                 "region": "RegionTwo"})
    run = run_sync(provider)

    row = host(created)
    assert run.created == 1 and isinstance(driver, OpenStackDriver)
    assert (row.name, row.state, row.vcpus, row.memory_mib) == ("ci-runner-1", "running", 8,
                                                                16384)
    assert row.scope == "RegionTwo/compute" and row.parent is not None
    assert open_intervals(created).count() == 1


def test_retire_and_power_change_the_cloud_and_the_next_sync_sees_it(provider,
                                                                     openstack_cloud):
    stop, retire = openstack_cloud.add_servers("RegionOne", 2)
    run_sync(provider)
    driver = provider.driver()

    driver.power(stop, "off")
    driver.retire(retire)
    run = run_sync(provider)

    assert driver.power_state(stop) == "stopped"
    assert openstack_cloud.server(stop).status == "SHUTOFF"
    assert retire not in openstack_cloud.sim.servers
    assert (run.updated, run.archived) == (1, 1)
    assert host(stop).state == "stopped" and host(retire).archived_at is not None


def test_password_never_reaches_logs_or_runs(make_provider, openstack_cloud, caplog):
    # The strictest case: an operator has turned SDK debugging on.
    for name in (None, "keystoneauth", "openstack", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    openstack_cloud.add_servers("RegionOne", 2)
    provider = make_provider(kind="openstack", credentials=openstack_cloud.credentials(),
                             settings=openstack_cloud.settings())

    runs = [run_sync(provider)]
    openstack_cloud.sim.fail("RegionTwo", "compute", "error")
    runs.append(run_sync(provider))
    openstack_cloud.sim.users.clear()
    runs.append(run_sync(provider))

    assert [run.status for run in runs] == ["succeeded", "partial", "failed"]
    # keystoneauth's request-level debug lines were captured, so the check below had its chance.
    assert any(record.name.startswith("keystoneauth") for record in caplog.records)
    assert SECRET not in caplog.text
    assert not any(SECRET in f"{run.message} {run.errors}" for run in runs)
