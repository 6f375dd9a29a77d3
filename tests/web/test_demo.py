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


def test_demo_creates_tenant_logins_and_a_synced_aws_account(db, settings, aws, capsys):
    # moto keeps one state per process, shared by the demo's own server: ``aws`` resets it
    # first, so the demo's 36 instances are all there is.
    settings.PORTAL_DEMO = True

    call_command("demo", "--no-serve", "--aws-port", "0")

    demo = authenticate(username="demo", password="demo")
    assert demo is not None
    assert Membership.objects.get(user=demo).role == "admin"
    provider = Provider.objects.get(name="Demo AWS account")
    assert provider.last_run.status == SyncStatus.SUCCEEDED
    assert Host.objects.filter(provider=provider).count() == 36
    assert set(Host.objects.values_list("region", flat=True)) == {"eu-west-1", "us-east-1"}
    assert "36 hosts" in capsys.readouterr().out
