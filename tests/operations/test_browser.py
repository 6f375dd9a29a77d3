"""The power card in a real headless Chromium, acting on a moto EC2 instance.

Screenshots land in test-results/web/ beside the other browser tests'.
"""

import re

import pytest
from playwright.sync_api import expect

from portal.inventory.models import Host
from portal.inventory.sync import sync_provider
from portal.operations.models import PowerRequest
from tests.browser import shoot

pytestmark = pytest.mark.browser


@pytest.fixture
def ec2_host(aws, make_provider, operator_user):
    """A running moto instance, synced into the portal as acme's host ``web``."""
    (instance_id,) = aws.run_instances("eu-west-1", name="web")
    provider = make_provider(name="moto", settings=aws.settings(regions=("eu-west-1",)))
    sync_provider(provider.pk)
    return Host.objects.get(provider=provider, external_id=instance_id)


def test_operator_shuts_a_host_down_and_sees_it_confirmed(live_server, page, aws, ec2_host):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("oscar")
    page.get_by_label("Password").fill("pw-oscar")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto(f"{live_server.url}{ec2_host.get_absolute_url()}")
    card = page.locator("#power-card")
    expect(card.locator("#power-state")).to_have_text("running")
    shoot(page, "20-power-card")

    # Shut down asks no question; the card swaps in place and ends confirmed.
    page.evaluate("window.notReloaded = true")
    card.get_by_role("button", name="Shut down").click()
    result = page.locator("#power-result")
    expect(result).to_contain_text("Confirmed: the host is stopped (after", timeout=15000)
    expect(page.locator("#power-state")).to_have_text("stopped")
    expect(page.locator("#power-requests tbody tr")).to_have_count(1)
    expect(page.locator("#power-card")).not_to_have_attribute("hx-trigger", "every 2s")
    assert page.evaluate("window.notReloaded") is True
    assert aws.describe("eu-west-1", ec2_host.external_id)["State"]["Name"] == "stopped"
    shoot(page, "21-power-confirmed")

    # Force off asks first; saying no sends nothing.
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.locator("#power-card").get_by_role("button", name="Force off").click()
    expect(page.locator("#power-requests tbody tr")).to_have_count(1)
    assert questions and "Force off cuts the power" in questions[0]
    assert PowerRequest.objects.count() == 1

    # Power on brings it back, and the history lists both requests, newest first.
    page.locator("#power-card").get_by_role("button", name="Power on").click()
    expect(page.locator("#power-result")).to_contain_text(
        re.compile(r"Confirmed: the host is running \(after \d+ s\)"), timeout=15000
    )
    expect(page.locator("#power-requests tbody tr")).to_have_count(2)
    expect(page.locator("#power-requests tbody tr").first).to_contain_text("Power on")
    shoot(page, "22-power-on-confirmed")


def test_a_viewer_sees_the_state_without_buttons(live_server, page, ec2_host, viewer_user):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("victor")
    page.get_by_label("Password").fill("pw-victor")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.goto(f"{live_server.url}{ec2_host.get_absolute_url()}")

    expect(page.locator("#power-state")).to_have_text("running")
    expect(page.locator("#power-card").get_by_role("button")).to_have_count(0)
