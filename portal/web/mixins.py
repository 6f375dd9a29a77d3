"""View helpers shared by every page of the portal."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers


def is_htmx(request) -> bool:
    """True for an htmx request that swaps part of a page (not a history restore)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


class PortalLoginRequiredMixin(LoginRequiredMixin):
    """Login required; an htmx request from an expired session sends the whole page to login.

    A plain redirect would be followed inside the XHR and the login form swapped into the
    middle of the page, so htmx gets an ``HX-Redirect`` header instead.
    """

    def handle_no_permission(self):
        if is_htmx(self.request) and not self.request.user.is_authenticated:
            login = redirect_to_login(
                self.request.get_full_path(), self.get_login_url(),
                self.get_redirect_field_name(),
            )
            response = HttpResponse(status=204)
            response["HX-Redirect"] = login["Location"]
            return response
        return super().handle_no_permission()


class FragmentMixin:
    """Render ``fragment_template_name`` instead of the page for htmx requests."""

    fragment_template_name = ""

    def get_template_names(self):
        if is_htmx(self.request):
            return [self.fragment_template_name]
        return super().get_template_names()

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        # The same URL answers with a page or a fragment, so caches must keep them apart.
        patch_vary_headers(response, ["HX-Request"])
        return response
