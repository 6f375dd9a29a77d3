"""Forms for the inventory pages."""

from django import forms

from portal.inventory.models import Provider, ProviderKind
from portal.inventory.provider_settings import check_aws_region
from portal.tenancy.scoping import WRITE_ROLES, tenants_for

# The kinds this form can configure. Others are managed through the API until their settings
# fields are added here.
FORM_KINDS = [(ProviderKind.AWS.value, ProviderKind.AWS.label)]

CREDENTIAL_FIELDS = ("access_key_id", "secret_access_key")
SETTINGS_FIELDS = ("regions", "endpoint_url")


class ProviderForm(forms.ModelForm):
    """A provider's common fields plus its kind's settings and credentials.

    Credentials are write-only: the inputs never show a stored value, and leaving them blank
    on edit keeps what is stored.
    """

    # Faster than once a minute would mostly measure the provider's rate limits.
    sync_interval = forms.IntegerField(
        min_value=60, initial=3600, label="Sync interval",
        help_text="Seconds between scheduled syncs, at least 60.",
    )
    regions = forms.CharField(
        required=False,
        help_text="Comma-separated, for example eu-west-1, us-east-1. Leave blank to read every "
        "region the account has enabled.",
    )
    endpoint_url = forms.URLField(
        required=False, assume_scheme="https", label="Endpoint URL",
        help_text="Only for AWS-compatible endpoints; leave blank for AWS itself.",
    )
    access_key_id = forms.CharField(
        required=False, label="Access key ID", strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    secret_access_key = forms.CharField(
        required=False, label="Secret access key", strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Provider
        fields = ["tenant", "name", "kind", "enabled", "sync_interval"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None

        self.fields["tenant"].queryset = tenants_for(user, roles=WRITE_ROLES["providers"])
        self.fields["kind"].choices = FORM_KINDS
        # False for a provider of another kind (made through the API): its settings and
        # credentials are left alone rather than overwritten with AWS ones.
        self.configures_settings = not editing or self.instance.kind == ProviderKind.AWS

        if editing:
            # Moving a provider to another tenant or kind would strand its hosts and settings.
            self.fields["tenant"].disabled = True
            self.fields["kind"].disabled = True
            self.fields["kind"].choices = ProviderKind.choices
        if not self.configures_settings:
            for name in SETTINGS_FIELDS + CREDENTIAL_FIELDS:
                del self.fields[name]
        elif editing:
            settings = self.instance.settings or {}
            regions = settings.get("regions") or []
            # The driver also accepts one comma-separated string.
            if isinstance(regions, str):
                regions = regions.split(",")
            self.fields["regions"].initial = ", ".join(region.strip() for region in regions)
            self.fields["endpoint_url"].initial = settings.get("endpoint_url", "")
            if self.instance.has_credentials:
                for name in CREDENTIAL_FIELDS:
                    self.fields[name].help_text = "Stored. Leave blank to keep it."
        if not editing:
            tenants = list(self.fields["tenant"].queryset[:2])
            if len(tenants) == 1:
                self.fields["tenant"].initial = tenants[0].pk

    def clean_regions(self) -> list[str]:
        regions = []
        for raw in self.cleaned_data["regions"].split(","):
            region = raw.strip().lower()
            if not region:
                continue
            # Checked here so a typo fails on the form, not an hour later in a scheduled sync.
            problem = check_aws_region(region)
            if problem:
                raise forms.ValidationError(problem)
            if region not in regions:
                regions.append(region)
        return regions

    def clean(self):
        cleaned = super().clean()
        if not self.configures_settings:
            return cleaned
        given = [name for name in CREDENTIAL_FIELDS if cleaned.get(name)]

        # A key ID and its secret only work as a pair, so they are set or replaced together.
        if not self.instance.has_credentials and len(given) < len(CREDENTIAL_FIELDS):
            for name in CREDENTIAL_FIELDS:
                if name not in given:
                    self.add_error(name, "This field is required.")
        elif given and len(given) < len(CREDENTIAL_FIELDS):
            for name in CREDENTIAL_FIELDS:
                if name not in given:
                    self.add_error(
                        name, "Enter both the key ID and the secret to replace stored ones."
                    )
        return cleaned

    @property
    def credentials_given(self) -> bool:
        return self.configures_settings and all(
            self.cleaned_data.get(name) for name in CREDENTIAL_FIELDS
        )

    def save(self, commit: bool = True) -> Provider:
        provider = super().save(commit=False)

        if self.configures_settings:
            # Keep settings this form does not know about (timeouts set through the API).
            settings = dict(provider.settings or {})
            # An absent key means "the driver's default" (every region, AWS's own endpoints).
            for name in SETTINGS_FIELDS:
                if self.cleaned_data.get(name):
                    settings[name] = self.cleaned_data[name]
                else:
                    settings.pop(name, None)
            provider.settings = settings

        if self.credentials_given:
            provider.credentials = {
                name: self.cleaned_data[name] for name in CREDENTIAL_FIELDS
            }
        if commit:
            provider.save()
        return provider

    def audit_changes(self) -> dict:
        """What changed, for the audit log: values of plain fields, never of credentials."""
        changes = {}
        for name in self.changed_data:
            if name in CREDENTIAL_FIELDS:
                continue
            value = self.cleaned_data.get(name)
            changes[name] = value.pk if hasattr(value, "pk") else value
        if self.credentials_given:
            changes["credentials"] = "changed"
        return changes
