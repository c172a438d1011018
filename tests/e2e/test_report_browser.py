"""Staff read the abandoned-cart report in a real browser: log in through the admin, open the report from the admin
index, read the figures, the chart and the table of the demo carts, download the CSV, take a screenshot. The pages
run under the Content-Security-Policy without a single violation, and so do the API docs (Swagger UI lists the
operations, Redoc renders them).

The test-run screenshot goes to var/e2e/report.png. With CART_UPDATE_SCREENSHOTS=1 the test also refreshes the one
README shows, docs/screenshots/report.png.
"""

import csv
import io
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from demo.management.commands.setup_demo import Command as SetupDemo
from tests.users.factories import StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
RUN_SCREENSHOT = Path(settings.BASE_DIR) / "var" / "e2e" / "report.png"
DOCS_SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "screenshots" / "report.png"

# fixtures/demo.json moved to today by setup_demo: the figures of its last 30 days, by hand.
DEMO_FIGURES = {
    "abandoned": "6",  # carts 2001, 2002, 2003, 2005, 2006, 2007
    "abandonment-rate": "75.0 %",  # 6 / (6 + 2004 and 2008, checked out without abandonment)
    "revenue-left": "USD 201.50",  # 2001 62.50 + 2002 89.00 + 2005 50.00
    "recovered": "2",  # 2003 and 2007 checked out (2006 came back, bought nothing: not recovered)
    "recovered-revenue": "USD 120.78",  # 2003 62.49 + 2007 58.29
    "recovery-rate": "33.3 %",  # 2 / 6
    "via-email": "1",  # 2007
    "on-their-own": "1",  # 2003
}
DEMO_ABANDONED_EMAILS = {
    "grace@example.com",
    "alan@example.com",
    "katherine@example.com",
    "barbara@example.com",
    "donald@example.com",
    "margaret@example.com",
}


# Every Content-Security-Policy violation a page reports: the event (with the directive and what was blocked) and
# chromium's console message. Playwright's init script is injected by the browser itself, so the policy allows it.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${where}`);
});
"""


def watch_csp(page) -> list[str]:
    """Start collecting the page's CSP violations; the list fills as the page runs (read it with csp_violations)."""
    console = []
    page.on("console", lambda message: "Content Security Policy" in message.text and console.append(message.text))
    page.add_init_script(WATCH_CSP)
    return console


def csp_violations(page, console: list[str]) -> list[str]:
    return [*console, *page.evaluate("window.__cspViolations || []")]


def log_in(page, live_server, staff) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", staff.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.fixture
def demo_staff():
    # setup_demo's fixture loading (the demo moved to today), without its demo login written to var/.
    SetupDemo()._load_fixtures()
    return StaffFactory(email="staff@example.com", name="Demo Staff")


def test_staff_read_the_report_of_the_demo_carts_in_a_browser(live_server, demo_staff, browser_page):
    page = browser_page
    console = watch_csp(page)
    log_in(page, live_server, demo_staff)
    page.wait_for_selector("#cart-recovery-report-link")
    assert csp_violations(page, console) == []  # the admin index
    page.click("text=Abandoned-cart report")

    page.wait_for_selector("#report-figures")
    assert page.title().startswith("Abandoned carts")
    figures = {name: page.inner_text(f"#figure-{name} .figure").strip() for name in DEMO_FIGURES}
    assert figures == DEMO_FIGURES
    days = page.locator("#report-chart svg g.day")
    assert days.count() == 30
    assert sum(int(days.nth(n).get_attribute("data-abandoned")) for n in range(30)) == 6
    assert page.locator("#report-chart rect.bar-recovered").count() >= 1
    # The report's styles come from its static file: the legend's swatches are coloured, and nothing was blocked.
    swatch = page.locator("#report-chart .legend .swatch.bar-abandoned")
    assert swatch.evaluate("element => getComputedStyle(element).backgroundColor") == "rgb(240, 163, 94)"
    assert csp_violations(page, console) == []
    emails = set(page.locator("#report-table tbody tr td:nth-child(2)").all_inner_texts())
    assert emails == DEMO_ABANDONED_EMAILS

    RUN_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RUN_SCREENSHOT), full_page=True)
    if os.environ.get("CART_UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(RUN_SCREENSHOT, DOCS_SCREENSHOT)

    table_ids = [text.lstrip("#") for text in page.locator("#report-table tbody tr td:first-child").all_inner_texts()]
    with page.expect_download() as download:
        page.click("#report-csv-link")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["cart_id"] for row in rows] == table_ids
    assert {row["email"] for row in rows} == DEMO_ABANDONED_EMAILS


def test_staff_read_the_api_docs_under_the_content_security_policy(live_server, demo_staff, browser_page):
    page = browser_page
    console = watch_csp(page)
    log_in(page, live_server, demo_staff)

    page.goto(f"{live_server.url}/admin/carts/cart/")
    page.wait_for_selector("#result_list")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path")
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("[data-section-id]")

    assert {"/cart/add", "/api/carts/", "/api/report/metrics/"} <= {path.replace("\u200b", "") for path in paths}
    # Redoc's sidebar shows the Redocly logo from its CDN: the policy stops that request (the only violation left).
    assert [violation for violation in csp_violations(page, console) if "cdn.redoc.ly" not in violation] == []
