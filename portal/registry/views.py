"""Pages for hosts registered by hand and for importing them from a CSV file.

Hosts come from ``scope_queryset``, so a host of another tenant is a 404; every change needs
the admin or operator role in the host's tenant (403 otherwise).
"""

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import FormView, TemplateView

from portal.audit.log import record
from portal.inventory.models import Host, ProviderKind
from portal.inventory.views import paginate
from portal.registry import csv_import, imports, manual, pending
from portal.registry.filtersets import ManualHostFilterSet
from portal.registry.forms import ImportForm, ManualHostForm
from portal.tenancy.scoping import can_write, scope_queryset
from portal.web.mixins import PortalLoginRequiredMixin
from portal.web.templatetags.portal_ui import mib

# A result page lists at most this many rows and errors; the counts above them cover all.
SHOWN_ROWS = 1000


def manual_hosts(user):
    return scope_queryset(Host, user).filter(provider__kind=ProviderKind.MANUAL)


def _triggered_by(request, what: str) -> str:
    return f"{what} by {request.user.get_username()}"


class RegistryWriterMixin(PortalLoginRequiredMixin):
    """403 unless the user may register hosts in at least one tenant."""

    def dispatch(self, request, *args, **kwargs):
        # Anonymous users fall through to the login redirect.
        if request.user.is_authenticated and not imports.writable_tenants(request.user).exists():
            raise PermissionDenied("Your roles cannot register hosts.")
        return super().dispatch(request, *args, **kwargs)


class ManualHostMixin(PortalLoginRequiredMixin):
    """The hand-registered host named in the URL, for a user who may change it."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            hosts = manual_hosts(request.user).select_related("tenant", "provider")
            self.host = get_object_or_404(hosts, pk=kwargs["pk"])
            if not can_write(request.user, self.host.tenant_id, "registry"):
                raise PermissionDenied("Your role in this tenant does not allow this change.")
        return super().dispatch(request, *args, **kwargs)


# --- hosts ---------------------------------------------------------------------------------

class ManualHostListView(PortalLoginRequiredMixin, TemplateView):
    template_name = "registry/host_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        filters = self.request.GET.copy()

        hosts = manual_hosts(user).select_related("tenant")
        if not filters.get("state"):
            hosts = hosts.active()
        filterset = ManualHostFilterSet(filters, queryset=hosts)
        writable_ids = set(imports.writable_tenants(user).values_list("pk", flat=True))
        context.update(
            page=paginate(self.request, filterset.qs.order_by("name", "pk")),
            filters=filters,
            can_register=bool(writable_ids),
            writable_ids=writable_ids,
        )
        return context


class ManualHostCreateView(RegistryWriterMixin, FormView):
    form_class = ManualHostForm
    template_name = "registry/host_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        with transaction.atomic():
            try:
                outcome = manual.write(
                    [form.registration()], create_only=True,
                    triggered_by=_triggered_by(self.request, "registration"),
                )
            except manual.AlreadyRegistered as exc:
                form.add_error("serial", str(exc))
                return self.form_invalid(form)
            (item,) = outcome.planned
            record("manual_host.create", item.host, request=self.request,
                   changes=manual.audit_changes(item))

        messages.success(self.request, f"Host “{item.host}” was registered.")
        return redirect(item.host)


class ManualHostUpdateView(ManualHostMixin, FormView):
    form_class = ManualHostForm
    template_name = "registry/host_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "host": self.host}

    def get_context_data(self, **kwargs):
        return super().get_context_data(host=self.host, **kwargs)

    def form_valid(self, form):
        with transaction.atomic():
            outcome = manual.write(
                [form.registration()], triggered_by=_triggered_by(self.request, "registration")
            )
            (item,) = outcome.planned
            if item.action == manual.UPDATE:
                record("manual_host.update", item.host, request=self.request,
                       changes=manual.audit_changes(item))

        if item.action == manual.UPDATE:
            messages.success(self.request, f"Host “{item.host}” was saved.")
        else:
            messages.info(self.request, f"Nothing changed on “{item.host}”.")
        return redirect(item.host)


class ManualHostRetireView(ManualHostMixin, TemplateView):
    template_name = "registry/host_retire.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(host=self.host, **kwargs)

    def post(self, request, *args, **kwargs):
        with transaction.atomic():
            outcome = manual.retire(self.host, triggered_by=_triggered_by(request, "retire"))
            (item,) = outcome.planned
            if item.action == manual.UPDATE:
                record("manual_host.retire", self.host, request=request,
                       changes=manual.audit_changes(item))

        messages.success(request, f"Host “{self.host}” was retired.")
        return redirect("registry:host_list")


# --- CSV import ----------------------------------------------------------------------------

class ImportView(RegistryWriterMixin, FormView):
    """The upload form; its POST shows the dry run's plan, the errors, or what was imported."""

    form_class = ImportForm
    template_name = "registry/import_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def post(self, request, *args, **kwargs):
        # Judged on the declared size before the body is parsed, so a huge upload is refused
        # without being spooled to disk first.
        too_big = imports.request_too_big(request)
        if too_big:
            return render_result(request, imports.failed(too_big))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        tenant = form.cleaned_data["tenant"]
        data, problem = imports.read_upload(upload)
        if problem:
            return render_result(self.request, imports.failed(problem, upload.name))

        dry_run = form.cleaned_data["dry_run"]
        result = imports.import_csv(
            data, user=self.request.user, default_tenant=tenant, dry_run=dry_run,
            file_name=upload.name, request=self.request,
        )
        token = None
        if dry_run and result.ok:
            token = pending.sign(self.request.user, data, upload.name, tenant and tenant.pk)
        return render_result(self.request, result, token=token)


class ImportConfirmView(RegistryWriterMixin, View):
    """"Import now": the file checked in the dry run, written this time."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        carried = pending.unsign(request.user, request.POST.get("payload", ""))
        if carried is None:
            messages.error(
                request, "That import plan has expired or was altered; upload the file again."
            )
            return redirect("registry:import")
        data, file_name, tenant_id = carried

        tenant = None
        if tenant_id is not None:
            tenant = imports.writable_tenants(request.user).filter(pk=tenant_id).first()
            if tenant is None:
                # Never fall back to another tenant than the one the plan was made for.
                messages.error(request, "You can no longer import hosts into that tenant.")
                return redirect("registry:import")
        result = imports.import_csv(
            data, user=request.user, default_tenant=tenant, dry_run=False,
            file_name=file_name, request=request,
        )
        return render_result(request, result)


class ImportTemplateView(RegistryWriterMixin, View):
    """A CSV file with the accepted columns and two example rows."""

    def get(self, request, *args, **kwargs):
        tenant = imports.writable_tenants(request.user).first()
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="hosts-template.csv"'
        writer = csv.writer(response)
        writer.writerows(csv_import.template_rows(tenant.slug if tenant else "your-tenant"))
        return response


def _shown(value, field: str) -> str:
    if value is None or value == "":
        return "—"
    if field == "memory_mib":
        return mib(value)
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items()) or "—"
    return str(value)


def render_result(request, result: imports.ImportResult, *, token: str | None = None):
    """The result page: the file's problems, the dry run's plan, or what was written."""
    context = {"result": result, "token": token, "shown_limit": SHOWN_ROWS}
    if result.ok:
        outcome = result.outcome
        changing = [item for item in outcome.planned if item.action != manual.UNCHANGED]
        context.update(
            counts=outcome.counts,
            rows=[_plan_row(item) for item in changing[:SHOWN_ROWS]],
            hidden_rows=max(0, len(changing) - SHOWN_ROWS),
            unchanged=[
                item for item in outcome.planned if item.action == manual.UNCHANGED
            ][:SHOWN_ROWS],
            form=ImportForm(user=request.user, initial={"dry_run": False}),
        )
    else:
        context.update(
            errors=result.parsed.errors[:SHOWN_ROWS],
            hidden_errors=max(0, len(result.parsed.errors) - SHOWN_ROWS),
        )
    return render(request, "registry/import_result.html", context)


def _label(field: str) -> str:
    return "memory" if field == "memory_mib" else field


def _plan_row(item: manual.Planned) -> dict:
    if item.action == manual.CREATE:
        shown = ("sockets", "cores", "memory_mib", "location", "state")
        details = [
            (_label(name), None, _shown(item.desired.get(name), name)) for name in shown
        ]
    else:
        details = [
            (_label(name), _shown(old, name), _shown(new, name))
            for name, (old, new) in item.changes.items()
        ]
    return {"item": item, "details": details}
