"""What every browser test shares: Debian's Chromium, its flags, and screenshots.

Importing this module also lets the test's own ORM calls run beside Playwright: its sync API
runs an event loop in the test's thread, and Django refuses database calls from a thread with
a running loop, although the test's calls are plain synchronous ones.
"""

import os
from pathlib import Path

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying hosts this machine's closed
# network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-results" / "web"


def shoot(page, name: str) -> None:
    """A full-page screenshot under test-results/web/, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
