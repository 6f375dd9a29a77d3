"""Benchmark: reconciling 10,000 hosts into PostgreSQL, against a raw COPY of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python bench/sync.py

It creates (and afterwards drops) the database named in DATABASE_URL, then times:
  (a) the first reconcile of 10,000 host records (inserts hosts and opens their intervals),
  (b) a second reconcile of the same records (nothing changed: nothing may be written),
  (c) a COPY of the same 10,000 rows straight into the host table, the floor for (a).
Targets: a/c <= 3, b/a <= 1/3, zero rows written in (b). The last line is machine-readable:
``first/copy=A resync/first=B resync_rows=C``.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("LOG_FORMAT", "text")
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"

import dj_database_url  # noqa: E402
import psycopg  # noqa: E402

HOSTS = int(os.environ.get("BENCH_HOSTS", "10000"))
# Best of a few rounds: the machine runs other work, and the minimum is the repeatable figure.
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1")


def recreate_database(url: str) -> str:
    params = dj_database_url.parse(url)
    if params["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("bench/sync.py measures PostgreSQL: set DATABASE_URL to one.")
    admin = psycopg.connect(
        host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
        user=params["USER"] or "postgres", password=params["PASSWORD"] or None,
        dbname="postgres", autocommit=True,
    )
    name = params["NAME"]
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name


def drop_database(url: str) -> None:
    from django.db import connections

    connections.close_all()
    params = dj_database_url.parse(url)
    with psycopg.connect(
        host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
        user=params["USER"] or "postgres", dbname="postgres", autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{params["NAME"]}"')


def build_records():
    from datetime import UTC, datetime

    from providers.base import HostRecord, ScopeDone, ScopePlan

    launched = datetime(2026, 1, 1, tzinfo=UTC)
    per_region = HOSTS // len(REGIONS)
    items = [ScopePlan(REGIONS)]
    for region in REGIONS:
        for n in range(per_region):
            items.append(HostRecord(
                scope=region, external_id=f"i-{region}-{n:06d}", name=f"web-{region}-{n}",
                state="running", region=region, zone=f"{region}a", instance_type="m5.large",
                sockets=1, cores=1, vcpus=2, memory_mib=8192, os="Linux/UNIX",
                addresses=(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}",),
                launched_at=launched, tags={"team": f"team-{n % 7}", "env": "prod"},
            ))
        items.append(ScopeDone(region))
    return items


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def copy_rows(provider, rows: list[dict]) -> None:
    """Write the same host rows with a plain COPY: the fastest PostgreSQL takes them in."""
    import json

    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    columns = ["provider_id", "tenant_id", "external_id", "first_seen", "last_seen", *rows[0]]
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY inventory_host ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row([
                    provider.pk, provider.tenant_id, row["name"] + "-copy", now, now,
                    *(json.dumps(v) if isinstance(v, list | dict) else v for v in row.values()),
                ])


def main() -> None:
    url = os.environ["DATABASE_URL"]
    recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from portal.inventory import sync
    from portal.inventory.models import Host, HostInterval, Provider, SyncRun
    from portal.tenancy.models import Tenant
    from providers.base import HostRecord

    try:
        call_command("migrate", verbosity=0)
        tenant = Tenant.objects.create(name="Bench", slug="bench")
        provider = Provider.objects.create(tenant=tenant, name="bench", kind="aws")
        floor = Provider.objects.create(tenant=tenant, name="copy-floor", kind="aws")
        items = build_records()
        hosts = [item for item in items if isinstance(item, HostRecord)]
        # The floor gets the very column values the engine writes, prepared before the clock.
        rows = [sync._record_values(record) for record in hosts]
        print(f"{len(hosts)} host records in {len(REGIONS)} scopes, best of {REPEATS} rounds")

        best = {"first": float("inf"), "resync": float("inf"), "copy": float("inf")}
        written = 0
        for _ in range(REPEATS):
            Host.objects.all().delete()

            first_run = SyncRun.objects.create(provider=provider)
            first, _ = timed(lambda run=first_run: sync.reconcile(provider, run, iter(items)))
            assert first_run.created == len(hosts)

            intervals_before = HostInterval.objects.count()
            second_run = SyncRun.objects.create(provider=provider)
            second, _ = timed(lambda run=second_run: sync.reconcile(provider, run, iter(items)))
            written = max(written, second_run.created + second_run.updated
                          + second_run.archived + HostInterval.objects.count() - intervals_before)

            copy, _ = timed(lambda: transaction.atomic()(copy_rows)(floor, rows))
            assert floor.hosts.count() == len(hosts)

            for key, value in (("first", first), ("resync", second), ("copy", copy)):
                best[key] = min(best[key], value)
            print(f"  round: first={first:.2f}s resync={second:.2f}s copy={copy:.2f}s")

        print(f"(a) first reconcile (hosts and their intervals): {best['first']:.2f}s")
        print(f"(b) resync, nothing changed: {best['resync']:.2f}s, rows written: {written}")
        print(f"(c) COPY of the same host rows: {best['copy']:.2f}s")
        print(f"first/copy={best['first'] / best['copy']:.2f} "
              f"resync/first={best['resync'] / best['first']:.2f} resync_rows={written}")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
