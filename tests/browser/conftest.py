"""Browser tests: JupyterLab in headless Chromium, driven through Playwright (``make test-browser``).

They skip, saying why, when Playwright or Chromium is missing (``pip install playwright`` and
``apt-get install chromium``; nothing is downloaded at test time). ``$DEEPMIX_BROWSER_NOTEBOOKS`` points them
at another notebooks folder (e.g. an older checkout's, to show what a test catches).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jupyterlab import LabServer, chromium_path, launch_browser, new_page  # noqa: E402

NOTEBOOKS = Path(os.environ.get("DEEPMIX_BROWSER_NOTEBOOKS") or Path(__file__).resolve().parents[2] / "notebooks")


def pytest_collection_modifyitems(config, items):
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright is not installed (pip install playwright; make test-browser does it)"
    if reason is None and chromium_path() is None:
        reason = "no Chromium browser (apt-get install chromium, or set $DEEPMIX_CHROMIUM)"
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def lab():
    server = LabServer(NOTEBOOKS)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def console():
    """Error messages the page logs to the browser console."""
    return []


@pytest.fixture
def page(lab, browser, console):
    page = new_page(browser, console)
    yield page
    page.close()
    lab.shut_down_kernels()
