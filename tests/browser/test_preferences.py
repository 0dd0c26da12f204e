"""In headless Chromium: the theme toggle (light / dark / system, persisted, embed mode) and the
time zone choice (`tz=` links, stored choice, titles, permalinks, relative times that tick)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.fixtures.browser import log_in
from tests.fixtures.dashboard import Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser


def background(page: Page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


@pytest.fixture
def dark_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    context.set_default_timeout(15_000)
    yield context
    context.close()


def test_it_switches_to_dark_and_keeps_it_across_a_reload(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    log_in(page, dashboard, "/t/acme/jobs/")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")  # the context prefers light
    light = background(page)

    page.get_by_label("Theme").select_option("dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    dark = background(page)
    assert dark != light

    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert background(page) == dark
    expect(page.get_by_label("Theme")).to_have_value("dark")

    page.get_by_label("Theme").select_option("system")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert background(page) == light


def test_it_follows_the_system_until_told_otherwise(
    dark_context: BrowserContext, dashboard: Dashboard, sim: Simulator
) -> None:
    page = dark_context.new_page()
    log_in(page, dashboard, "/t/acme/jobs/")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_label("Theme")).to_have_value("system")
    page.get_by_label("Theme").select_option("light")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")


def test_embed_mode_follows_the_theme_parameter_not_the_stored_choice(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/jobs/")
    page.get_by_label("Theme").select_option("dark")
    page.goto(f"{dashboard.url}/t/acme/jobs/?embed=1")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")  # the system's, not the stored one
    page.goto(f"{dashboard.url}/t/acme/jobs/?embed=1&theme=dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.locator("#theme-choice").count() == 0  # no header in embed mode
    page.locator("tr.job-row .col-function a").first.click()  # a link inside the frame keeps the theme
    page.wait_for_url(lambda url: "/t/acme/jobs/" in url and "embed=1" in url and "theme=dark" in url)
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


def first_time(page: Page) -> tuple[datetime, str, str]:
    """The first row's created time: (its datetime, title, text) once time.js rendered it."""
    element = page.locator("tr.job-row time[datetime]").first
    expect(element).to_have_attribute("data-time-style", "relative")
    moment = datetime.fromisoformat(element.get_attribute("datetime").replace("Z", "+00:00"))
    return moment, element.get_attribute("title"), element.inner_text()


def test_a_tz_link_shows_times_in_utc_or_in_a_named_zone(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    log_in(page, dashboard, "/t/acme/jobs/?tz=UTC")
    moment, title, text = first_time(page)
    assert title == moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert text.endswith("ago") or text == "just now"
    expect(page.get_by_label("Times in")).to_have_value("UTC")

    page.goto(f"{dashboard.url}/t/acme/jobs/?tz=Asia/Tokyo")
    moment, title, _ = first_time(page)
    tokyo = moment.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M:%S +09:00 (Asia/Tokyo)")
    assert title.splitlines() == [moment.strftime("%Y-%m-%d %H:%M:%S UTC"), tokyo]
    expect(page.get_by_label("Times in")).to_have_value("Asia/Tokyo")
    expect(page.locator("form.filters input[name=tz]")).to_have_value("Asia/Tokyo")  # applying filters keeps it

    # The detail page shows absolute times in the zone, and links within the dashboard keep it.
    page.locator("tr.job-row .col-function a").first.click()
    page.wait_for_url(lambda url: "/t/acme/jobs/" in url and "tz=Asia%2FTokyo" in url)
    created = page.locator(".facts time[datetime]").first
    expect(created).to_contain_text("+09:00")


def test_the_chosen_zone_is_stored_and_carried_by_the_permalink(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/jobs/")
    permalink = page.locator("a.permalink")
    assert "tz=" not in permalink.get_attribute("href")  # browser time: links carry no zone

    page.get_by_label("Times in").select_option("UTC")
    page.wait_for_function("() => document.querySelector('a.permalink').href.includes('tz=UTC')")
    copy_link = page.get_by_role("button", name="Copy link")
    assert "tz=UTC" in copy_link.get_attribute("data-copy")

    page.reload()  # no tz in the URL: the stored choice applies
    expect(page.get_by_label("Times in")).to_have_value("UTC")
    page.wait_for_function("() => document.querySelector('a.permalink').href.includes('tz=UTC')")
    _, title, _ = first_time(page)
    assert title.endswith(" UTC") and "\n" not in title

    page.goto(f"{dashboard.url}/t/acme/jobs/?tz=Asia/Tokyo")  # the link's zone wins over the stored one
    expect(page.get_by_label("Times in")).to_have_value("Asia/Tokyo")


def test_an_unknown_zone_is_refused_naming_tz(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    log_in(page, dashboard, "/t/acme/jobs/")
    response = page.goto(f"{dashboard.url}/t/acme/jobs/?tz=Mars/Olympus")
    assert response is not None and response.status == 400
    expect(page.locator("main")).to_contain_text("tz")


def test_relative_times_keep_ticking(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    job = sim.create_job("acme", "scale")
    page.clock.install()
    log_in(page, dashboard, "/t/acme/jobs/?type=scale")
    created = page.locator(f'tr.job-row[data-job-id="{job["id"]}"] time')
    expect(created).to_have_text("just now")
    page.clock.fast_forward("03:05")
    expect(created).to_have_text("3 min ago")


def test_the_theme_is_set_before_the_body_is_parsed(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    # Recorded the moment <body> enters the document: the first paint cannot come earlier.
    page.add_init_script(
        """new MutationObserver((records, observer) => {
             if (document.body) {
               window.__themeAtBody = document.documentElement.getAttribute("data-theme");
               observer.disconnect();
             }
           }).observe(document, { childList: true, subtree: true });"""
    )
    log_in(page, dashboard, "/t/acme/jobs/")
    page.get_by_label("Theme").select_option("dark")
    page.reload()
    page.wait_for_function("() => window.__themeAtBody !== undefined")
    assert page.evaluate("window.__themeAtBody") == "dark"


def test_without_javascript_the_page_follows_the_system_and_hides_the_controls(
    browser: Browser, dashboard: Dashboard, sim: Simulator
) -> None:
    context = browser.new_context(color_scheme="dark", java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, dashboard, "/t/acme/jobs/")
        expect(page.get_by_label("Theme")).to_be_hidden()
        expect(page.locator("#table-tools")).to_be_hidden()
        expect(page.locator("a.permalink")).to_have_attribute("href", f"{dashboard.url}/t/acme/jobs/")
        dark_body = page.locator("body").evaluate("body => getComputedStyle(body).backgroundColor")
    finally:
        context.close()
    assert dark_body == "rgb(18, 20, 23)"  # --bg of the dark palette


def test_pages_raise_no_script_errors_or_csp_violations(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, dashboard, "/t/acme/jobs/?tz=Asia/Tokyo")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.get_by_role("button", name="Duration").click()
    page.get_by_label("Theme").select_option("dark")
    page.locator("tr.job-row .col-function a").first.click()
    expect(page.locator(".facts time[datetime]").first).to_contain_text("+09:00")
    expect(page.locator("#live-status")).not_to_have_attribute("data-state", "connecting")
    assert problems == []


def test_live_events_on_the_job_page_show_clock_times_in_the_zone(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    job = sim.create_job("acme", "build")
    log_in(page, dashboard, f"/t/acme/jobs/build/{job['id']}/?tz=Asia/Tokyo")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    sim.advance("acme", "build", job["id"], to="active")
    when = page.locator("#timeline li time").first
    expect(when).to_have_attribute("data-time-style", "clock")
    moment = datetime.fromisoformat(when.get_attribute("datetime").replace("Z", "+00:00"))
    expect(when).to_have_text(moment.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M:%S"))
    assert when.get_attribute("title").splitlines()[1].endswith("+09:00 (Asia/Tokyo)")
