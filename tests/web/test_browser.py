"""The portal in a real headless Chromium: login, dashboard, live host filter, live sync progress.

Screenshots land in test-results/web/ for a person to look at.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.inventory.models import HostInterval, SyncRun
from tests.browser import shoot
from tests.factories import make_host, make_hosts

pytestmark = pytest.mark.browser


@pytest.fixture
def estate(make_provider, operator_user):
    """A small acme estate: two providers, a dozen hosts in several states, one finished run."""
    aws = make_provider(name="acme-aws", settings={"regions": ["eu-west-1", "us-east-1"]})
    metal = make_provider(name="acme-metal", kind="redfish")
    make_hosts(aws, 5, prefix="web", instance_type="t3.medium")
    make_hosts(aws, 2, prefix="batch", state="stopped", region="us-east-1", vcpus=8,
               instance_type="c5.2xlarge")
    make_hosts(aws, 1, prefix="api", state="pending", instance_type="m5.large")
    make_hosts(metal, 3, prefix="metal", kind="bare_metal", region="dc-paris", vcpus=64,
               memory_mib=262144)
    db = make_host(aws, "db-primary", instance_type="r5.2xlarge", vcpus=8, memory_mib=65536,
                   tags={"team": "shop", "env": "prod"}, addresses=["10.0.4.17"],
                   zone="eu-west-1b", os="Linux/UNIX")
    now = timezone.now()
    HostInterval.objects.create(host=db, started_at=now - timedelta(days=3),
                                ended_at=now - timedelta(days=1), vcpus=4, memory_mib=32768)
    HostInterval.objects.create(host=db, started_at=now - timedelta(days=1), vcpus=8,
                                memory_mib=65536)
    SyncRun.objects.create(provider=aws, status="succeeded", started_at=now,
                           finished_at=now + timedelta(seconds=4), seen=9, created=9)
    return aws


def test_login_dashboard_live_filter_host_and_sync_progress(live_server, page, estate):
    progress_requests = []
    page.on("request", lambda request: "/progress/" in request.url
            and progress_requests.append(request.url))

    # Log in through the form; the portal sends us to it first.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    shoot(page, "01-login")
    page.get_by_label("Username").fill("oscar")
    page.get_by_label("Password").fill("pw-oscar")
    page.get_by_role("button", name="Log in").click()

    # The dashboard counts the active hosts and draws one bar per provider.
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator('[data-total="hosts"]')).to_have_text("12")
    expect(page.locator('[data-total="running"]')).to_have_text("9")
    expect(page.locator(".host-chart-row")).to_have_count(2)
    expect(page.locator("#hosts-by-provider tbody tr")).to_have_count(2)
    shoot(page, "02-dashboard")

    # The host list filters as we type, swapping only the table (the page is not reloaded).
    page.get_by_role("link", name="Hosts", exact=True).click()
    rows = page.locator("#host-table tbody tr")
    expect(rows).to_have_count(12)
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Search").press_sequentially("web", delay=40)
    expect(rows).to_have_count(5)
    expect(page.locator("#host-count")).to_have_text("5 hosts")
    expect(page).to_have_url(re.compile(r"/hosts/\?q=web"))
    assert page.evaluate("window.notReloaded") is True

    # A filter select and a sort header go through htmx too, keeping the search.
    page.get_by_label("Search").fill("")
    page.get_by_label("State").select_option("running")
    expect(rows).to_have_count(9)
    page.locator("a.sort-link", has_text="vCPUs").click()
    expect(page.locator("a.sort-link.asc")).to_have_text("vCPUs")
    page.locator("a.sort-link", has_text="vCPUs").click()
    expect(page.locator("a.sort-link.desc")).to_have_text("vCPUs")
    expect(rows.first.locator("td").first).to_contain_text("metal-")
    assert page.evaluate("window.notReloaded") is True
    shoot(page, "03-hosts-filtered")

    # A host's page shows its facts, tags and metering intervals.
    page.get_by_label("State").select_option("")
    page.get_by_label("Search").fill("db-")
    expect(rows).to_have_count(1)
    page.get_by_role("link", name="db-primary").click()
    expect(page.get_by_role("heading", name="db-primary")).to_be_visible()
    expect(page.locator("#tags")).to_contain_text("shop")
    expect(page.locator("#addresses")).to_contain_text("10.0.4.17")
    expect(page.locator("#intervals tbody tr")).to_have_count(2)
    expect(page.locator("#intervals")).to_contain_text("open")
    shoot(page, "04-host-detail")

    # A running sync: the bar follows the run while htmx polls every second.
    run = SyncRun.objects.create(provider=estate, status="running", triggered_by="oscar",
                                 started_at=timezone.now(), scopes_total=4, scopes_done=1,
                                 seen=120, created=40)
    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    bar = page.locator("#syncrun-progress .progress-bar")
    expect(bar).to_have_text("25%")
    expect(page.locator("#syncrun-progress")).to_have_attribute("hx-trigger", "every 1s")
    SyncRun.objects.filter(pk=run.pk).update(scopes_done=2, seen=260)
    expect(bar).to_have_text("50%", timeout=5000)
    expect(page.locator('[data-count="seen"]')).to_have_text("260")
    shoot(page, "05-sync-running")

    # Once the run is over the bar reads 100% and the polling stops.
    SyncRun.objects.filter(pk=run.pk).update(
        status="succeeded", scopes_done=4, seen=480, finished_at=timezone.now()
    )
    expect(bar).to_have_text("100%", timeout=5000)
    expect(page.locator("#run-status")).to_have_text("Succeeded")
    expect(page.locator("#syncrun-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    polls_when_finished = len(progress_requests)
    page.wait_for_timeout(2500)
    assert len(progress_requests) == polls_when_finished
    assert polls_when_finished >= 2
    shoot(page, "06-sync-finished")


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_operator_checks_edits_and_syncs_a_provider(live_server, page, estate):
    # A refused port on the loopback, so both buttons fail at once and say why.
    estate.settings = {"regions": ["eu-west-1"], "endpoint_url": "http://127.0.0.1:9",
                       "max_attempts": 1}
    estate.save()
    log_in(page, live_server, "oscar")

    page.locator("#nav-main").get_by_role("link", name="Providers").click()
    expect(page.locator("#providers tbody tr")).to_have_count(2)
    shoot(page, "07-providers")
    page.get_by_role("link", name="acme-aws").click()

    page.get_by_role("button", name="Test connection").click()
    alert = page.locator("#messages .alert-danger")
    expect(alert).to_contain_text("Connection to “acme-aws” failed: Could not reach the EC2")
    expect(page.get_by_text("stored (encrypted)")).to_be_visible()
    shoot(page, "08-provider-check-failed")

    # The edit form keeps credentials out of the page and puts each error under its field.
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Secret access key")).to_have_value("")
    page.get_by_label("Sync interval").fill("10")
    page.get_by_label("Regions").fill("eu-west-1, atlantis")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_sync_interval_errors")).to_have_text(
        "Ensure this value is greater than or equal to 60."
    )
    expect(page.locator("#id_regions_errors")).to_contain_text("'atlantis' is not an AWS region")
    expect(page.locator("#id_sync_interval")).to_have_class(re.compile(r"is-invalid"))
    shoot(page, "09-provider-form-errors")

    # Sync now: the run (inline in tests) fails and its page says why, with no polling left.
    page.get_by_role("link", name="acme-aws").first.click()
    page.get_by_role("button", name="Sync now").click()
    expect(page).to_have_url(re.compile(r"/sync-runs/\d+/$"))
    expect(page.locator("#run-status")).to_have_text("Failed")
    expect(page.locator("#run-errors")).to_contain_text("Could not reach the EC2 endpoint")
    expect(page.locator("#syncrun-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    shoot(page, "10-sync-failed")

    page.locator("#nav-main").get_by_role("link", name="Sync runs").click()
    expect(page.locator(".syncruns tbody tr")).to_have_count(2)
    shoot(page, "11-sync-runs")

    # On a phone the navigation folds behind the toggler and the table scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/hosts/")
    expect(page.locator("#nav-main")).to_be_hidden()
    page.get_by_role("button", name="Toggle navigation").click()
    expect(page.locator("#nav-main").get_by_role("link", name="Hosts")).to_be_visible()
    # Bootstrap animates the fold; wait for it to settle before the screenshot.
    expect(page.locator("#nav-main")).to_have_class(re.compile(r"\bshow\b"))
    expect(page.locator("#host-table tbody tr")).to_have_count(12)
    shoot(page, "12-hosts-narrow")
