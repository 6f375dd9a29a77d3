"""Power actions on hosts: asking for one, and following it until the provider shows the result.

``request_power`` checks that the action can be asked for, records the request and an audit
event, and queues ``power_task``. The task's body, ``run_power_request``, hands the action to
the provider's driver and then reads the host's state back every
``PORTAL_POWER_POLL_INTERVAL`` seconds until it is the expected one (confirmed) or the deadline
passes (timed out). The deadline is the provider's ``power_timeout`` setting when it has one,
else ``PORTAL_POWER_TIMEOUT``. A read that fails is tried again at the next poll (a BMC busy
with a reset, or a throttled API, may drop a request), except a rejected login, which fails
the request at once: no waiting mends it.

Nothing here writes a host's state: a confirmed request queues a sync of the host's provider,
and the sync engine updates the host and opens or closes its metering intervals as it does for
any change it finds.

A restart is confirmed by the first "running" read after the provider accepted it. EC2 keeps a
rebooting instance "running" throughout, and a BMC may restart a server faster than one poll,
so waiting to see an off state first would time out restarts that worked.

Only one request per host may be in flight (queued or sent): a partial unique constraint
holds that even when two people click at once. A request whose worker died stays in flight
until its deadline plus ``ABANDON_GRACE`` has passed; the next request for the host then
closes it as timed out. A request that no worker picked up within its deadline is never
sent: a host must not change state long after the person who asked has given up.
"""

import logging
import math
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.audit.log import record
from portal.dispatch import dispatch
from portal.inventory.checks import redact
from portal.inventory.models import Host, Provider, ProviderKind
from portal.inventory.tasks import queue_sync
from portal.operations.models import (
    EXPECTED_STATES,
    IN_FLIGHT,
    PowerRequest,
    PowerStatus,
)
from providers import get_driver_class
from providers.base import Driver, HostState, PowerAction, ProviderAuthError, ProviderError

logger = logging.getLogger(__name__)

# Past its deadline, a request may still be in its last poll (a slow provider answer, retries
# with backoff); only after this much more is it taken for abandoned.
ABANDON_GRACE = timedelta(minutes=5)

VALID_ACTIONS = ", ".join(PowerAction.ALL)


class PowerRequestRefused(Exception):
    """The action cannot be asked for; the message says why, for a person.

    ``conflict`` marks refusals caused by the host's current situation (archived, a request
    already in flight), which the API answers with 409 rather than 400.
    """

    def __init__(self, message: str, *, field: str | None = None, conflict: bool = False):
        super().__init__(message)
        self.message = message
        self.field = field
        self.conflict = conflict


# --- what a provider can do ----------------------------------------------------------------

def unsupported_reason(provider: Provider) -> str | None:
    """Why the provider's hosts cannot be powered from the portal, or None when they can."""
    if provider.kind == ProviderKind.MANUAL:
        return (
            "Hosts registered by hand have no provider the portal can talk to, so their power "
            "cannot be changed here; use the machine's own console or BMC."
        )

    label = provider.get_kind_display()
    try:
        driver_class = get_driver_class(provider.kind)
    except (ProviderError, ImportError):
        return f"There is no driver for {label} providers yet, so their hosts cannot be powered."
    if driver_class.power is Driver.power or driver_class.power_state is Driver.power_state:
        return f"{label} providers cannot change a host's power state."
    return None


def power_timeout(provider: Provider) -> int:
    """Seconds a host of ``provider`` may take to reach the asked state."""
    value = (provider.settings or {}).get("power_timeout")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return math.ceil(value)
    return settings.PORTAL_POWER_TIMEOUT


# --- asking --------------------------------------------------------------------------------

def _in_flight_message(host: Host, in_flight: PowerRequest | None) -> str:
    if in_flight is None:
        return f"Host {host} already has a power request in flight; wait for it to finish."
    return (
        f"Host {host} already has a power request in flight: #{in_flight.pk} "
        f"({in_flight.get_action_display()}, {in_flight.get_status_display().lower()}). "
        "Wait for it to finish, then ask again."
    )


def check_power_request(host: Host, action: str) -> None:
    """Raise ``PowerRequestRefused`` unless ``action`` may be asked for ``host`` now."""
    if action not in PowerAction.ALL:
        raise PowerRequestRefused(
            f"Unknown power action {action!r}: use one of {VALID_ACTIONS}.", field="action"
        )
    if host.archived_at is not None:
        raise PowerRequestRefused(
            f"Host {host} is archived: its provider no longer lists it, so there is nothing "
            "to power.", conflict=True,
        )

    provider = host.provider
    reason = unsupported_reason(provider)
    if reason:
        raise PowerRequestRefused(reason)
    if not provider.enabled:
        raise PowerRequestRefused(
            f"Provider “{provider}” is disabled; enable it before acting on its hosts.",
            conflict=True,
        )

    in_flight = host.power_requests.filter(status__in=IN_FLIGHT).first()
    if in_flight is not None:
        raise PowerRequestRefused(_in_flight_message(host, in_flight), conflict=True)


def expire_abandoned(host: Host, now=None) -> int:
    """Close the host's in-flight requests whose worker stopped following them."""
    now = now or timezone.now()
    closed = 0
    for stale in host.power_requests.filter(status__in=IN_FLIGHT):
        started = stale.sent_at or stale.requested_at
        given_up_at = started + timedelta(seconds=stale.deadline_seconds)
        if given_up_at + ABANDON_GRACE > now:
            continue
        closed += PowerRequest.objects.filter(pk=stale.pk, status__in=IN_FLIGHT).update(
            status=PowerStatus.TIMED_OUT, finished_at=now,
            message=(
                "Abandoned: the worker following this request stopped before the host "
                "reached the expected state; the next sync shows where it ended up."
            ),
        )
        logger.warning("power request #%s for host %s was abandoned", stale.pk, host.pk)
    return closed


def expire_all_abandoned(now=None) -> int:
    """Close every abandoned in-flight request, so no host shows one "in flight" for ever."""
    hosts = Host.objects.filter(power_requests__status__in=IN_FLIGHT).distinct()
    return sum(expire_abandoned(host, now) for host in hosts)


def request_power(host: Host, action: str, *, user, request=None) -> PowerRequest:
    """Record a power request for ``host`` and queue its task; return the request.

    Raises ``PowerRequestRefused`` when the action cannot be asked for now.
    """
    # tasks imports this module for the task's body, so the task is looked up here.
    from portal.operations.tasks import power_task

    expire_abandoned(host)
    check_power_request(host, action)

    try:
        # A savepoint, so a lost race on the in-flight constraint leaves the caller usable.
        with transaction.atomic():
            power_request = PowerRequest.objects.create(
                host=host, tenant_id=host.tenant_id, action=action,
                expected_state=EXPECTED_STATES[action], requested_by=user,
                deadline_seconds=power_timeout(host.provider),
            )
            record("host.power", host, request=request, user=user, changes={
                "action": action, "power_request": power_request.pk,
            })
            dispatch(power_task, power_request.pk)
    except IntegrityError:
        raise PowerRequestRefused(_in_flight_message(host, None), conflict=True) from None

    logger.info(
        "power request #%s: %s asked to %s host %s (%s)", power_request.pk, user, action,
        host.pk, host, extra={"power_request_id": power_request.pk, "host_id": host.pk},
    )
    return power_request


# --- doing ---------------------------------------------------------------------------------

def _close(power_request: PowerRequest, status: str, message: str = "") -> PowerRequest:
    """Finish an in-flight request, unless something else finished it meanwhile."""
    now = timezone.now()
    closed = PowerRequest.objects.filter(pk=power_request.pk, status__in=IN_FLIGHT).update(
        status=status, message=message, finished_at=now,
        observed_state=power_request.observed_state,
    )
    power_request.refresh_from_db()
    if not closed:
        return power_request

    seconds = power_request.elapsed.total_seconds()
    log = logger.info if status == PowerStatus.CONFIRMED else logger.warning
    log(
        "power request #%s (%s of host %s) %s after %.1f s: %s", power_request.pk,
        power_request.action, power_request.host_id, status, seconds,
        message or f"host is {power_request.observed_state}",
        extra={"power_request_id": power_request.pk, "host_id": power_request.host_id,
               "status": status},
    )
    return power_request


def _claim(power_request: PowerRequest) -> bool:
    """Move a queued request to sent; False when it is not (or no longer) to be sent."""
    now = timezone.now()
    queued = PowerRequest.objects.filter(pk=power_request.pk, status=PowerStatus.QUEUED)
    too_late = now - timedelta(seconds=power_request.deadline_seconds)

    expired = queued.filter(requested_at__lt=too_late).update(
        status=PowerStatus.TIMED_OUT, finished_at=now,
        message=(
            f"Not sent: no worker picked the request up within {power_request.deadline_seconds}"
            " s; is a worker consuming the 'provision' queue?"
        ),
    )
    claimed = 0 if expired else queued.update(status=PowerStatus.SENT, sent_at=now)

    power_request.refresh_from_db()
    if expired:
        logger.warning("power request #%s was never picked up; not sent", power_request.pk)
    return bool(claimed)


def _note_state(power_request: PowerRequest, state: str) -> bool:
    """Store the state just read, for the page; False when the request was closed elsewhere."""
    if state == power_request.observed_state:
        return True
    power_request.observed_state = state
    return bool(PowerRequest.objects.filter(pk=power_request.pk, status=PowerStatus.SENT)
                .update(observed_state=state))


def _confirm(power_request: PowerRequest, provider: Provider) -> PowerRequest:
    power_request = _close(power_request, PowerStatus.CONFIRMED)
    if power_request.status != PowerStatus.CONFIRMED:
        return power_request

    # The sync engine, not this module, writes the host's new state and its intervals.
    with transaction.atomic():
        run = queue_sync(provider, triggered_by=f"power request #{power_request.pk}")
        PowerRequest.objects.filter(pk=power_request.pk).update(sync_run=run)
    power_request.sync_run = run
    logger.info("power request #%s: sync run #%s queued for provider %s",
                power_request.pk, run.pk, provider.pk)
    return power_request


def _deadline_message(power_request: PowerRequest, read_error: str) -> str:
    """Why a request timed out: the last state seen, or the read that failed last."""
    asked = (f"{power_request.deadline_seconds} s after the provider accepted "
             f"“{power_request.get_action_display()}”")
    later = "it may get there later, and the next sync will show it."
    if read_error:
        return (f"The host was not seen {power_request.expected_state} {asked}; {later} "
                f"The last read of its state failed: {read_error}")
    return f"The host was still {power_request.observed_state} {asked}; {later}"


def _follow(power_request: PowerRequest, driver: Driver, credentials: dict,
            sleep: Callable[[float], None], clock: Callable[[], float]) -> PowerRequest:
    """Poll the host's state until it is the expected one or the deadline passes."""
    host = power_request.host
    expected = power_request.expected_state
    deadline = clock() + power_request.deadline_seconds
    interval = float(settings.PORTAL_POWER_POLL_INTERVAL)
    # The redacted message of the last read, when it failed; "" after a good read.
    read_error = ""

    while True:
        try:
            state = driver.power_state(host.external_id)
        except ProviderAuthError as exc:
            return _close(power_request, PowerStatus.FAILED, (
                "The provider accepted the request, but reading the host's state failed: "
                + redact(str(exc), credentials)
            ))
        except ProviderError as exc:
            # One warning per run of failures: a BMC down for the whole wait would log one
            # line a poll otherwise.
            log = logger.debug if read_error else logger.warning
            read_error = redact(str(exc), credentials)
            log("power request #%s: reading host %s failed, trying again: %s",
                power_request.pk, host.pk, read_error)
        else:
            read_error = ""
            if not _note_state(power_request, state):
                logger.info("power request #%s was closed while being followed",
                            power_request.pk)
                power_request.refresh_from_db()
                return power_request

            if state == expected:
                return _confirm(power_request, host.provider)
            if state == HostState.TERMINATED:
                return _close(power_request, PowerStatus.FAILED,
                              "The host was terminated; it cannot be powered any more.")

        remaining = deadline - clock()
        if remaining <= 0:
            # Timed out even when the last read failed: the provider accepted the action, so
            # it may well have happened; "failed" would say it did not, which nobody knows.
            return _close(power_request, PowerStatus.TIMED_OUT,
                          _deadline_message(power_request, read_error))
        sleep(min(interval, remaining))


def run_power_request(pk: int, *, sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic) -> PowerRequest:
    """Send a queued request to the provider and follow it to its end; return it.

    ``sleep`` and ``clock`` are the waiting seam: tests pass a fake clock that sleeping
    advances, so a three-minute deadline takes no time.
    """
    power_request = PowerRequest.objects.select_related("host__provider").get(pk=pk)
    if not _claim(power_request):
        logger.info("power request #%s is %s; nothing to send", pk, power_request.status)
        return power_request

    host = power_request.host
    provider = host.provider
    credentials = provider.credentials
    try:
        driver = provider.driver()
        driver.power(host.external_id, power_request.action)
    except ProviderError as exc:
        return _close(power_request, PowerStatus.FAILED, redact(str(exc), credentials))
    except Exception:
        # A driver should only raise ProviderError; anything else is a bug to log, and the
        # request must not stay in flight, blocking the host.
        logger.exception("power request #%s crashed in the driver", pk)
        return _close(power_request, PowerStatus.FAILED,
                      "The provider call failed with an unexpected error (see the log).")

    logger.info(
        "power request #%s: provider %s accepted %s of host %s (%s)", pk, provider.pk,
        power_request.action, host.pk, host.external_id,
        extra={"power_request_id": pk, "host_id": host.pk},
    )
    try:
        return _follow(power_request, driver, credentials, sleep, clock)
    except Exception:
        logger.exception("power request #%s crashed while following the host", pk)
        return _close(power_request, PowerStatus.FAILED,
                      "Following the host's state failed with an unexpected error (see the log).")

