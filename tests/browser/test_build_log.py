"""In headless Chromium: a build log's line anchors (#L12, ranges) scroll and highlight, survive
a reload and "Copy link"; search marks matches with next / previous and says the whole log's
count; long lines wrap or not, as chosen."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from jobsdash.simulator.jobs import HUGE_LOG_JOB, XSS_JOB
from tests.fixtures.browser import log_in
from tests.fixtures.dashboard import Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser

SGR = re.compile(r"\x1b\[[0-9;]*m")
HUGE = f"/t/acme/jobs/build/{quote(HUGE_LOG_JOB[1], safe='')}/"


def failed_build(sim: Simulator) -> tuple[str, list[str]]:
    """The page of a failed build of acme (not the XSS one) and its log."""
    auth = sim.auth("acme")
    listed = httpx.get(f"{sim.url}/registry/v2/jobs/", params={"type": "build", "state": "failed"}, auth=auth).json()
    job_id = next(job["id"] for job in listed["jobs"] if job["id"] != XSS_JOB[1])
    document = httpx.get(f"{sim.url}/registry/v2/jobs/build/{quote(job_id, safe='')}", auth=auth).json()
    return f"/t/acme/jobs/build/{quote(job_id, safe='')}/", document["job"]["result"]["log"]


def selected(page: Page) -> list[str]:
    return page.locator(".line.selected").evaluate_all("lines => lines.map(line => line.id)")


def test_a_range_in_the_url_is_highlighted_and_scrolled_to_on_the_whole_log(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, f"{HUGE}log/")
    page.goto(f"{dashboard.url}{HUGE}log/#L12000-L12004")  # as a link pasted in a chat opens
    expect(page.locator("#L12000")).to_have_class(re.compile(r"\bselected\b"))
    assert selected(page) == [f"L{n}" for n in range(12000, 12005)]
    expect(page.locator("#L12000")).to_be_in_viewport()
    expect(page.locator("#L1")).not_to_be_in_viewport()
    # Another anchor, as a click on a link to it: the highlight follows.
    page.evaluate("location.hash = '#L20'")
    expect(page.locator("#L20")).to_be_in_viewport()
    assert selected(page) == ["L20"]


def test_clicking_and_shift_clicking_line_numbers_selects_a_range_that_copy_link_and_a_reload_keep(
    context: BrowserContext, dashboard: Dashboard, sim: Simulator
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    url, _ = failed_build(sim)
    log_in(page, dashboard, url)
    page.locator("#L5 a.ln").click()
    page.locator("#L9 a.ln").click(modifiers=["Shift"])
    assert selected(page) == [f"L{n}" for n in range(5, 10)]
    assert page.evaluate("location.hash") == "#L5-L9"
    page.get_by_role("button", name="Copy link").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert unquote(copied) == unquote(f"{dashboard.url}{url}#L5-L9")
    assert page.locator("a.permalink").get_attribute("href") == copied
    page.reload()
    expect(page.locator("#L5")).to_have_class(re.compile(r"\bselected\b"))
    assert selected(page) == [f"L{n}" for n in range(5, 10)]


def test_jump_to_first_error_goes_to_the_first_line_that_looks_like_one(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    url, log = failed_build(sim)
    log_in(page, dashboard, url)
    page.get_by_role("link", name="Jump to first error").click()
    target = page.locator(".line.selected")
    expect(target).to_have_count(1)
    expect(target).to_have_class(re.compile(r"\berror\b"))
    expect(target).to_be_in_viewport()
    number = int(target.get_attribute("id")[1:])
    assert page.locator(".line.error").first.get_attribute("id") == f"L{number}"
    assert any(word in SGR.sub("", log[number - 1]).lower() for word in ("err", "fail", "exit", "killed", "cancel"))


def test_search_marks_the_matches_steps_through_them_and_counts_the_whole_log(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    auth = sim.auth("acme")
    document = httpx.get(f"{sim.url}/registry/v2/jobs/build/{quote(HUGE_LOG_JOB[1], safe='')}", auth=auth).json()
    whole = sum(SGR.sub("", line).lower().count("cache miss") for line in document["job"]["result"]["log"])
    log_in(page, dashboard, HUGE)
    page.get_by_label("Search the log").fill("Cache Miss")
    status = page.locator("#log-search-status")
    marks = page.locator("mark.hit")
    expect(status).to_contain_text(f"{whole} matches in")  # the server's count of the whole log
    expect(status).to_contain_text("of the whole log")
    shown = marks.count()
    assert 0 < shown < whole  # the page holds 400 of its lines
    expect(status).to_contain_text(f"{shown} match{'es' if shown != 1 else ''} in")
    page.get_by_label("Search the log").press("Enter")
    expect(marks.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(status).to_contain_text(f"match 1 of {shown} shown here")
    page.get_by_role("button", name="Next").click()
    expect(status).to_contain_text(f"match {2 if shown > 1 else 1} of {shown}")
    page.get_by_role("button", name="Previous").click()
    expect(marks.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(marks.nth(0)).to_be_in_viewport()
    page.get_by_label("Search the log").fill("")
    expect(marks).to_have_count(0)
    expect(status).to_have_text("")


def test_a_line_the_job_page_does_not_show_is_one_click_from_the_whole_log(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, HUGE)
    page.goto(f"{dashboard.url}{HUGE}#L5000")
    note = page.locator("#log-outside")
    expect(note).to_contain_text("Line 5000 is not shown here")
    note.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/log/#L5000$"))
    expect(page.locator("#L5000")).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("#L5000")).to_be_in_viewport()
    page.evaluate("location.hash = '#L99999'")  # a line the log does not have
    expect(page.locator("#log-outside")).to_have_text(
        re.compile(r"^Line 99999 is not in this log: it has \d+ lines\.$")
    )
    page.evaluate("location.hash = '#L23920-L99999'")  # a range running past its end: no note
    expect(page.locator("#log-outside")).to_be_hidden()
    expect(page.locator("#L23920")).to_have_class(re.compile(r"\bselected\b"))


def test_long_lines_wrap_until_switched_off_and_the_choice_is_kept(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    url, _ = failed_build(sim)
    log_in(page, dashboard, url)
    pre = page.locator("pre.log-lines").first
    assert pre.evaluate("pre => getComputedStyle(pre).whiteSpace") == "pre-wrap"
    page.get_by_label("Wrap long lines").uncheck()
    assert pre.evaluate("pre => getComputedStyle(pre).whiteSpace") == "pre"
    page.goto(f"{dashboard.url}{url}log/")
    expect(page.get_by_label("Wrap long lines")).not_to_be_checked()
    assert page.locator("pre.log-lines").evaluate("pre => getComputedStyle(pre).whiteSpace") == "pre"


def test_without_javascript_the_log_reads_and_its_line_links_work(
    browser: Browser, dashboard: Dashboard, sim: Simulator
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        url, log = failed_build(sim)
        log_in(page, dashboard, f"{url}log/")
        expect(page.locator(".line")).to_have_count(len(log))
        expect(page.locator("#log-wrap")).to_be_hidden()  # a control only scripts can work
        page.locator("#L5 a.ln").click()
        assert page.evaluate("location.hash") == "#L5"
        background = "line => getComputedStyle(line).backgroundColor"
        assert page.locator("#L5").evaluate(background) != page.locator("#L4").evaluate(background)  # :target
        page.get_by_role("link", name="Jump to first error").click()
        first = page.locator(".line.error").first
        expect(first).to_be_in_viewport()
        assert page.evaluate("location.hash") == f"#{first.get_attribute('id')}"
    finally:
        context.close()
