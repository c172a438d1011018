"""Browser tests: Playwright's sync API drives Debian's chromium against pytest-django's live_server.

Playwright's sync API runs an event loop in the test's thread, so Django would refuse ORM calls there
("SynchronousOnlyOperation"); the tests only touch the ORM to set data up, before and outside the browser calls.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        reason = "Debian chromium not installed (apt-get install -y chromium)"
        if os.environ.get("CART_E2E_REQUIRED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture
def browser_page(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
