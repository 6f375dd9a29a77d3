"""The dashboard and the login page."""

from django.contrib.auth import views as auth_views
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count, Q, Sum
from django.views.generic import TemplateView

from portal.inventory.models import Host, SyncRun
from portal.tenancy.scoping import scope_queryset
from portal.web.mixins import PortalLoginRequiredMixin
from portal.web.templatetags.portal_ui import mib
from providers.base import HostState

RECENT_RUNS = 8


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Log out on POST (Django refuses GET, so a link or prefetch cannot log anyone out)."""


def hosts_by_provider(rows) -> tuple[list[str], list[dict]]:
    """Pivot (provider, state, count) rows into one row per provider for the table and chart.

    Returns the states present (in display order) and, per provider, its counts by state
    plus the chart's segment widths relative to the largest provider.
    """
    providers: dict[int, dict] = {}
    seen_states = set()
    for row in rows:
        provider = providers.setdefault(
            row["provider_id"],
            {"id": row["provider_id"], "name": row["provider__name"], "counts": {}, "total": 0},
        )
        provider["counts"][row["state"]] = row["count"]
        provider["total"] += row["count"]
        seen_states.add(row["state"])

    # States the engine does not know (a driver's new word) still show, after the known ones.
    states = [state for state in HostState.ALL if state in seen_states]
    states += sorted(seen_states - set(HostState.ALL))
    widest = max((provider["total"] for provider in providers.values()), default=0)
    table = sorted(providers.values(), key=lambda provider: provider["name"].lower())
    for provider in table:
        provider["cells"] = [provider["counts"].get(state, 0) for state in states]
        provider["segments"] = [
            {"state": state, "count": count, "width": round(100 * count / widest, 2)}
            for state, count in zip(states, provider["cells"], strict=True)
            if count
        ]
    return states, table


class DashboardView(PortalLoginRequiredMixin, TemplateView):
    template_name = "web/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        hosts = scope_queryset(Host.objects.active(), user)
        running = Q(state=HostState.RUNNING)

        # Three aggregate queries whatever the size of the estate.
        rows = hosts.values("provider_id", "provider__name", "state").annotate(
            count=Count("pk")
        ).order_by()
        context["states"], context["providers"] = hosts_by_provider(rows)

        # The names differ from the fields': an alias named "vcpus" would shadow the field.
        totals = hosts.aggregate(
            hosts=Count("pk"),
            running=Count("pk", filter=running),
            all_vcpus=Sum("vcpus", default=0),
            running_vcpus=Sum("vcpus", filter=running, default=0),
            all_memory_mib=Sum("memory_mib", default=0),
            running_memory_mib=Sum("memory_mib", filter=running, default=0),
        )
        context["totals"] = totals
        # (key, label, value, note) for the cards across the top.
        context["cards"] = [
            ("hosts", "Active hosts", intcomma(totals["hosts"]), ""),
            ("running", "Running", intcomma(totals["running"]), ""),
            ("vcpus", "vCPUs", intcomma(totals["all_vcpus"]),
             f"{intcomma(totals['running_vcpus'])} on running hosts"),
            ("memory", "Memory", mib(totals["all_memory_mib"]),
             f"{mib(totals['running_memory_mib'])} on running hosts"),
        ]

        context["recent_runs"] = (
            scope_queryset(SyncRun, user).select_related("provider")[:RECENT_RUNS]
        )
        return context
