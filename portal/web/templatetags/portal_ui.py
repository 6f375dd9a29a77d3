"""Small display helpers shared by every page: units, durations and status colours."""

from datetime import timedelta

from django import forms, template
from django.urls import reverse

register = template.Library()

# Bootstrap colour names for host states and sync statuses; anything unknown is grey.
# Both have a "running": a running host is good news (green), a running sync is work in
# progress (blue), hence two maps.
STATE_COLOURS = {
    "running": "success",
    "pending": "info",
    "stopping": "warning",
    "stopped": "secondary",
    "terminated": "dark",
    "error": "danger",
    "unknown": "light",
}
STATUS_COLOURS = {
    "queued": "info",
    "running": "primary",
    "succeeded": "success",
    "partial": "warning",
    "failed": "danger",
    "skipped": "secondary",
}


@register.inclusion_tag("web/_nav_link.html", takes_context=True)
def nav_link(context, url_name: str, label: str, section: str = "") -> dict:
    """A navbar entry, marked current when the page's view name starts with ``section``."""
    match = getattr(context.get("request"), "resolver_match", None)
    view_name = match.view_name if match else ""
    return {
        "url": reverse(url_name),
        "label": label,
        "active": bool(view_name) and view_name.startswith(section or url_name),
    }


@register.filter
def colour(state) -> str:
    """The Bootstrap colour for a host state."""
    return STATE_COLOURS.get(str(state), "secondary")


@register.filter
def status_colour(status) -> str:
    """The Bootstrap colour for a sync run's status."""
    return STATUS_COLOURS.get(str(status), "secondary")


@register.filter
def mib(value) -> str:
    """Memory in MiB as a person reads it: "512 MiB", "16 GiB", "1.5 TiB"."""
    if value in (None, ""):
        return "—"
    value = int(value)
    if value < 1024:
        return f"{value} MiB"
    for unit, size in (("TiB", 1024 * 1024), ("GiB", 1024)):
        if value >= size:
            amount = value / size
            return f"{amount:.0f} {unit}" if amount == int(amount) else f"{amount:.1f} {unit}"
    return f"{value} MiB"


@register.filter
def duration(value) -> str:
    """A timedelta as "2 h 5 min", "3 min 12 s" or "0.4 s"; a dash when there is none."""
    if not isinstance(value, timedelta):
        return "—"
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@register.filter
def alert_colour(level_tag) -> str:
    """The Bootstrap alert colour for a message level ("error" is Bootstrap's "danger")."""
    return {"error": "danger", "debug": "secondary"}.get(level_tag, level_tag or "info")


@register.filter
def bootstrap(field) -> str:
    """Render a bound field's widget with Bootstrap's classes, marked invalid on errors."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"

    attrs = {"class": css}
    if field.errors:
        attrs["class"] += " is-invalid"
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{field.auto_id}_errors"
    return field.as_widget(attrs=attrs)
