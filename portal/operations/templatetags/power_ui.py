"""What the host page's power card needs: who may act, what can be done, what happened."""

from dataclasses import dataclass, field

from django import template

from portal.operations.models import IN_FLIGHT, PowerActionChoice, PowerRequest, PowerStatus
from portal.operations.power import unsupported_reason
from portal.tenancy.scoping import can_write

register = template.Library()

# The card lists this many of the host's latest requests; the API lists them all.
RECENT_SHOWN = 5

# Button colours, and the question asked before the actions that do not let the host's
# operating system finish its work.
BUTTONS = (
    (PowerActionChoice.ON, "success", ""),
    (PowerActionChoice.OFF, "secondary", ""),
    (PowerActionChoice.FORCE_OFF, "danger",
     "Force off cuts the power: unsaved work on {host} is lost. Continue?"),
    (PowerActionChoice.RESTART, "warning",
     "Restart {host} now? Its services are interrupted while it reboots."),
)

STATUS_COLOURS = {
    PowerStatus.QUEUED: "info",
    PowerStatus.SENT: "primary",
    PowerStatus.CONFIRMED: "success",
    PowerStatus.FAILED: "danger",
    PowerStatus.TIMED_OUT: "warning",
}


@dataclass(frozen=True)
class Button:
    value: str
    label: str
    colour: str
    confirm: str


@dataclass
class PowerPanel:
    can_act: bool
    unsupported: str
    # The request the card follows: the one just asked for or polled, else one in flight.
    current: PowerRequest | None
    recent: list[PowerRequest] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)

    @property
    def polling(self) -> bool:
        return self.current is not None and not self.current.is_finished


@register.simple_tag(takes_context=True)
def power_panel(context, host) -> PowerPanel:
    """``{% power_panel host as power %}``: the card's facts for the requesting user."""
    user = context["request"].user
    recent = list(host.power_requests.select_related("requested_by")[:RECENT_SHOWN])
    current = context.get("power_request")
    if current is None:
        current = next((item for item in recent if item.status in IN_FLIGHT), None)

    return PowerPanel(
        can_act=can_write(user, host.tenant_id, "power"),
        unsupported=unsupported_reason(host.provider) or "",
        current=current,
        recent=recent,
        buttons=[
            Button(choice.value, choice.label, colour, question.format(host=host))
            for choice, colour, question in BUTTONS
        ],
    )


@register.filter
def power_colour(status) -> str:
    """The Bootstrap colour for a power request's status."""
    return STATUS_COLOURS.get(str(status), "secondary")
