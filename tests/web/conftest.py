"""Fixtures for the web UI tests: acme and globex estates written straight into the database."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from portal.inventory.models import HostInterval, Provider, SyncRun
from tests.factories import make_hosts

# Distinctive values, so a search of a page body for them cannot match by accident.
ACCESS_KEY_ID = "AKIAWEBTESTKEY778899"
SECRET_ACCESS_KEY = "web-s3cret-Qz7vX2pL9m"
CREDENTIALS = {"access_key_id": ACCESS_KEY_ID, "secret_access_key": SECRET_ACCESS_KEY}


@pytest.fixture
def client_for():
    """``client_for(user)``: a test client logged in as ``user`` (anonymous for None)."""
    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def acme(make_provider, tenant):
    """acme's provider with one described host, its intervals and two sync runs."""
    now = timezone.now()
    provider = make_provider(
        name="acme-aws", settings={"regions": ["eu-west-1"]}, credentials=CREDENTIALS
    )
    (host,) = make_hosts(
        provider, 1, prefix="acme-web", tags={"team": "shop", "env": "prod"},
        addresses=["10.1.2.3", "2001:db8::7"], instance_type="m5.xlarge", vcpus=4,
        memory_mib=16384, os="Linux/UNIX", system_uuid="ec2-uuid-1234", zone="eu-west-1a",
    )
    HostInterval.objects.create(
        host=host, started_at=now - timedelta(hours=24), ended_at=now - timedelta(hours=20),
        vcpus=2, memory_mib=8192, sockets=1,
    )
    HostInterval.objects.create(
        host=host, started_at=now - timedelta(hours=3), vcpus=4, memory_mib=16384, sockets=1,
    )
    run = SyncRun.objects.create(
        provider=provider, status="partial", triggered_by="schedule",
        started_at=now - timedelta(minutes=5), finished_at=now - timedelta(minutes=3),
        seen=12, created=3, updated=2, unchanged=7, scopes_total=2, scopes_done=2,
        errors={"us-east-1": "EC2 in us-east-1 did not answer within 20 s"},
        message="1 scope(s) failed.",
    )
    Provider.objects.filter(pk=provider.pk).update(last_run=run, last_sync_at=run.finished_at)
    return SimpleNamespace(tenant=tenant, provider=provider, host=host, run=run)


@pytest.fixture
def globex(other_tenant):
    """The outsider's own estate, so their lists are not empty for a trivial reason."""
    provider = Provider(tenant=other_tenant, name="globex-aws", kind="aws")
    provider.credentials = {"access_key_id": "AKIAGLOBEX", "secret_access_key": "globex"}
    provider.save()
    (host,) = make_hosts(provider, 1, prefix="globex-db")
    run = SyncRun.objects.create(provider=provider, status="succeeded")
    return SimpleNamespace(tenant=other_tenant, provider=provider, host=host, run=run)
