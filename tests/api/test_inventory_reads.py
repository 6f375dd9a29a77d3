"""Reading hosts, sync runs and tenants: filters, ordering, details, paging and query counts."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.inventory.models import Host, HostInterval, SyncRun
from portal.tenancy.models import Membership
from tests.factories import make_hosts

HOSTS_URL = "/api/hosts/"


@pytest.fixture
def viewer(viewer_user, api_client_for):
    return api_client_for(viewer_user)


def names(response):
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


# --- hosts ----------------------------------------------------------------------------------

@pytest.fixture
def hosts(make_provider):
    """Four acme hosts over two providers, one of them archived."""
    aws = make_provider(name="aws-main")
    other = make_provider(name="aws-lab")
    now = timezone.now()
    a, b, c = make_hosts(aws, 3)
    (d,) = make_hosts(other, 1, start=3)
    Host.objects.filter(pk=a.pk).update(kind="bare_metal", system_uuid="4c4c4544-abcd")
    Host.objects.filter(pk=b.pk).update(state="stopped", region="us-east-1")
    Host.objects.filter(pk=c.pk).update(archived_at=now)
    return {"aws": aws, "other": other, "a": a, "b": b, "c": c, "d": d}


def test_host_list_leaves_archived_hosts_out_by_default(viewer, hosts):
    assert names(viewer.get(HOSTS_URL)) == ["host-000", "host-001", "host-003"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"archived": "true"}, ["host-002"]),
        ({"archived": "false"}, ["host-000", "host-001", "host-003"]),
        ({"state": "stopped"}, ["host-001"]),
        ({"region": "us-east-1"}, ["host-001"]),
        ({"kind": "bare_metal"}, ["host-000"]),
        ({"q": "abcd"}, ["host-000"]),
        ({"q": "host-00003"}, ["host-003"]),  # the external id, i-host-00003
        ({"ordering": "-name"}, ["host-003", "host-001", "host-000"]),
        ({"ordering": "-vcpus"}, ["host-003", "host-001", "host-000"]),
    ],
)
def test_host_filters_and_ordering(viewer, hosts, query, expected):
    assert names(viewer.get(HOSTS_URL, query)) == expected


def test_host_filter_by_provider(viewer, hosts):
    assert names(viewer.get(HOSTS_URL, {"provider": hosts["other"].pk})) == ["host-003"]


def test_host_filter_with_a_bad_value_names_it(viewer, hosts):
    response = viewer.get(HOSTS_URL, {"kind": "mainframe"})

    assert response.status_code == 400
    assert "kind" in response.json()


def test_archived_host_detail_still_opens(viewer, hosts):
    response = viewer.get(reverse("api:host-detail", args=[hosts["c"].pk]))

    assert response.status_code == 200
    assert response.json()["archived_at"] is not None


def test_host_detail_has_provider_and_latest_50_intervals(viewer, hosts):
    host = hosts["a"]
    start = timezone.now() - timedelta(days=30)
    HostInterval.objects.bulk_create(
        HostInterval(host=host, started_at=start + timedelta(hours=n),
                     ended_at=start + timedelta(hours=n + 1), vcpus=n)
        for n in range(60)
    )

    body = viewer.get(reverse("api:host-detail", args=[host.pk])).json()

    assert body["provider"] == {
        "id": hosts["aws"].pk, "url": f"http://testserver/api/providers/{hosts['aws'].pk}/",
        "name": "aws-main", "kind": "aws",
    }
    assert body["tenant"] == "acme"
    assert len(body["intervals"]) == 50
    assert [row["vcpus"] for row in body["intervals"][:3]] == [59, 58, 57]


def test_host_list_has_no_intervals(viewer, hosts):
    row = viewer.get(HOSTS_URL).json()["results"][0]

    assert "intervals" not in row
    assert row["provider"]["name"] == "aws-main"


def test_page_size_is_capped_at_500(viewer, make_provider):
    make_hosts(make_provider(), 501)

    body = viewer.get(HOSTS_URL, {"page_size": 1000}).json()

    assert body["count"] == 501
    assert len(body["results"]) == 500
    assert body["next"] is not None


def test_page_size_may_be_chosen_below_the_cap(viewer, make_provider):
    make_hosts(make_provider(), 30)

    body = viewer.get(HOSTS_URL, {"page_size": 7, "page": 2}).json()

    assert [row["name"] for row in body["results"]] == [f"host-{n:03d}" for n in range(7, 14)]


# --- metering intervals ------------------------------------------------------------------

INTERVALS_URL = "/api/host-intervals/"


@pytest.fixture
def intervals(hosts):
    """Intervals of host a: closed Nov 1-10, closed Nov 20 - Dec 2, open since Dec 2;
    and one of host d, open since Oct 1."""
    def at(month, day):
        return timezone.now().replace(year=2026, month=month, day=day, hour=0, minute=0,
                                      second=0, microsecond=0)

    a, d = hosts["a"], hosts["d"]
    made = {
        "nov-early": HostInterval.objects.create(host=a, started_at=at(11, 1),
                                                 ended_at=at(11, 10), vcpus=2),
        "nov-late": HostInterval.objects.create(host=a, started_at=at(11, 20),
                                                ended_at=at(12, 2), vcpus=2),
        "dec-open": HostInterval.objects.create(host=a, started_at=at(12, 2), vcpus=4),
        "d-open": HostInterval.objects.create(host=d, started_at=at(10, 1), vcpus=2),
    }
    return {name: interval.pk for name, interval in made.items()}


def interval_ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_intervals_overlapping_a_month(viewer, intervals):
    response = viewer.get(INTERVALS_URL, {"start": "2026-11-15T00:00:00Z",
                                          "end": "2026-12-01T00:00:00Z"})

    # November's second half: the interval that runs into December and host d's open one,
    # but not the one that ended on the 10th nor the one that began in December.
    assert interval_ids(response) == {intervals["nov-late"], intervals["d-open"]}


def test_intervals_by_host_and_open(viewer, hosts, intervals):
    by_host = viewer.get(INTERVALS_URL, {"host": hosts["a"].pk})
    still_open = viewer.get(INTERVALS_URL, {"open": "true"})

    assert interval_ids(by_host) == {intervals["nov-early"], intervals["nov-late"],
                                     intervals["dec-open"]}
    assert interval_ids(still_open) == {intervals["dec-open"], intervals["d-open"]}
    row = next(r for r in by_host.json()["results"] if r["id"] == intervals["dec-open"])
    assert (row["host_id"], row["ended_at"], row["vcpus"]) == (hosts["a"].pk, None, 4)
    assert row["host"].endswith(f"/api/hosts/{hosts['a'].pk}/")


def test_interval_window_with_a_bad_date_names_the_field(viewer, intervals):
    response = viewer.get(INTERVALS_URL, {"start": "last tuesday"})

    assert response.status_code == 400
    assert "start" in response.json()


# --- query counts ------------------------------------------------------------------------

def _grow_hosts(make_provider, count):
    from portal.inventory.models import Provider

    providers = list(Provider.objects.all()) or [make_provider(name=f"aws-{n}") for n in (0, 1)]
    existing = Host.objects.count()
    for n in range(existing, count):
        make_hosts(providers[n % 2], 1, start=n)


def _grow_providers(make_provider, count):
    from portal.inventory.models import Provider

    for n in range(Provider.objects.count(), count):
        provider = make_provider(name=f"aws-{n:03d}")
        provider.last_run = SyncRun.objects.create(provider=provider, status="succeeded")
        provider.save(update_fields=["last_run"])


def _grow_runs(make_provider, count):
    from portal.inventory.models import Provider

    provider = Provider.objects.first() or make_provider()
    for _ in range(SyncRun.objects.count(), count):
        SyncRun.objects.create(provider=provider, status="failed", errors={"r": "timeout"})


def _grow_intervals(make_provider, count):
    _grow_hosts(make_provider, count)
    missing = count - HostInterval.objects.count()
    for host in Host.objects.filter(intervals__isnull=True)[:missing]:
        HostInterval.objects.create(host=host, started_at=timezone.now(), vcpus=2)


@pytest.mark.parametrize(
    ("url", "grow"),
    [
        (HOSTS_URL, _grow_hosts),
        ("/api/providers/", _grow_providers),
        ("/api/sync-runs/", _grow_runs),
        (INTERVALS_URL, _grow_intervals),
    ],
)
def test_list_queries_do_not_grow_with_rows(viewer, make_provider, url, grow):
    grow(make_provider, 5)
    viewer.get(url)  # the first call also records the token's last use

    with CaptureQueriesContext(connection) as five:
        small = viewer.get(url)
    grow(make_provider, 50)
    with CaptureQueriesContext(connection) as fifty:
        large = viewer.get(url)

    assert (small.json()["count"], large.json()["count"]) == (5, 50)
    assert len(fifty) == len(five), [q["sql"] for q in fifty.captured_queries]


# --- sync runs ---------------------------------------------------------------------------

def test_sync_runs_filter_by_status_and_provider(viewer, make_provider):
    aws = make_provider(name="aws-main")
    lab = make_provider(name="aws-lab")
    SyncRun.objects.create(provider=aws, status="succeeded")
    failed = SyncRun.objects.create(provider=aws, status="failed", message="boom")
    SyncRun.objects.create(provider=lab, status="failed")

    response = viewer.get("/api/sync-runs/", {"status": "failed", "provider": aws.pk})

    assert [row["id"] for row in response.json()["results"]] == [failed.pk]


def test_sync_run_detail_shows_progress_counts_and_durations(viewer, make_provider):
    started = timezone.now() - timedelta(seconds=30)
    run = SyncRun.objects.create(
        provider=make_provider(), status="running", started_at=started, scopes_total=4,
        scopes_done=1, seen=120, created=100, updated=20, errors={"us-east-1": "timed out"},
    )

    body = viewer.get(reverse("api:syncrun-detail", args=[run.pk])).json()

    assert (body["status"], body["is_finished"], body["progress"]) == ("running", False, 25)
    assert (body["seen"], body["created"], body["updated"]) == (120, 100, 20)
    assert body["errors"] == {"us-east-1": "timed out"}
    assert 29 < body["duration_seconds"] < 120
    assert body["queue_seconds"] is not None
    assert body["finished_at"] is None


def test_queued_run_has_no_durations_yet(viewer, make_provider):
    run = SyncRun.objects.create(provider=make_provider())

    body = viewer.get(reverse("api:syncrun-detail", args=[run.pk])).json()

    assert (body["status"], body["progress"]) == ("queued", 0)
    assert (body["duration_seconds"], body["queue_seconds"]) == (None, None)


# --- tenants -----------------------------------------------------------------------------

def test_tenants_list_your_tenants_with_your_role(viewer_user, other_tenant, api_client_for):
    Membership.objects.create(user=viewer_user, tenant=other_tenant, role="finance")

    body = api_client_for(viewer_user).get("/api/tenants/").json()

    assert [(row["slug"], row["role"]) for row in body["results"]] == [
        ("acme", "viewer"), ("globex", "finance"),
    ]


def test_outsider_sees_only_their_tenant(outsider_user, tenant, api_client_for):
    body = api_client_for(outsider_user).get("/api/tenants/").json()

    assert [(row["slug"], row["role"]) for row in body["results"]] == [("globex", "admin")]


def test_superuser_sees_every_tenant_as_admin(tenant, other_tenant, api_client_for):
    root = get_user_model().objects.create_superuser("root", password="pw-root")
    Membership.objects.create(user=root, tenant=tenant, role="viewer")

    body = api_client_for(root).get("/api/tenants/").json()

    assert [(row["slug"], row["role"]) for row in body["results"]] == [
        ("acme", "viewer"), ("globex", "admin"),
    ]
