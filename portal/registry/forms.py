"""Forms for registering a host by hand and for uploading a CSV file of hosts."""

from django import forms

from portal.inventory.models import Host, ProviderKind
from portal.registry import fields, manual
from portal.registry.imports import writable_tenants

KIND_CHOICES = [("bare_metal", "Bare metal"), ("virtual", "Virtual")]
STATE_CHOICES = [
    (fields.RUNNING, "Running (metered)"),
    (fields.STOPPED, "Stopped"),
    (fields.RETIRED, "Retired (archived, kept as history)"),
]


def _checked(check, value):
    try:
        return check(value)
    except fields.Invalid as problem:
        # The field's label stands right above the message, so it is not repeated.
        raise forms.ValidationError(str(problem)[:1].upper() + str(problem)[1:])


class ManualHostForm(forms.Form):
    """A hand-registered host. Tenant and serial are fixed once the host exists."""

    tenant = forms.ModelChoiceField(queryset=None, help_text="Where the host belongs.")
    name = forms.CharField(max_length=fields.MAX_NAME, strip=False)
    serial = forms.CharField(
        max_length=fields.MAX_SERIAL, strip=False, label="Serial number",
        help_text="Identifies the host in its tenant; it cannot change later.",
    )
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="bare_metal")
    state = forms.ChoiceField(choices=STATE_CHOICES, initial=fields.RUNNING)
    sockets = forms.CharField(widget=forms.NumberInput, help_text="From 1 to 64.")
    cores = forms.CharField(
        widget=forms.NumberInput, help_text="Physical cores of all sockets together."
    )
    threads = forms.CharField(
        widget=forms.NumberInput, required=False,
        help_text="Hardware threads of the whole host; leave blank if unknown.",
    )
    memory = forms.CharField(
        label="Memory (GiB)", help_text="Such as 256; a unit may be given: 512 MiB, 1.5 TiB.",
    )
    location = forms.CharField(
        max_length=fields.MAX_LOCATION, strip=False,
        help_text="Where it stands, such as DC1 rack A3 U12.",
    )
    manufacturer = forms.CharField(max_length=fields.MAX_VENDOR_TEXT, required=False,
                                   strip=False)
    model = forms.CharField(max_length=fields.MAX_VENDOR_TEXT, required=False, strip=False)

    def __init__(self, *args, user, host: Host | None = None, **kwargs):
        self.host = host
        if host is not None:
            kwargs["initial"] = {**self.initial_for(host), **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)

        tenants = writable_tenants(user)
        self.fields["tenant"].queryset = tenants
        if host is not None:
            # Moving a host or changing its serial would make it a different host.
            self.fields["tenant"].disabled = True
            self.fields["serial"].disabled = True
        else:
            only = list(tenants[:2])
            if len(only) == 1:
                self.fields["tenant"].initial = only[0].pk

    @staticmethod
    def initial_for(host: Host) -> dict:
        values = manual.current_values(host)
        mib = values["memory_mib"]
        if mib is None:
            memory = ""
        else:
            memory = mib // 1024 if mib % 1024 == 0 else round(mib / 1024, 3)
        return {
            **values,
            "tenant": host.tenant_id,
            "serial": host.external_id,
            "threads": values["threads"] or "",
            "memory": memory,
        }

    def clean_name(self):
        return _checked(fields.name, self.cleaned_data["name"])

    def clean_serial(self):
        return _checked(fields.serial, self.cleaned_data["serial"])

    def clean_sockets(self):
        return _checked(fields.sockets, self.cleaned_data["sockets"])

    def clean_cores(self):
        return _checked(fields.cores, self.cleaned_data["cores"])

    def clean_threads(self):
        return _checked(fields.threads, self.cleaned_data["threads"])

    def clean_memory(self):
        return _checked(fields.memory_mib, self.cleaned_data["memory"])

    def clean_location(self):
        return _checked(fields.location, self.cleaned_data["location"])

    def clean_manufacturer(self):
        return _checked(fields.vendor_text, self.cleaned_data["manufacturer"])

    def clean_model(self):
        return _checked(fields.vendor_text, self.cleaned_data["model"])

    def clean(self):
        cleaned = super().clean()
        problems = fields.cpu_problems(
            cleaned.get("sockets"), cleaned.get("cores"), cleaned.get("threads")
        )
        for name, message in problems.items():
            if name not in self.errors:
                self.add_error(name, message[:1].upper() + message[1:])

        tenant, serial = cleaned.get("tenant"), cleaned.get("serial")
        if self.host is None and tenant is not None and serial:
            taken = Host.objects.filter(
                tenant=tenant, provider__kind=ProviderKind.MANUAL, external_id=serial
            ).first()
            if taken is not None:
                retired = " (retired)" if taken.archived_at else ""
                self.add_error("serial", (
                    f"Already registered in {tenant} as “{taken}”{retired}; edit that host "
                    "instead."
                ))
        return cleaned

    def registration(self) -> manual.Registration:
        data = self.cleaned_data
        values = {
            "name": data["name"], "kind": data["kind"], "state": data["state"],
            "sockets": data["sockets"], "cores": data["cores"], "threads": data["threads"],
            "memory_mib": data["memory"], "location": data["location"],
            "manufacturer": data["manufacturer"], "model": data["model"],
        }
        if self.host is not None:
            return manual.Registration(self.host.tenant, self.host.external_id, values)
        return manual.Registration(data["tenant"], data["serial"], values)


class ImportForm(forms.Form):
    """The upload: a CSV file, the tenant for rows that name none, and dry run or not."""

    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 (“CSV UTF-8” in Excel), comma or semicolon separated, header first.",
    )
    tenant = forms.ModelChoiceField(
        queryset=None, required=False, label="Default tenant",
        empty_label="Only the file's tenant column",
        help_text="Used for rows with an empty tenant cell, or for every row when the file has "
        "no tenant column.",
    )
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run: only show what would change",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        tenants = writable_tenants(user)
        self.fields["tenant"].queryset = tenants
        only = list(tenants[:2])
        if len(only) == 1:
            self.fields["tenant"].initial = only[0].pk
