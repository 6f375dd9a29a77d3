"""Power actions through the API on the real AWS driver, against a moto EC2 server.

The instance really stops and starts in moto; the request is confirmed by reading its state
back, and the sync queued afterwards moves the host and its metering intervals along.
"""

import pytest
from django.urls import reverse

from portal.inventory.models import Host, SyncRun
from portal.inventory.sync import sync_provider

CREDENTIALS = {"access_key_id": "AKIAMOTOPOWER001", "secret_access_key": "moto-power-secret"}


@pytest.fixture
def operator(operator_user, api_client_for):
    return api_client_for(operator_user)


@pytest.fixture
def ec2_host(aws, make_provider):
    """One running moto instance, synced into the portal as a host."""
    (instance_id,) = aws.run_instances("eu-west-1", name="web")
    provider = make_provider(
        name="moto", settings=aws.settings(regions=("eu-west-1",)), credentials=CREDENTIALS
    )
    assert sync_provider(provider.pk).status == "succeeded"
    return Host.objects.get(provider=provider, external_id=instance_id)


def power(operator, host, action, capture):
    with capture(execute=True):
        response = operator.post(
            reverse("api:host-power", args=[host.pk]), {"action": action}, format="json"
        )
    assert response.status_code == 202, response.content
    return operator.get(response["Location"]).json()


def test_shutting_down_stops_the_instance_and_a_sync_follows(
    operator, aws, ec2_host, django_capture_on_commit_callbacks
):
    followed = power(operator, ec2_host, "off", django_capture_on_commit_callbacks)

    ec2_host.refresh_from_db()
    run = SyncRun.objects.get(triggered_by=f"power request #{followed['id']}")
    assert aws.describe("eu-west-1", ec2_host.external_id)["State"]["Name"] == "stopped"
    assert (followed["status"], followed["observed_state"]) == ("confirmed", "stopped")
    assert followed["message"] == ""
    assert run.status == "succeeded"
    assert ec2_host.state == "stopped"
    assert not ec2_host.intervals.filter(ended_at__isnull=True).exists()


def test_powering_on_again_opens_a_new_metering_interval(
    operator, aws, ec2_host, django_capture_on_commit_callbacks
):
    power(operator, ec2_host, "off", django_capture_on_commit_callbacks)

    followed = power(operator, ec2_host, "on", django_capture_on_commit_callbacks)

    ec2_host.refresh_from_db()
    assert aws.describe("eu-west-1", ec2_host.external_id)["State"]["Name"] == "running"
    assert (followed["status"], ec2_host.state) == ("confirmed", "running")
    assert ec2_host.intervals.count() == 2
    assert ec2_host.intervals.filter(ended_at__isnull=True).count() == 1


def test_a_rejected_key_fails_the_request_with_a_readable_message(
    operator, aws, ec2_host, django_capture_on_commit_callbacks
):
    aws.reject_credentials()

    followed = power(operator, ec2_host, "restart", django_capture_on_commit_callbacks)

    assert followed["status"] == "failed"
    assert followed["message"].startswith("AWS rejected the access key AKIA")
    assert CREDENTIALS["secret_access_key"] not in followed["message"]
    assert not SyncRun.objects.filter(triggered_by__startswith="power request").exists()
