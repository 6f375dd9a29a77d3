"""Actions the portal takes on hosts at their provider: power requests for now."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from providers.base import HostState, PowerAction


class PowerActionChoice(models.TextChoices):
    """``providers.base.PowerAction`` with the words the buttons use."""

    ON = PowerAction.ON, "Power on"
    OFF = PowerAction.OFF, "Shut down"
    FORCE_OFF = PowerAction.FORCE_OFF, "Force off"
    RESTART = PowerAction.RESTART, "Restart"


# The state that confirms each action. A restart is confirmed by the host running again
# (see portal.operations.power for why no off state is waited for in between).
EXPECTED_STATES = {
    PowerAction.ON: HostState.RUNNING,
    PowerAction.OFF: HostState.STOPPED,
    PowerAction.FORCE_OFF: HostState.STOPPED,
    PowerAction.RESTART: HostState.RUNNING,
}


class PowerStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    CONFIRMED = "confirmed", "Confirmed"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"


IN_FLIGHT = (PowerStatus.QUEUED, PowerStatus.SENT)


class PowerRequest(models.Model):
    """One power action asked for a host, followed until the provider shows its result.

    Queued when asked, sent once the provider accepted it, then confirmed when the host's state
    read back from the provider is the expected one, or failed / timed out.
    """

    tenant_path = "tenant"

    host = models.ForeignKey(
        "inventory.Host", on_delete=models.CASCADE, related_name="power_requests"
    )
    # Copied from the host so tenant scoping is one indexed filter, not a join.
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="power_requests"
    )
    action = models.CharField(max_length=16, choices=PowerActionChoice.choices)
    status = models.CharField(
        max_length=16, choices=PowerStatus.choices, default=PowerStatus.QUEUED, db_index=True
    )
    expected_state = models.CharField(max_length=16)
    # The state the provider reported last, whether or not it was the expected one.
    observed_state = models.CharField(max_length=16, blank=True)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_seconds = models.PositiveIntegerField(
        help_text="How long the host may take to reach the expected state once asked."
    )
    # The inventory sync queued once the request was confirmed.
    sync_run = models.ForeignKey(
        "inventory.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # Two actions racing on one host would leave its final state to chance.
            models.UniqueConstraint(
                fields=["host"], condition=Q(status__in=IN_FLIGHT),
                name="powerrequest_one_in_flight_per_host",
            ),
        ]
        indexes = [models.Index(fields=["host", "-requested_at"], name="powerrequest_host_recent")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} of {self.host} (#{self.pk}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in IN_FLIGHT

    @property
    def elapsed(self) -> timedelta:
        """From the provider accepting the request (or from asking) to the end, or to now."""
        start = self.sent_at or self.requested_at
        return (self.finished_at or timezone.now()) - start

    @property
    def summary(self) -> str:
        """One sentence on where the request stands, for the host page."""
        seconds = round(self.elapsed.total_seconds())
        if self.status == PowerStatus.QUEUED:
            return f"Queued: “{self.get_action_display()}” waits to be sent to the provider."
        if self.status == PowerStatus.SENT:
            now = f", now {self.observed_state}" if self.observed_state else ""
            return (
                f"Sent: waiting for the host to be {self.expected_state}{now} "
                f"({seconds} s so far)."
            )
        if self.status == PowerStatus.CONFIRMED:
            return f"Confirmed: the host is {self.expected_state} (after {seconds} s)."
        label = self.get_status_display()
        return f"{label}: {self.message}" if self.message else f"{label}."
