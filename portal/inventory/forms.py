"""Forms for the inventory pages: one provider form per kind, sharing the common fields.

Each kind's form turns its inputs into the provider's ``settings`` and ``credentials`` and
then checks the result with ``provider_settings`` (the same checks the API runs), so a page
and an API call can never disagree about what is valid.
"""

from django import forms

from portal.inventory import provider_settings
from portal.inventory.models import Provider, ProviderKind
from portal.inventory.provider_settings import check_aws_region
from portal.tenancy.scoping import WRITE_ROLES, tenants_for

SECRET = {"autocomplete": "new-password"}


def _secret(label: str, **kwargs) -> forms.CharField:
    return forms.CharField(
        required=False, label=label, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs=SECRET), **kwargs,
    )


def _comma_list(value: str) -> list[str]:
    items = []
    for raw in value.split(","):
        item = raw.strip()
        if item and item not in items:
            items.append(item)
    return items


class ProviderForm(forms.ModelForm):
    """A provider's common fields plus its kind's settings and credentials.

    Subclasses name their ``settings_fields`` and ``credential_fields`` and build the two
    dictionaries from them. Credentials are write-only: the inputs never show a stored value,
    and leaving them blank on edit keeps what is stored.
    """

    kind_value = ""
    settings_title = ""
    settings_fields: tuple[str, ...] = ()
    credential_fields: tuple[str, ...] = ()

    # Faster than once a minute would mostly measure the provider's rate limits.
    sync_interval = forms.IntegerField(
        min_value=60, initial=3600, label="Sync interval",
        help_text="Seconds between scheduled syncs, at least 60.",
    )

    class Meta:
        model = Provider
        fields = ["tenant", "name", "kind", "enabled", "sync_interval"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None

        self.fields["tenant"].queryset = tenants_for(user, roles=WRITE_ROLES["providers"])
        # The kind is chosen before the form is shown (each kind has its own form).
        self.fields["kind"].choices = ProviderKind.choices
        self.fields["kind"].initial = self.kind_value
        self.fields["kind"].disabled = True
        if editing:
            # Moving a provider to another tenant would strand its hosts.
            self.fields["tenant"].disabled = True
            self.load(self.instance.settings or {})
            if self.instance.has_credentials:
                for name in self.credential_fields:
                    self.fields[name].help_text = "Stored. Leave blank to keep it."
        else:
            self.instance.kind = self.kind_value
            tenants = list(self.fields["tenant"].queryset[:2])
            if len(tenants) == 1:
                self.fields["tenant"].initial = tenants[0].pk

    # --- what subclasses provide ---------------------------------------------------------

    def load(self, settings: dict) -> None:
        """Fill the inputs from stored settings (never from credentials)."""

    def build_settings(self, cleaned: dict) -> dict:
        """The settings this form manages, from its cleaned inputs; absent means default."""
        return {}

    def build_credentials(self, cleaned: dict) -> dict | None:
        """New credentials, or None to keep the stored ones."""
        return None

    # --- shared machinery ----------------------------------------------------------------

    @property
    def settings_bound_fields(self):
        return [self[name] for name in self.settings_fields]

    @property
    def credential_bound_fields(self):
        return [self[name] for name in self.credential_fields]

    def clean(self):
        cleaned = super().clean()
        # Credentials first: their per-field errors belong beside any other field's errors.
        credentials = self.build_credentials(cleaned)
        if self.errors:
            return cleaned

        # Settings this form does not show (timeouts set through the API) are kept.
        settings = {
            key: value for key, value in (self.instance.settings or {}).items()
            if key not in self.managed_settings_keys
        }
        settings.update(self.build_settings(cleaned))
        problems = provider_settings.validate_settings(self.kind_value, settings)
        if credentials is not None:
            problems += provider_settings.validate_credentials(self.kind_value, credentials)
        for problem in problems:
            self.add_error(None, problem)
        self.new_settings, self.new_credentials = settings, credentials
        return cleaned

    # Settings keys a form owns: present in its output or removed when left blank.
    managed_settings_keys: tuple[str, ...] = ()

    @property
    def credentials_given(self) -> bool:
        return getattr(self, "new_credentials", None) is not None

    def save(self, commit: bool = True) -> Provider:
        provider = super().save(commit=False)
        provider.kind = self.kind_value
        provider.settings = self.new_settings
        if self.credentials_given:
            provider.credentials = self.new_credentials
        if commit:
            provider.save()
        return provider

    def audit_changes(self) -> dict:
        """What changed, for the audit log: values of plain fields, never of credentials."""
        changes = {}
        for name in self.changed_data:
            if name in self.credential_fields:
                continue
            value = self.cleaned_data.get(name)
            changes[name] = value.pk if hasattr(value, "pk") else value
        if self.credentials_given:
            changes["credentials"] = "changed"
        return changes


class AwsProviderForm(ProviderForm):
    kind_value = ProviderKind.AWS
    settings_title = "AWS settings"
    settings_fields = ("regions", "endpoint_url")
    credential_fields = ("access_key_id", "secret_access_key")
    managed_settings_keys = settings_fields

    regions = forms.CharField(
        required=False,
        help_text="Comma-separated, for example eu-west-1, us-east-1. Leave blank to read every "
        "region the account has enabled.",
    )
    endpoint_url = forms.URLField(
        required=False, assume_scheme="https", label="Endpoint URL",
        help_text="Only for AWS-compatible endpoints; leave blank for AWS itself.",
    )
    access_key_id = _secret("Access key ID")
    secret_access_key = _secret("Secret access key")

    def load(self, settings):
        regions = settings.get("regions") or []
        # The driver also accepts one comma-separated string.
        if isinstance(regions, str):
            regions = regions.split(",")
        self.fields["regions"].initial = ", ".join(region.strip() for region in regions)
        self.fields["endpoint_url"].initial = settings.get("endpoint_url", "")

    def clean_regions(self) -> list[str]:
        regions = [region.lower() for region in _comma_list(self.cleaned_data["regions"])]
        for region in regions:
            # Checked here so a typo fails on the form, not an hour later in a scheduled sync.
            problem = check_aws_region(region)
            if problem:
                raise forms.ValidationError(problem)
        return list(dict.fromkeys(regions))

    def build_settings(self, cleaned):
        return {name: cleaned[name] for name in self.settings_fields if cleaned.get(name)}

    def build_credentials(self, cleaned):
        given = [name for name in self.credential_fields if cleaned.get(name)]

        # A key ID and its secret only work as a pair, so they are set or replaced together.
        if len(given) == len(self.credential_fields):
            return {name: cleaned[name] for name in self.credential_fields}
        if not self.instance.has_credentials or given:
            message = ("This field is required." if not self.instance.has_credentials
                       else "Enter both the key ID and the secret to replace stored ones.")
            for name in self.credential_fields:
                if name not in given:
                    self.add_error(name, message)
        return None


class OpenStackProviderForm(ProviderForm):
    kind_value = ProviderKind.OPENSTACK
    settings_title = "OpenStack settings"
    settings_fields = (
        "auth_url", "regions", "project_name", "project_domain_name", "user_domain_name",
        "interface", "services", "all_projects", "verify", "ca_cert",
    )
    credential_fields = (
        "username", "password", "application_credential_id", "application_credential_secret",
    )
    managed_settings_keys = (*settings_fields, "auth_type")

    auth_url = forms.URLField(
        assume_scheme="https", label="Identity (Keystone) URL",
        help_text="The auth_url of your clouds.yaml, such as https://keystone.example.com/v3.",
    )
    regions = forms.CharField(
        required=False, help_text="Comma-separated. Leave blank to read every region.",
    )
    project_name = forms.CharField(required=False, label="Project")
    project_domain_name = forms.CharField(required=False, label="Project domain",
                                          initial="Default")
    user_domain_name = forms.CharField(required=False, label="User domain", initial="Default")
    interface = forms.ChoiceField(
        choices=[("public", "public"), ("internal", "internal"), ("admin", "admin")],
        initial="public", help_text="Which endpoints of the service catalog to use.",
    )
    services = forms.MultipleChoiceField(
        choices=[("compute", "Compute (servers and hypervisors)"),
                 ("baremetal", "Bare metal (Ironic nodes)")],
        initial=["compute", "baremetal"], widget=forms.CheckboxSelectMultiple,
        help_text="A service the cloud does not have is skipped.",
    )
    all_projects = forms.BooleanField(
        required=False, initial=True, label="Read servers of all projects",
        help_text="Needs an admin role; without it only the project above is read.",
    )
    verify = forms.BooleanField(required=False, initial=True, label="Verify TLS certificates")
    ca_cert = forms.CharField(
        required=False, label="CA certificates (PEM)", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only for a cloud whose certificate is signed by a private CA.",
    )
    username = _secret("User name")
    password = _secret("Password")
    application_credential_id = _secret("Application credential ID")
    application_credential_secret = _secret("Application credential secret")

    def load(self, settings):
        for name in self.settings_fields:
            if name in settings:
                value = settings[name]
                self.fields[name].initial = ", ".join(value) if name == "regions" else value

    def build_settings(self, cleaned):
        settings = {
            name: cleaned[name] for name in self.settings_fields
            if cleaned.get(name) not in (None, "", [])
        }
        if cleaned.get("regions"):
            settings["regions"] = _comma_list(cleaned["regions"])
        settings["verify"] = bool(cleaned.get("verify"))
        settings["all_projects"] = bool(cleaned.get("all_projects"))
        application = cleaned.get("application_credential_id") or (
            self.instance.credentials.get("application_credential_id")
            if self.instance.has_credentials and not cleaned.get("username") else None
        )
        settings["auth_type"] = "v3applicationcredential" if application else "password"
        return settings

    def build_credentials(self, cleaned):
        password = [cleaned.get("username"), cleaned.get("password")]
        application = [cleaned.get("application_credential_id"),
                       cleaned.get("application_credential_secret")]
        if all(password) and not any(application):
            return {"username": password[0], "password": password[1]}
        if all(application) and not any(password):
            return {"application_credential_id": application[0],
                    "application_credential_secret": application[1]}
        if not any(password + application) and self.instance.has_credentials:
            return None
        self.add_error(
            None,
            "Give either a user name and password or an application credential ID and secret.",
        )
        return None


class RedfishProviderForm(ProviderForm):
    kind_value = ProviderKind.REDFISH
    settings_title = "Redfish BMCs"
    settings_fields = ("bmcs", "verify", "ca_cert", "power_timeout")
    credential_fields = ("username", "password")
    managed_settings_keys = ("bmcs", "power_timeout")

    bmcs = forms.CharField(
        label="BMCs", widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="One BMC per line: a name, then its URL, such as "
        "“rack1-u01 https://10.0.0.11”. The name labels the BMC in sync results.",
    )
    verify = forms.BooleanField(required=False, initial=True, label="Verify TLS certificates",
                                help_text="BMCs often use self-signed certificates; prefer "
                                "giving their CA below to turning this off.")
    ca_cert = forms.CharField(
        required=False, label="CA certificates (PEM)", widget=forms.Textarea(attrs={"rows": 3}),
    )
    power_timeout = forms.IntegerField(
        required=False, min_value=5, max_value=600, label="Power action deadline",
        help_text="Seconds to wait for a BMC to confirm a power change (default: the "
        "portal's PORTAL_POWER_TIMEOUT, 180 s).",
    )
    username = _secret("BMC user name")
    password = _secret("BMC password", help_text="Used for every BMC. Per-BMC logins can be "
                       "set through the API.")

    def load(self, settings):
        bmcs = settings.get("bmcs") or []
        self.fields["bmcs"].initial = "\n".join(
            f"{bmc.get('name', '')} {bmc.get('url', '')}" for bmc in bmcs if isinstance(bmc, dict)
        )
        first = next((bmc for bmc in bmcs if isinstance(bmc, dict)), {})
        self.fields["verify"].initial = first.get("verify", True)
        self.fields["ca_cert"].initial = first.get("ca_cert", "")
        self.fields["power_timeout"].initial = settings.get("power_timeout")

    def clean_bmcs(self) -> list[dict]:
        bmcs = []
        for number, line in enumerate(self.cleaned_data["bmcs"].splitlines(), start=1):
            words = line.split()
            if not words:
                continue
            if len(words) != 2:
                raise forms.ValidationError(
                    f"Line {number}: write a name and a URL separated by a space, such as "
                    "“rack1-u01 https://10.0.0.11”."
                )
            bmcs.append({"name": words[0], "url": words[1]})
        if not bmcs:
            raise forms.ValidationError("List at least one BMC.")
        return bmcs

    def build_settings(self, cleaned):
        bmcs = []
        for bmc in cleaned["bmcs"]:
            bmc = {**bmc, "verify": bool(cleaned.get("verify"))}
            if cleaned.get("ca_cert"):
                bmc["ca_cert"] = cleaned["ca_cert"]
            bmcs.append(bmc)
        settings = {"bmcs": bmcs}
        if cleaned.get("power_timeout"):
            settings["power_timeout"] = cleaned["power_timeout"]
        return settings

    def build_credentials(self, cleaned):
        given = {name: cleaned[name] for name in self.credential_fields if cleaned.get(name)}
        if len(given) == len(self.credential_fields):
            # Per-BMC logins set through the API survive a change of the shared one.
            stored = self.instance.credentials if self.instance.has_credentials else {}
            return {**({"bmcs": stored["bmcs"]} if "bmcs" in stored else {}), **given}
        if given or not self.instance.has_credentials:
            self.add_error(None, "Give the BMC user name and password together.")
        return None


PROVIDER_FORMS: dict[str, type[ProviderForm]] = {
    form.kind_value: form for form in (AwsProviderForm, OpenStackProviderForm, RedfishProviderForm)
}


def provider_form_for(kind: str) -> type[ProviderForm] | None:
    return PROVIDER_FORMS.get(kind)
