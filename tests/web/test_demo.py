"""``manage.py demo``: the embedded-default demo sets itself up from an empty database."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from portal.inventory.models import Host, Provider, SyncStatus
from portal.tenancy.models import Membership


def test_demo_refuses_outside_demo_mode(db, settings):
    settings.PORTAL_DEMO = False

    with pytest.raises(CommandError, match="PORTAL_DEMO=1"):
        call_command("demo", "--no-serve", "--aws-port", "0")

    assert not Provider.objects.exists()


DEMO_PORTS = ("--aws-port", "0", "--openstack-port", "0", "--redfish-port", "0")


def test_demo_creates_tenant_logins_and_synced_aws_openstack_and_redfish(db, settings, aws,
                                                                         capsys):
    # moto keeps one state per process, shared by the demo's own server: ``aws`` resets it
    # first, so the demo's 36 instances are all there is.
    settings.PORTAL_DEMO = True

    call_command("demo", "--no-serve", *DEMO_PORTS)

    demo = authenticate(username="demo", password="demo")
    assert demo is not None
    assert Membership.objects.get(user=demo).role == "admin"
    provider = Provider.objects.get(name="Demo AWS account")
    assert provider.last_run.status == SyncStatus.SUCCEEDED
    assert Host.objects.filter(provider=provider).count() == 36
    regions = Host.objects.filter(provider=provider).values_list("region", flat=True)
    assert set(regions) == {"eu-west-1", "us-east-1"}
    output = capsys.readouterr().out
    assert "Demo AWS account synced: succeeded, 36 hosts" in output

    cloud = Provider.objects.get(name="Demo OpenStack cloud")
    assert cloud.last_run.status == SyncStatus.SUCCEEDED, cloud.last_run.errors
    servers = Host.objects.filter(provider=cloud, kind="virtual")
    assert servers.count() == 15
    assert not servers.filter(parent__isnull=True).exists()
    assert Host.objects.filter(provider=cloud, kind="bare_metal").exists()
    assert cloud.projects.count() >= 2

    rack = Provider.objects.get(name="Demo rack A")
    assert rack.last_run.status == SyncStatus.SUCCEEDED, rack.last_run.errors
    assert Host.objects.filter(provider=rack, kind="bare_metal").count() == 8
    assert "Demo rack A synced: succeeded, 8 hosts" in output
