"""Small helpers the provider and sync tests share."""

from portal.inventory import sync
from portal.inventory.models import Host, HostInterval
from providers.base import HostRecord, ScopeDone, ScopeFailed


def split_items(items) -> tuple[list, dict, list]:
    """A driver's item stream as (all items, HostRecords by external id, scope ends)."""
    items = list(items)
    records = {item.external_id: item for item in items if isinstance(item, HostRecord)}
    ends = [item for item in items if isinstance(item, ScopeDone | ScopeFailed)]
    return items, records, ends


def run_sync(provider):
    return sync.sync_provider(provider.pk, triggered_by="test")


def host(external_id):
    return Host.objects.get(external_id=external_id)


def open_intervals(external_id):
    return HostInterval.objects.filter(host__external_id=external_id, ended_at__isnull=True)
