"""Hosts linked to the machine they run on, and provider projects mapped to tenants."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.audit.models import AuditEvent
from portal.inventory.models import Host, ProviderProject, SyncRun
from portal.inventory.sync import reconcile
from providers.base import HostKind, HostRecord, HostState, ProjectRecord, ScopeDone

PROJECTS_URL = "/api/provider-projects/"


def _sync(provider, *items):
    run = SyncRun.objects.create(provider=provider)
    reconcile(provider, run, iter(items))
    return run


def _server(external_id, parent="", project="p-1", **facts):
    return HostRecord(scope="RegionOne/compute", external_id=external_id, name=external_id,
                      state=HostState.RUNNING, vcpus=2, memory_mib=2048,
                      parent_external_id=parent, project=project, **facts)


@pytest.fixture
def cloud(make_provider):
    provider = make_provider(name="acme-cloud", kind="openstack", credentials={})
    hypervisor = HostRecord(scope="RegionOne/compute", external_id="hv/compute-1",
                            name="compute-1", kind=HostKind.BARE_METAL,
                            state=HostState.RUNNING, cores=32)
    _sync(
        provider, hypervisor, _server("vm-1", "hv/compute-1"), _server("vm-2", "hv/compute-1"),
        _server("vm-3", "hv/compute-9", project="p-2"),
        ProjectRecord("p-1", "web", domain="default"), ProjectRecord("p-2", "data"),
        ScopeDone("RegionOne/compute"),
    )
    return provider


def test_servers_point_at_their_hypervisor_once_both_are_stored(cloud):
    hypervisor = Host.objects.get(external_id="hv/compute-1")

    linked = dict(Host.objects.filter(provider=cloud).values_list("external_id", "parent"))

    assert linked == {"hv/compute-1": None, "vm-1": hypervisor.pk, "vm-2": hypervisor.pk,
                      "vm-3": None}


def test_a_server_moved_to_a_new_hypervisor_is_relinked_and_a_resync_writes_nothing(cloud):
    second = HostRecord(scope="RegionOne/compute", external_id="hv/compute-9", name="compute-9",
                        kind=HostKind.BARE_METAL, state=HostState.RUNNING)
    first = HostRecord(scope="RegionOne/compute", external_id="hv/compute-1", name="compute-1",
                       kind=HostKind.BARE_METAL, state=HostState.RUNNING, cores=32)
    estate = (first, second, _server("vm-1", "hv/compute-9"), _server("vm-2", "hv/compute-1"),
              _server("vm-3", "hv/compute-9", project="p-2"), ScopeDone("RegionOne/compute"))

    _sync(cloud, *estate)
    with CaptureQueriesContext(connection) as queries:
        _sync(cloud, *estate)

    parents = dict(Host.objects.filter(provider=cloud).values_list("external_id",
                                                                  "parent__external_id"))
    assert parents["vm-1"] == parents["vm-3"] == "hv/compute-9"
    assert parents["vm-2"] == "hv/compute-1"
    host_writes = ('UPDATE "inventory_host"', 'INSERT INTO "inventory_host')
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(host_writes)]
    assert writes == []


def test_host_detail_shows_parent_and_children(cloud, viewer_user, api_client_for):
    hypervisor = Host.objects.get(external_id="hv/compute-1")
    server = Host.objects.get(external_id="vm-1")
    client = api_client_for(viewer_user)

    machine = client.get(f"/api/hosts/{hypervisor.pk}/").json()
    guest = client.get(f"/api/hosts/{server.pk}/").json()
    listed = client.get("/api/hosts/", {"parent": hypervisor.pk}).json()["results"]

    assert [child["name"] for child in machine["children"]] == ["vm-1", "vm-2"]
    assert guest["parent"]["id"] == hypervisor.pk and guest["project"] == "p-1"
    assert sorted(row["name"] for row in listed) == ["vm-1", "vm-2"]


def test_projects_are_recorded_with_their_host_counts(cloud, viewer_user, api_client_for):
    rows = api_client_for(viewer_user).get(PROJECTS_URL).json()["results"]

    assert [(row["external_id"], row["name"], row["host_count"], row["mapped_tenant"])
            for row in rows] == [("p-2", "data", 1, None), ("p-1", "web", 2, None)]
    assert rows[1]["domain"] == "default"


def test_a_later_sync_keeps_the_mapping_and_refreshes_the_name(cloud, tenant):
    ProviderProject.objects.filter(external_id="p-1").update(mapped_tenant=tenant)

    _sync(cloud, ProjectRecord("p-1", "web-renamed"))

    project = ProviderProject.objects.get(external_id="p-1")
    assert (project.name, project.mapped_tenant) == ("web-renamed", tenant)
    assert ProviderProject.objects.count() == 2


def test_operator_maps_a_project_to_a_tenant_and_it_is_audited(cloud, operator_user, tenant,
                                                               api_client_for):
    project = ProviderProject.objects.get(external_id="p-1")

    response = api_client_for(operator_user).patch(
        f"{PROJECTS_URL}{project.pk}/", {"mapped_tenant": tenant.slug}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["mapped_tenant"] == tenant.slug
    event = AuditEvent.objects.get(action="project.map")
    assert event.changes == {"project": "p-1", "mapped_tenant": [None, "acme"]}


@pytest.mark.parametrize(("persona", "status", "words"), [
    ("viewer_user", 403, "needs the admin or operator role"),
    ("finance_user", 403, "needs the admin or operator role"),
    ("outsider_user", 404, "No ProviderProject matches"),
])
def test_readers_and_outsiders_cannot_map_projects(request, cloud, api_client_for, persona,
                                                   status, words):
    project = ProviderProject.objects.get(external_id="p-1")
    client = api_client_for(request.getfixturevalue(persona))

    response = client.patch(f"{PROJECTS_URL}{project.pk}/", {"mapped_tenant": "acme"},
                            format="json")

    assert response.status_code == status
    assert words.lower() in response.content.decode().lower()
    assert ProviderProject.objects.get(pk=project.pk).mapped_tenant is None


def test_mapping_to_a_tenant_the_user_is_not_in_is_refused(cloud, operator_user, other_tenant,
                                                           api_client_for):
    project = ProviderProject.objects.get(external_id="p-1")

    response = api_client_for(operator_user).patch(
        f"{PROJECTS_URL}{project.pk}/", {"mapped_tenant": other_tenant.slug}, format="json"
    )

    assert response.status_code == 400
    assert "No tenant 'globex' among yours" in response.json()["mapped_tenant"][0]


def test_only_the_mapping_can_change(cloud, admin_user, api_client_for):
    project = ProviderProject.objects.get(external_id="p-1")
    client = api_client_for(admin_user)

    patched = client.patch(f"{PROJECTS_URL}{project.pk}/", {"name": "hacked"}, format="json")
    put = client.put(f"{PROJECTS_URL}{project.pk}/", {"mapped_tenant": "acme"}, format="json")

    assert patched.status_code == 200 and patched.json()["name"] == "web"
    assert put.status_code == 405
