"""Inventory pages: hosts, providers and sync runs.

Every queryset comes from ``scope_queryset``, so an object of another tenant is a 404, and
every change checks the user's role in the object's tenant, so a reader gets a 403.
"""


from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views import View
from django.views.generic import CreateView, DeleteView, DetailView, TemplateView, UpdateView
from django.views.generic.detail import SingleObjectMixin

from portal.audit.log import record
from portal.inventory.checks import check_provider
from portal.inventory.filtersets import HostFilterSet, SyncRunFilterSet
from portal.inventory.forms import PROVIDER_FORMS, ProviderForm, provider_form_for
from portal.inventory.models import Host, Provider, ProviderKind, SyncRun, SyncStatus
from portal.inventory.tables import HostTable
from portal.inventory.tasks import queue_sync
from portal.tenancy.scoping import WRITE_ROLES, can_write, scope_queryset, tenants_for
from portal.web.mixins import FragmentMixin, PortalLoginRequiredMixin
from providers.base import HostState

PAGE_SIZE = 50
# A host that ran for years has thousands of intervals; the page shows the latest ones.
HOST_INTERVALS_SHOWN = 100
MANUAL_NOT_SYNCED = (
    "Hand-registered hosts are not synced: there is nothing to connect to. Change them under "
    "Registry, or import a CSV file."
)
# A hypervisor may carry hundreds of servers; the rest are one click away in the host list.
HOST_CHILDREN_SHOWN = 25
PROVIDER_PROJECTS_SHOWN = 50


def paginate(request, queryset, per_page: int = PAGE_SIZE):
    # get_page, not page: a stale ?page=9 after filtering shows the last page, not a 404.
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


class ScopedMixin(PortalLoginRequiredMixin):
    """Login required, and objects only from the user's tenants."""

    def get_queryset(self):
        return scope_queryset(self.model, self.request.user)


class WriteRequiredMixin:
    """403 unless the user may change ``write_area`` in the object's tenant."""

    write_area = "providers"

    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        if not can_write(self.request.user, obj.tenant_id, self.write_area):
            raise PermissionDenied("Your role in this tenant does not allow this change.")
        return obj


# --- hosts ---------------------------------------------------------------------------------

class HostListView(PortalLoginRequiredMixin, FragmentMixin, TemplateView):
    template_name = "inventory/host_list.html"
    fragment_template_name = "inventory/_host_table.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        filters = self.request.GET.copy()
        # Lists show active hosts unless the archived filter asks for others.
        filters.setdefault("archived", "false")

        hosts = scope_queryset(Host, user).select_related("provider")
        table = HostTable(HostFilterSet(filters, queryset=hosts).qs, self.request.GET)
        context.update(
            table=table,
            page=paginate(self.request, table.queryset),
            filters=filters,
            providers=scope_queryset(Provider, user).only("pk", "name"),
            regions=(
                scope_queryset(Host, user).exclude(region="")
                .order_by("region").values_list("region", flat=True).distinct()
            ),
            states=HostState.ALL,
            kinds=Host._meta.get_field("kind").choices,
            # Values HostFilterSet's archived filter reads; "any" means no filter at all.
            lifecycles=[("false", "Active"), ("true", "Archived"), ("any", "All")],
        )
        return context


class HostDetailView(ScopedMixin, DetailView):
    model = Host
    template_name = "inventory/host_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("provider", "tenant", "parent")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        children = self.object.children.active().order_by("name", "pk")
        # Hand-registered hosts are edited in the registry; synced ones only by their provider.
        context["can_edit_by_hand"] = (
            self.object.provider.kind == ProviderKind.MANUAL
            and self.object.archived_at is None
            and can_write(self.request.user, self.object.tenant_id, "registry")
        )
        context["children"] = children[:HOST_CHILDREN_SHOWN]
        context["child_count"] = children.count()
        intervals = self.object.intervals.order_by("-started_at")
        context["intervals"] = intervals[:HOST_INTERVALS_SHOWN]
        context["interval_count"] = intervals.count()
        context["interval_limit"] = HOST_INTERVALS_SHOWN
        return context


# --- providers -----------------------------------------------------------------------------

def can_add_provider(user) -> bool:
    return tenants_for(user, roles=WRITE_ROLES["providers"]).exists()


class ProviderListView(ScopedMixin, TemplateView):
    template_name = "inventory/provider_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        providers = (
            scope_queryset(Provider, self.request.user)
            .select_related("tenant", "last_run")
            .annotate(host_count=Count("hosts", filter=Q(hosts__archived_at__isnull=True)))
            # An aggregate drops the model's default ordering; pages need a stable one.
            .order_by("name", "pk")
        )
        context["page"] = paginate(self.request, providers)
        context["can_add"] = can_add_provider(self.request.user)
        return context


class ProviderDetailView(ScopedMixin, DetailView):
    model = Provider
    template_name = "inventory/provider_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("tenant", "last_run")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        provider = self.object
        context["can_write"] = can_write(self.request.user, provider.tenant_id, "providers")
        context["can_sync"] = can_write(self.request.user, provider.tenant_id, "sync")
        context["host_states"] = (
            provider.hosts.active().values("state").annotate(count=Count("pk"))
            .order_by("-count", "state")
        )
        context["recent_runs"] = provider.sync_runs.all()[:10]
        projects = provider.projects.select_related("mapped_tenant").with_host_counts()
        context["projects"] = projects[:PROVIDER_PROJECTS_SHOWN]
        context["project_count"] = projects.count()
        return context


class ProviderFormMixin:
    model = Provider
    template_name = "inventory/provider_form.html"
    audit_action = ""

    def provider_kind(self) -> str:
        return self.object.kind

    def get_form_class(self):
        kind = self.provider_kind()
        form_class = provider_form_for(kind)
        if form_class is None:
            # A kind the pages cannot configure yet: its common fields only, settings kept.
            form_class = type("CommonProviderForm", (ProviderForm,), {"kind_value": kind})
        return form_class

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kind_label"] = ProviderKind(self.provider_kind()).label
        context["form_kinds"] = [(kind, ProviderKind(kind).label) for kind in PROVIDER_FORMS]
        return context

    def form_valid(self, form):
        with transaction.atomic():
            self.object = form.save()
            record(self.audit_action, self.object, request=self.request,
                   changes=form.audit_changes())
        messages.success(self.request, self.success_text % self.object)
        return redirect(self.object)


class ProviderCreateView(PortalLoginRequiredMixin, ProviderFormMixin, CreateView):
    audit_action = "provider.create"
    success_text = "Provider “%s” was added."

    def dispatch(self, request, *args, **kwargs):
        # Anonymous users fall through to the login redirect; readers get a 403.
        if request.user.is_authenticated and not can_add_provider(request.user):
            raise PermissionDenied("Your roles cannot add providers.")
        return super().dispatch(request, *args, **kwargs)

    def provider_kind(self) -> str:
        # The kind comes from the page's address (?kind=openstack), AWS when none is given.
        kind = self.request.GET.get("kind") or ProviderKind.AWS
        if kind not in PROVIDER_FORMS:
            raise Http404("There is no form for that kind of provider.")
        return kind


class ProviderUpdateView(ScopedMixin, WriteRequiredMixin, ProviderFormMixin, UpdateView):
    audit_action = "provider.update"
    success_text = "Provider “%s” was saved."


class ProviderDeleteView(ScopedMixin, WriteRequiredMixin, DeleteView):
    model = Provider
    template_name = "inventory/provider_confirm_delete.html"
    success_url = reverse_lazy("inventory:provider_list")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["host_count"] = self.object.hosts.count()
        return context

    def form_valid(self, form):
        name = str(self.object)
        with transaction.atomic():
            # Recorded first: after the delete the provider has no primary key to point at.
            record("provider.delete", self.object, request=self.request,
                   changes={"name": name})
            self.object.delete()
        messages.success(self.request, f"Provider “{name}” was deleted.")
        return redirect(self.success_url)


class ProviderActionView(ScopedMixin, WriteRequiredMixin, SingleObjectMixin, View):
    """A POST-only button on the provider page."""

    model = Provider
    http_method_names = ["post"]


class ProviderCheckView(ProviderActionView):
    def post(self, request, *args, **kwargs):
        provider = self.get_object()
        if not provider.is_synced:
            messages.error(request, MANUAL_NOT_SYNCED)
            return redirect(provider)

        result = check_provider(provider)

        record("provider.check", provider, request=request, changes={"ok": result.ok})
        if result.ok:
            messages.success(request, f"Connection to “{provider}” works: {result.detail}")
        else:
            messages.error(request, f"Connection to “{provider}” failed: {result.detail}")
        return redirect(provider)


class ProviderSyncView(ProviderActionView):
    write_area = "sync"

    def post(self, request, *args, **kwargs):
        provider = self.get_object()
        if not provider.is_synced:
            messages.error(request, MANUAL_NOT_SYNCED)
            return redirect(provider)

        with transaction.atomic():
            run = queue_sync(provider, triggered_by=request.user.get_username())
            record("provider.sync", provider, request=request, changes={"sync_run": run.pk})

        messages.info(request, f"Sync of “{provider}” queued.")
        return redirect(run)


# --- sync runs -----------------------------------------------------------------------------

class SyncRunListView(PortalLoginRequiredMixin, TemplateView):
    template_name = "inventory/syncrun_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        runs = scope_queryset(SyncRun, user).select_related("provider")
        filterset = SyncRunFilterSet(self.request.GET, queryset=runs)
        context.update(
            page=paginate(self.request, filterset.qs),
            filters=self.request.GET,
            providers=scope_queryset(Provider, user).only("pk", "name"),
            statuses=SyncStatus.choices,
        )
        return context


class SyncRunDetailView(ScopedMixin, DetailView):
    model = SyncRun
    template_name = "inventory/syncrun_detail.html"
    context_object_name = "run"

    def get_queryset(self):
        return super().get_queryset().select_related("provider")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.object
        context["counts"] = [
            ("seen", "Seen", run.seen),
            ("created", "Created", run.created),
            ("updated", "Updated", run.updated),
            ("unchanged", "Unchanged", run.unchanged),
            ("archived", "Archived", run.archived),
        ]
        return context


class SyncRunProgressView(SyncRunDetailView):
    """The live part of the run page; htmx polls it until the run finishes."""

    template_name = "inventory/_syncrun_progress.html"
