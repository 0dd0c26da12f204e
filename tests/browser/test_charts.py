"""In headless Chromium: the list page's histogram and durations follow live events, draw their
time axis in the reader's zone, show a tooltip per bar on hover and on keyboard focus, and a bar
opens the list of its jobs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.fixtures.browser import log_in
from tests.fixtures.dashboard import Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser


@pytest.fixture
def tokyo(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    yield context
    context.close()


def _cell(page: Page, table: str, key: str, value: str) -> str:
    return page.locator(f'#{table} tr[data-key="{key}"] td[data-measure="run"][data-value="{value}"]').inner_text()


def test_a_live_event_moves_a_bar_and_the_counts_and_durations_follow(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/jobs/?createdAfter=P7D")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    # The bucket that holds now is the chart's last (its table has a row for every bucket, a bar
    # only for those with jobs).
    now = page.locator("#histogram-table tbody tr >> nth=-1")
    start = now.get_attribute("data-start")
    before = int(now.locator('td[data-state="total"]').text_content())
    failed_before = int(now.locator('td[data-state="failed"]').text_content())
    total = int(page.locator('#overview [data-count="total"]').inner_text())
    runs = int(_cell(page, "durations-by-type", "undeploy", "count"))
    bar = page.locator(f'#histogram-bars .bucket[data-start="{start}"]')

    job = sim.create_job("acme", "undeploy", outcome="failed")
    sim.advance("acme", "undeploy", job["id"], to="active")
    expect(page.locator('#overview [data-count="total"]')).to_have_text(str(total + 1))
    expect(bar).to_have_attribute("data-total", str(before + 1))
    expect(bar.locator("rect.seg.state-active")).to_have_count(1)
    height = float(bar.locator("rect.seg").first.get_attribute("height"))

    sim.advance("acme", "undeploy", job["id"], to="failed")
    expect(bar).to_have_attribute("data-failed", str(failed_before + 1))
    failed = bar.locator("rect.seg.state-failed")
    expect(failed).to_have_attribute("data-count", str(failed_before + 1))
    assert float(failed.get_attribute("height")) > 0 and height > 0
    # The chart's numbers and the run times counted it too.
    expect(page.locator('#histogram-table tbody tr >> nth=-1 >> td[data-state="failed"]')).to_have_text(
        str(failed_before + 1)
    )
    run_count = '#durations-by-type tr[data-key="undeploy"] td[data-measure="run"][data-value="count"]'
    expect(page.locator(run_count)).to_have_text(str(runs + 1))


def test_the_time_axis_is_in_the_readers_zone_and_follows_a_change_of_it(
    tokyo: BrowserContext, dashboard: Dashboard, sim: Simulator
) -> None:
    page = tokyo.new_page()
    log_in(page, dashboard, "/t/acme/jobs/?createdAfter=P1D")
    overview = page.locator("#overview")
    expect(overview).to_have_attribute("data-zone", "Asia/Tokyo")  # the browser's, asked for by the page
    expect(overview.locator(".chart-zone")).to_have_text("times in Asia/Tokyo")
    expect(page.locator("#histogram-table tbody th >> nth=0")).to_contain_text("JST")
    page.get_by_label("Times in").select_option("UTC")
    expect(overview).to_have_attribute("data-zone", "UTC")
    expect(page.locator("#histogram-table tbody th >> nth=0")).to_contain_text("UTC")
    # The zone stays when live updates fetch the overview again.
    assert "tz=UTC" in page.locator("#overview").get_attribute("data-url")


def test_a_bar_has_a_tooltip_on_hover_and_on_keyboard_focus_and_opens_its_jobs(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/jobs/?createdAfter=P7D")
    bars = page.locator("#histogram-bars .bucket")
    tip = page.locator("#chart-tip")
    first = bars.first
    first.hover()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(first.get_attribute("aria-label"))
    # One tab stop for the chart, the newest bar's; the arrows move from bar to bar.
    assert bars.evaluate_all("bars => bars.filter(bar => bar.getAttribute('tabindex') === '0').length") == 1
    bars.last.focus()
    expect(tip).to_contain_text(bars.last.get_attribute("aria-label"))
    page.keyboard.press("ArrowLeft")
    previous = bars.nth(bars.count() - 2)
    expect(previous).to_be_focused()
    expect(tip).to_contain_text(previous.get_attribute("aria-label"))
    page.keyboard.press("Home")
    expect(first).to_be_focused()
    total = int(first.get_attribute("data-total"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"createdBefore="))
    expect(page.locator("tr.job-row")).to_have_count(total)


def test_a_bar_keeps_the_pages_zone_and_an_embedded_pages_theme(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    path = "/t/acme/jobs/?createdAfter=P7D&embed=1&theme=dark&tz=Asia%2FTokyo"
    log_in(page, dashboard, path)
    page.locator("#histogram-bars .bucket").last.click()
    page.wait_for_url(re.compile(r"createdBefore="))
    assert {"embed=1", "theme=dark", "tz=Asia%2FTokyo"} <= set(page.url.split("?", 1)[1].split("&"))
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
