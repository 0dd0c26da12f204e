"""In headless Chromium: axe-core (bundled by axe-playwright-python, no network) finds no serious
or critical accessibility violation on the login page, the job list (full and embedded, light and
dark, with its failure groups and the keys dialog), a job detail page, the failures page and the
find page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.fixtures.browser import log_in
from tests.fixtures.dashboard import Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def blocking_violations(axe: Axe, page: Page) -> list[dict[str, Any]]:
    results = axe.run(page)
    found = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
    for violation in found:  # printed so a failure says what to fix
        print(f"{violation['impact']}: {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            print(f"  {node['target']}: {node.get('failureSummary', '')}")
    return found


@pytest.fixture(params=["light", "dark"])
def themed_context(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=request.param)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def test_the_login_page_has_no_serious_violations(
    themed_context: BrowserContext, dashboard: Dashboard, axe: Axe
) -> None:
    page = themed_context.new_page()
    page.goto(f"{dashboard.url}/accounts/login/")
    expect(page.get_by_label("Username")).to_be_visible()
    assert blocking_violations(axe, page) == []


@pytest.mark.parametrize("embed", [False, True], ids=["full", "embed"])
def test_the_job_list_has_no_serious_violations(
    themed_context: BrowserContext, dashboard: Dashboard, sim: Simulator, axe: Axe, embed: bool
) -> None:
    page = themed_context.new_page()
    # 25 rows hold every kind of cell; axe's contrast check takes seconds per hundred rows.
    path = "/t/acme/jobs/?limit=25&embed=1" if embed else "/t/acme/jobs/?limit=25"
    log_in(page, dashboard, path)
    expect(page.locator("html")).to_have_attribute("data-theme", themed_context_scheme(page))
    expect(page.locator("#table-tools")).to_be_visible()  # scripts ran: the controls they add are checked too
    assert blocking_violations(axe, page) == []


def themed_context_scheme(page: Page) -> str:
    return "dark" if page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") else "light"


def test_a_job_detail_page_has_no_serious_violations(
    themed_context: BrowserContext, dashboard: Dashboard, sim: Simulator, axe: Axe
) -> None:
    job = sim.create_job("acme", "verify", children=True)
    sim.advance("acme", "verify", job["id"])
    page = themed_context.new_page()
    log_in(page, dashboard, f"/t/acme/jobs/verify/{job['id']}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    assert blocking_violations(axe, page) == []


def test_the_detail_of_a_failed_build_with_a_log_has_no_serious_violations(
    themed_context: BrowserContext, dashboard: Dashboard, sim: Simulator, axe: Axe
) -> None:
    job = sim.create_job("acme", "build", outcome="failed")
    sim.advance("acme", "build", job["id"], to="failed")
    page = themed_context.new_page()
    log_in(page, dashboard, f"/t/acme/jobs/build/{job['id']}/?tz=Asia/Tokyo")
    expect(page.locator(".facts time[datetime]").first).to_contain_text("+09:00")
    assert blocking_violations(axe, page) == []


@pytest.mark.parametrize("path", ["/t/acme/failures/?type=deploy", "/t/acme/find/?q=no-such-job"])
def test_the_triage_pages_have_no_serious_violations(
    themed_context: BrowserContext, dashboard: Dashboard, sim: Simulator, axe: Axe, path: str
) -> None:
    page = themed_context.new_page()
    log_in(page, dashboard, path)
    expect(page.locator("#keys-button")).to_be_visible()  # scripts ran: what they unhide is checked too
    assert blocking_violations(axe, page) == []


def test_the_list_with_its_failure_groups_and_the_keys_dialog_has_no_serious_violations(
    themed_context: BrowserContext, dashboard: Dashboard, sim: Simulator, axe: Axe
) -> None:
    page = themed_context.new_page()
    log_in(page, dashboard, "/t/acme/jobs/?limit=25")
    expect(page.locator("#failure-groups .failure-group").first).to_be_visible()
    page.keyboard.press("j")  # a focused row
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_visible()
    assert blocking_violations(axe, page) == []


def test_the_keyboard_reaches_a_skip_link_first_and_it_moves_focus_to_the_content(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/jobs/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    # Then the header's preferences, each with a label, before the page's own controls.
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("Log out").or_(page.get_by_role("button", name="Log out"))).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("Times in")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("Theme")).to_be_focused()


def test_the_charts_with_their_tables_open_and_a_tooltip_shown_have_no_serious_violations(
    themed_context: BrowserContext, dashboard: Dashboard, sim: Simulator, axe: Axe
) -> None:
    page = themed_context.new_page()
    # A limit the window holds more than: the note that says so is checked too.
    log_in(page, dashboard, "/t/acme/jobs/?createdAfter=P7D&limit=40")
    expect(page.locator("#limit-note")).to_be_visible()
    page.locator("#overview details").evaluate_all("all => all.forEach(details => { details.open = true; })")
    page.locator("#histogram-bars .bucket").last.focus()
    expect(page.locator("#chart-tip")).to_be_visible()
    assert blocking_violations(axe, page) == []


def test_a_whole_build_log_with_a_search_and_a_range_has_no_serious_violations(
    themed_context: BrowserContext, dashboard: Dashboard, sim: Simulator, axe: Axe
) -> None:
    job = sim.create_job("acme", "build", outcome="failed")
    sim.advance("acme", "build", job["id"], to="failed")
    page = themed_context.new_page()
    path = f"/t/acme/jobs/build/{job['id']}/log/?q=ERROR"
    log_in(page, dashboard, path)
    page.goto(f"{dashboard.url}{path}#L3-L6")
    expect(page.locator("mark.hit.current")).to_have_count(1)
    expect(page.locator(".line.selected")).to_have_count(4)
    assert blocking_violations(axe, page) == []
