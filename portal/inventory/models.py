"""Providers, the hosts discovered from them, their metering intervals and sync runs."""

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from portal.crypto import decrypt_json, encrypt_json
from providers.base import HostKind, HostState


class ProviderKind(models.TextChoices):
    AWS = "aws", "AWS"
    OPENSTACK = "openstack", "OpenStack"
    REDFISH = "redfish", "Bare metal (Redfish)"
    KUBERNETES = "kubernetes", "Kubernetes"
    # Hosts registered by hand or imported from a spreadsheet; never synced.
    MANUAL = "manual", "Registered by hand"


class Provider(models.Model):
    """An account, cloud or set of BMCs the portal reads hosts from."""

    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="providers"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    # Non-secret settings: regions, endpoint_url, timeouts. Secrets go in credentials.
    settings = models.JSONField(default=dict, blank=True)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    sync_interval = models.PositiveIntegerField(
        default=3600, help_text="Seconds between scheduled syncs (at least 60)."
    )
    # The sync lease: a worker owns the provider's sync until this moment (see inventory.sync).
    sync_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    sync_lease_owner = models.CharField(max_length=64, blank=True, editable=False)
    last_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_run = models.ForeignKey(
        "SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="provider_unique_tenant_name")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:provider_detail", args=[self.pk])

    @property
    def credentials(self) -> dict:
        return decrypt_json(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict) -> None:
        self.credentials_encrypted = encrypt_json(value or {}) if value else ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)

    @property
    def is_synced(self) -> bool:
        """False for the hand-registered kind, whose hosts no driver can list."""
        return self.kind != ProviderKind.MANUAL

    def is_sync_due(self, now=None) -> bool:
        now = now or timezone.now()
        if not self.enabled or not self.is_synced:
            return False
        if self.last_sync_at is None:
            return True
        return self.last_sync_at + timedelta(seconds=self.sync_interval) <= now

    def driver(self):
        """The provider's driver, built from its settings and decrypted credentials."""
        from providers import get_driver_class

        return get_driver_class(self.kind)(self.settings, self.credentials)


class HostQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)


class Host(models.Model):
    """A machine (bare metal or virtual) as last seen at its provider."""

    tenant_path = "tenant"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="hosts")
    # Copied from the provider so tenant scoping is one indexed filter, not a join.
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="hosts")
    external_id = models.CharField(max_length=255)
    scope = models.CharField(max_length=255, blank=True, db_index=True)
    name = models.CharField(max_length=255, blank=True, db_index=True)
    kind = models.CharField(
        max_length=16,
        choices=[(HostKind.BARE_METAL, "Bare metal"), (HostKind.VIRTUAL, "Virtual")],
        default=HostKind.VIRTUAL,
    )
    state = models.CharField(max_length=16, default=HostState.UNKNOWN, db_index=True)
    region = models.CharField(max_length=64, blank=True)
    zone = models.CharField(max_length=64, blank=True)
    instance_type = models.CharField(max_length=64, blank=True)
    sockets = models.PositiveIntegerField(null=True, blank=True)
    cores = models.PositiveIntegerField(null=True, blank=True)
    vcpus = models.PositiveIntegerField(null=True, blank=True)
    memory_mib = models.PositiveBigIntegerField(null=True, blank=True)
    os = models.CharField(max_length=128, blank=True)
    system_uuid = models.CharField(max_length=64, blank=True, db_index=True)
    addresses = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    threads = models.PositiveIntegerField(null=True, blank=True)
    serial = models.CharField(max_length=128, blank=True, db_index=True)
    manufacturer = models.CharField(max_length=128, blank=True)
    model = models.CharField(max_length=128, blank=True)
    bios_version = models.CharField(max_length=128, blank=True)
    mac_addresses = models.JSONField(default=list, blank=True)
    location = models.CharField(max_length=255, blank=True)
    # The provider's own status words where ``state`` loses detail (Ironic's provision state).
    provider_status = models.CharField(max_length=64, blank=True)
    # The provider-side project or account (ProviderProject.external_id) the host belongs to.
    project = models.CharField(max_length=255, blank=True, db_index=True)
    # The machine this host runs on: a server's hypervisor. ``parent_external_id`` is what the
    # provider said; ``parent`` is resolved from it by the sync engine once both are stored.
    parent_external_id = models.CharField(max_length=255, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
        editable=False,
    )
    # A digest of the facts above as last written, so a resync compares one column per host.
    fingerprint = models.CharField(max_length=32, blank=True, editable=False)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = HostQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="host_unique_provider_external_id"
            )
        ]
        indexes = [models.Index(fields=["tenant", "archived_at", "state"])]

    def __str__(self) -> str:
        return self.name or self.external_id

    def get_absolute_url(self) -> str:
        return reverse("inventory:host_detail", args=[self.pk])

    @property
    def is_billable(self) -> bool:
        return self.archived_at is None and self.state in HostState.BILLABLE


class ProviderProjectQuerySet(models.QuerySet):
    def with_host_counts(self):
        """Each project annotated with ``host_count``, its active hosts (one subquery)."""
        hosts = (
            Host.objects.active()
            .filter(provider_id=models.OuterRef("provider_id"),
                    project=models.OuterRef("external_id"))
            .values("provider_id").annotate(count=models.Count("pk")).values("count")
        )
        return self.annotate(host_count=Coalesce(models.Subquery(hosts), 0))


class ProviderProject(models.Model):
    """A project (OpenStack), account or namespace a provider holds hosts for.

    Recorded by the sync so that an administrator can say which portal tenant each one
    belongs to; billing uses that mapping to charge a project's hosts to the right tenant.
    """

    tenant_path = "provider__tenant"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="projects")
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    domain = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    # The portal tenant this project's hosts are charged to; empty until someone maps it.
    mapped_tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="mapped_projects",
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    objects = ProviderProjectQuerySet.as_manager()

    class Meta:
        ordering = ["provider", "name", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="project_unique_provider_external_id"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.external_id

    # The provider's tenant owns the record (and decides who may map it).
    @property
    def tenant(self):
        return self.provider.tenant

    @property
    def tenant_id(self) -> int:
        return self.provider.tenant_id


class HostInterval(models.Model):
    """A stretch of time ``[started_at, ended_at)`` during which a host ran at one size.

    Opened when a host is first seen billable; closed when it stops, disappears or changes
    size (a new one then opens with the new size). An open interval has no ``ended_at``.
    """

    tenant_path = "host__tenant"

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="intervals")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    vcpus = models.PositiveIntegerField(null=True, blank=True)
    memory_mib = models.PositiveBigIntegerField(null=True, blank=True)
    sockets = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # At most one open interval per host: a double open would bill twice.
            models.UniqueConstraint(
                fields=["host"], condition=Q(ended_at__isnull=True),
                name="hostinterval_one_open_per_host",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.host} {self.started_at:%Y-%m-%d %H:%M} – {self.ended_at or 'open'}"

    @property
    def hours(self) -> float:
        end = self.ended_at or timezone.now()
        return (end - self.started_at).total_seconds() / 3600


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class SyncRun(models.Model):
    """One sync of one provider: what it did, how far it got, and what went wrong."""

    tenant_path = "provider__tenant"
    FINISHED = {SyncStatus.SUCCEEDED, SyncStatus.PARTIAL, SyncStatus.FAILED, SyncStatus.SKIPPED}

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(
        max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED, db_index=True
    )
    triggered_by = models.CharField(max_length=150, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    archived = models.PositiveIntegerField(default=0)
    scopes_total = models.PositiveIntegerField(default=0)
    scopes_done = models.PositiveIntegerField(default=0)
    # {scope: message} for every scope that could not be read whole.
    errors = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-queued_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.provider} sync #{self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("inventory:syncrun_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress(self) -> int:
        """Percent of scopes finished; 100 once the run is over."""
        if self.is_finished:
            return 100
        if not self.scopes_total:
            return 0
        return min(99, round(100 * self.scopes_done / self.scopes_total))

    @property
    def duration(self) -> timedelta | None:
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at
