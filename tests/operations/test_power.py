"""The power service: asking (checks, one request in flight) and following a request to its end.

``run_power_request`` is called directly with a fake clock, so a deadline of minutes takes no
time and the number of reads is exact. The fake cloud (tests/operations/drivers.py) settles a
host a given number of reads after it was asked.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

import providers
from portal.audit.models import AuditEvent
from portal.conf import env_float
from portal.inventory.models import Host, HostInterval, SyncRun
from portal.operations import power as service
from portal.operations.models import PowerRequest
from portal.operations.power import PowerRequestRefused, request_power, run_power_request
from portal.operations.tasks import power_task
from providers.base import ProviderAuthError
from tests.factories import make_host
from tests.operations.conftest import CREDENTIALS


def ask(power, action="off"):
    return request_power(power.host, action, user=None)


# --- asking --------------------------------------------------------------------------------

def test_request_records_the_expected_state_deadline_and_an_audit_event(power, operator_user):
    power_request = request_power(power.host, "force_off", user=operator_user)

    assert power_request.status == "queued"
    assert power_request.expected_state == "stopped"
    assert power_request.tenant_id == power.tenant.pk
    assert power_request.deadline_seconds == 5
    event = AuditEvent.objects.get(action="host.power")
    assert event.user == operator_user
    assert event.object_id == str(power.host.pk)
    assert event.changes == {"action": "force_off", "power_request": power_request.pk}


def test_the_providers_power_timeout_overrides_the_portal_default(power):
    power.provider.settings = {"regions": ["eu-west-1"], "power_timeout": 42.5}
    power.provider.save()

    power_request = ask(power)

    assert power_request.deadline_seconds == 43


@pytest.mark.parametrize("action, expected", [
    ("on", "running"), ("off", "stopped"), ("force_off", "stopped"), ("restart", "running"),
])
def test_each_action_expects_its_state(power, action, expected):
    assert ask(power, action).expected_state == expected


def test_an_unknown_action_is_refused_naming_the_valid_ones(power):
    with pytest.raises(PowerRequestRefused) as refused:
        ask(power, "reboot")

    assert refused.value.field == "action"
    assert str(refused.value) == (
        "Unknown power action 'reboot': use one of on, off, force_off, restart."
    )
    assert not PowerRequest.objects.exists()


def test_a_hand_registered_host_cannot_be_powered(manual_host):
    with pytest.raises(PowerRequestRefused) as refused:
        request_power(manual_host, "off", user=None)

    assert "Hosts registered by hand" in str(refused.value)
    assert refused.value.conflict is False
    assert not AuditEvent.objects.exists()


def test_a_provider_whose_driver_has_no_power_is_refused(power, monkeypatch):
    monkeypatch.setitem(providers.DRIVERS, "aws", "tests.api.drivers.StubDriver")

    with pytest.raises(PowerRequestRefused) as refused:
        ask(power)

    assert str(refused.value) == "AWS providers cannot change a host's power state."


def test_archived_hosts_and_disabled_providers_are_refused_as_conflicts(power, make_provider):
    Host.objects.filter(pk=power.host.pk).update(archived_at=timezone.now())
    power.host.refresh_from_db()
    other = make_provider(name="paused", enabled=False)
    paused_host = make_host(other, "paused-1")

    with pytest.raises(PowerRequestRefused) as archived:
        ask(power)
    with pytest.raises(PowerRequestRefused) as disabled:
        request_power(paused_host, "on", user=None)

    assert archived.value.conflict and "is archived" in str(archived.value)
    assert disabled.value.conflict and "Provider “paused” is disabled" in str(disabled.value)


def test_a_second_request_while_one_is_in_flight_is_refused(power):
    first = ask(power)

    with pytest.raises(PowerRequestRefused) as refused:
        ask(power, "on")

    assert refused.value.conflict is True
    assert f"#{first.pk} (Shut down, queued)" in str(refused.value)
    assert PowerRequest.objects.count() == 1


def test_the_database_refuses_two_requests_in_flight_for_one_host(power):
    ask(power)

    with pytest.raises(IntegrityError), transaction.atomic():
        PowerRequest.objects.create(host=power.host, tenant=power.tenant, action="on",
                                    status="sent", expected_state="running",
                                    deadline_seconds=5)


def test_a_lost_race_on_the_constraint_is_a_conflict_not_a_crash(power, monkeypatch):
    ask(power)
    # Both requests passed the check before either was written.
    monkeypatch.setattr(service, "check_power_request", lambda host, action: None)

    with pytest.raises(PowerRequestRefused) as refused:
        ask(power, "on")

    assert refused.value.conflict is True
    assert "already has a power request in flight" in str(refused.value)
    assert PowerRequest.objects.count() == 1


def test_an_abandoned_request_no_longer_blocks_the_host(power):
    stale = ask(power)
    PowerRequest.objects.filter(pk=stale.pk).update(
        status="sent", requested_at=timezone.now() - timedelta(hours=1)
    )

    fresh = ask(power, "on")

    stale.refresh_from_db()
    assert (stale.status, fresh.status) == ("timed_out", "queued")
    assert stale.message.startswith("Abandoned:")


def test_the_periodic_sweep_closes_abandoned_requests_and_leaves_live_ones(power,
                                                                             make_provider):
    from portal.operations.tasks import expire_abandoned_power_task
    from tests.factories import make_host

    stale = ask(power)
    PowerRequest.objects.filter(pk=stale.pk).update(
        status="sent", requested_at=timezone.now() - timedelta(hours=1)
    )
    other = make_host(power.provider, "db", scope="eu-west-1")
    power.cloud.states[other.external_id] = "running"
    live = request_power(other, "off", user=None)

    closed = expire_abandoned_power_task()

    stale.refresh_from_db()
    live.refresh_from_db()
    assert closed == 1
    assert (stale.status, live.status) == ("timed_out", "queued")
    assert stale.message.startswith("Abandoned:")


# --- following -----------------------------------------------------------------------------

def test_polls_until_the_host_reaches_the_expected_state(power, clock, settings):
    settings.PORTAL_POWER_POLL_INTERVAL = 2
    power.cloud.reads_to_settle = 3
    power_request = ask(power)

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert done.status == "confirmed"
    assert (done.observed_state, done.message) == ("stopped", "")
    assert power.cloud.calls == [(power.host.external_id, "off")]
    assert power.cloud.reads == 3
    assert clock.sleeps == [2, 2]
    assert done.sent_at is not None and done.finished_at >= done.sent_at
    assert done.summary.startswith("Confirmed: the host is stopped (after ")


def test_confirmation_queues_a_sync_and_leaves_the_host_row_to_it(
    power, clock, django_capture_on_commit_callbacks
):
    HostInterval.objects.create(host=power.host, started_at=timezone.now() - timedelta(hours=1))
    power_request = ask(power)

    with django_capture_on_commit_callbacks(execute=False) as pending:
        done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)
    power.host.refresh_from_db()
    state_before_sync = power.host.state
    for callback in pending:
        callback()
    power.host.refresh_from_db()

    run = SyncRun.objects.get()
    assert done.sync_run == run
    assert run.triggered_by == f"power request #{power_request.pk}"
    assert state_before_sync == "running"
    assert run.status == "succeeded"
    assert power.host.state == "stopped"
    assert not power.host.intervals.filter(ended_at__isnull=True).exists()


def test_a_restart_is_confirmed_by_the_host_running_after_it_was_sent(power, clock):
    # EC2 and fast BMCs never show an off state between: running throughout is success.
    power.cloud.reads_to_settle = 1
    power_request = ask(power, "restart")

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert (done.status, done.observed_state) == ("confirmed", "running")
    assert power.cloud.reads == 1
    assert clock.sleeps == []


def test_a_host_that_does_not_get_there_in_time_times_out(power, clock, settings):
    settings.PORTAL_POWER_POLL_INTERVAL = 2
    power.provider.settings = {"regions": ["eu-west-1"], "power_timeout": 30}
    power.provider.save()
    power.cloud.reads_to_settle = 1000
    power_request = ask(power)

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert done.status == "timed_out"
    assert done.observed_state == "stopping"
    assert done.message.startswith(
        "The host was still stopping 30 s after the provider accepted “Shut down”"
    )
    assert sum(clock.sleeps) == 30
    assert power.cloud.reads == 16
    assert not SyncRun.objects.exists()


def test_a_provider_error_fails_the_request_without_its_secrets(power, clock):
    power.cloud.power_error = "EC2 refused key {access_key_id} (secret {secret_access_key})."
    power_request = ask(power)

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert done.status == "failed"
    assert done.message == "EC2 refused key [redacted] (secret [redacted])."
    assert CREDENTIALS["secret_access_key"] not in done.summary
    assert power.cloud.reads == 0


def test_reads_that_fail_for_a_while_are_read_through_to_confirmation(power, clock, settings):
    # A BMC busy with the reset it was just asked for may drop a read or two.
    settings.PORTAL_POWER_POLL_INTERVAL = 2
    power.cloud.state_error = "EC2 did not answer within 20 s."
    power.cloud.failing_reads = 2
    power.cloud.reads_to_settle = 1
    power_request = ask(power)

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert (done.status, done.observed_state, done.message) == ("confirmed", "stopped", "")
    assert power.cloud.reads == 3
    assert clock.sleeps == [2, 2]
    assert done.sync_run is not None


def test_a_rejected_login_while_reading_fails_the_request_at_once(power, clock):
    power.cloud.state_error = "EC2 rejected the access key {access_key_id}."
    power.cloud.state_error_class = ProviderAuthError
    power_request = ask(power)

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert done.status == "failed"
    assert done.message == (
        "The provider accepted the request, but reading the host's state failed: "
        "EC2 rejected the access key [redacted]."
    )
    assert power.cloud.reads == 1
    assert clock.sleeps == []
    assert not SyncRun.objects.exists()


def test_reads_that_keep_failing_time_out_at_the_deadline_with_the_last_error(
    power, clock, settings, caplog
):
    settings.PORTAL_POWER_POLL_INTERVAL = 2
    power.provider.settings = {"regions": ["eu-west-1"], "power_timeout": 30}
    power.provider.save()
    power.cloud.state_error = "EC2 did not answer key {access_key_id} within 20 s."
    power_request = ask(power)

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert done.status == "timed_out"
    assert done.message == (
        "The host was not seen stopped 30 s after the provider accepted “Shut down”; it may "
        "get there later, and the next sync will show it. The last read of its state failed: "
        "EC2 did not answer key [redacted] within 20 s."
    )
    assert CREDENTIALS["access_key_id"] not in done.message + caplog.text
    assert sum(clock.sleeps) == 30
    assert power.cloud.reads == 16
    # One warning for the whole run of failures, not one a poll.
    retries = [record.levelname for record in caplog.records if "trying again" in record.msg]
    assert retries.count("WARNING") == 1
    assert not SyncRun.objects.exists()


def test_a_driver_that_cannot_power_fails_the_request_with_its_words(power, clock,
                                                                      monkeypatch):
    power_request = ask(power)
    # The provider changed kind of driver between asking and doing.
    monkeypatch.setitem(providers.DRIVERS, "aws", "tests.api.drivers.StubDriver")

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert done.status == "failed"
    assert done.message == "aws providers cannot change a host's power state."


def test_a_host_terminated_meanwhile_fails_the_request(power, clock):
    power_request = ask(power, "on")
    power.cloud.states[power.host.external_id] = "terminated"
    power.cloud.reads_to_settle = 1000

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert done.status == "failed"
    assert "terminated" in done.message


def test_a_request_no_worker_picked_up_in_time_is_never_sent(power, clock):
    power_request = ask(power)
    PowerRequest.objects.filter(pk=power_request.pk).update(
        requested_at=timezone.now() - timedelta(minutes=10)
    )

    done = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert done.status == "timed_out"
    assert done.message.startswith("Not sent: no worker picked the request up within 5 s")
    assert power.cloud.calls == []


def test_a_finished_request_is_not_sent_twice(power, clock):
    power_request = ask(power)
    run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    again = run_power_request(power_request.pk, sleep=clock.sleep, clock=clock)

    assert again.status == "confirmed"
    assert len(power.cloud.calls) == 1


def test_the_poll_interval_setting_reads_decimals(monkeypatch):
    monkeypatch.setenv("PORTAL_POWER_POLL_INTERVAL", "0.5")

    assert env_float("PORTAL_POWER_POLL_INTERVAL", 2.0) == 0.5
    monkeypatch.setenv("PORTAL_POWER_POLL_INTERVAL", "soon")
    with pytest.raises(Exception, match="PORTAL_POWER_POLL_INTERVAL must be a number"):
        env_float("PORTAL_POWER_POLL_INTERVAL", 2.0)


def test_power_tasks_go_to_the_provision_queue(settings):
    route = settings.CELERY_TASK_ROUTES[power_task.name]

    assert power_task.name == "portal.operations.tasks.power_task"
    assert route == {"queue": "provision"}
