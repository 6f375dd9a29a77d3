"""Rows written straight to the database for tests that need an estate, not a sync."""

from django.utils import timezone

from portal.inventory.models import Host


def make_hosts(provider, count, *, start=0, prefix="host", **fields):
    """``count`` hosts of ``provider`` named ``{prefix}-000`` …, written in one query."""
    now = timezone.now()
    hosts = []
    for n in range(start, start + count):
        values = {"state": "running", "region": "eu-west-1", "vcpus": 2 + n % 4,
                  "memory_mib": 4096, **fields}
        hosts.append(Host(
            provider=provider, tenant_id=provider.tenant_id, external_id=f"i-{prefix}-{n:05d}",
            name=f"{prefix}-{n:03d}", first_seen=now, last_seen=now, **values,
        ))
    return Host.objects.bulk_create(hosts)


def make_host(provider, name, **fields):
    """One host of ``provider`` called ``name`` (external id ``i-{name}``)."""
    now = timezone.now()
    values = {"state": "running", "region": "eu-west-1", "vcpus": 2, "memory_mib": 4096,
              "first_seen": now, "last_seen": now, **fields}
    return Host.objects.create(
        provider=provider, tenant_id=provider.tenant_id, external_id=f"i-{name}", name=name,
        **values,
    )
