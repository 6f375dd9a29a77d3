"""Power pages: the buttons' POST on the host page, and the status the card polls.

Both answer with the host's power card (``operations/_power_card.html``). While the request it
shows is in flight the card re-fetches itself every two seconds; a finished one carries no
trigger, so htmx stops polling by itself.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django.views import View

from portal.inventory.models import Host
from portal.operations.models import PowerRequest
from portal.operations.power import PowerRequestRefused, request_power
from portal.tenancy.scoping import can_write, scope_queryset
from portal.web.mixins import PortalLoginRequiredMixin, is_htmx

CARD_TEMPLATE = "operations/_power_card.html"


def render_card(request, host: Host, power_request=None, refusal: str = ""):
    response = TemplateResponse(request, CARD_TEMPLATE, {
        "host": host, "power_request": power_request, "power_refusal": refusal,
    })
    patch_vary_headers(response, ["HX-Request"])
    return response


class HostPowerView(PortalLoginRequiredMixin, View):
    """POST an action from the host page's power card."""

    http_method_names = ["post"]

    def post(self, request, pk):
        hosts = scope_queryset(Host, request.user).select_related("provider", "tenant")
        host = get_object_or_404(hosts, pk=pk)
        if not can_write(request.user, host.tenant_id, "power"):
            raise PermissionDenied("Your role in this tenant does not allow powering hosts.")

        try:
            power_request = request_power(
                host, request.POST.get("action", ""), user=request.user, request=request
            )
        except PowerRequestRefused as refusal:
            # htmx swaps only 2xx answers by default, so the refusal is shown in the card.
            if is_htmx(request):
                return render_card(request, host, refusal=refusal.message)
            messages.error(request, refusal.message)
            return redirect(host)

        # Inline, the request (and the sync after it) may be over already: show them as now.
        power_request.refresh_from_db()
        host.refresh_from_db()
        if is_htmx(request):
            return render_card(request, host, power_request)
        messages.info(request, power_request.summary)
        return redirect(host)


class PowerRequestStatusView(PortalLoginRequiredMixin, View):
    """The power card for one request's host, focused on that request (polled by htmx)."""

    def get(self, request, pk):
        requests = scope_queryset(PowerRequest, request.user).select_related(
            "host__provider", "host__tenant"
        )
        power_request = get_object_or_404(requests, pk=pk)
        # Read afresh: the host's state changes once the follow-up sync has run.
        return render_card(request, power_request.host, power_request)
