"""In headless Chromium: sorting the loaded jobs by a column and searching them, live rows included."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import log_in
from tests.fixtures.dashboard import Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser


def durations(page: Page) -> list[str]:
    return page.locator("tr.job-row").evaluate_all("rows => rows.map(row => row.dataset.duration)")


def expected_order(values: list[str], descending: bool) -> list[str]:
    known = sorted((v for v in values if v != ""), key=float, reverse=descending)
    return known + [v for v in values if v == ""]  # unknown durations (unfinished jobs) last


def test_it_sorts_the_rows_by_duration_both_ways(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    log_in(page, dashboard, "/t/acme/jobs/")
    before = durations(page)
    assert len({v for v in before if v}) > 2, "the seeded history should have several durations"
    header = page.locator("#job-table th", has_text="Duration")
    assert header.get_attribute("aria-sort") is None

    page.get_by_role("button", name="Duration").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    assert durations(page) == expected_order(before, descending=False)
    assert durations(page) != before

    page.get_by_role("button", name="Duration").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert durations(page) == expected_order(before, descending=True)

    page.get_by_role("button", name="Type").click()
    expect(header).not_to_have_attribute("aria-sort", "descending")
    types = page.locator("tr.job-row").evaluate_all("rows => rows.map(row => row.dataset.jobType)")
    assert types == sorted(types)


def test_search_hides_rows_that_do_not_match_and_counts_the_rest(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/jobs/")
    rows = page.locator("tr.job-row")
    total = rows.count()
    expect(page.locator("#search-count")).to_have_text(f"{total} of {total} jobs shown")
    name = page.locator("tr.job-row[data-function]:not([data-function=''])").first.get_attribute("data-function")
    matching = page.locator("tr.job-row").evaluate_all(
        "(rows, name) => rows.filter(row => row.querySelector('.col-function').textContent.toLowerCase()"
        ".includes(name.toLowerCase()) || row.dataset.jobId.toLowerCase().includes(name.toLowerCase())"
        " || row.querySelector('.col-creator').textContent.toLowerCase().includes(name.toLowerCase())).length",
        name,
    )
    assert 0 < matching < total

    page.get_by_label("Search loaded jobs").fill(name.upper())
    expect(page.locator("#search-count")).to_have_text(f"{matching} of {total} jobs shown")
    expect(page.locator("tr.job-row:visible")).to_have_count(matching)
    for text in page.locator("tr.job-row:visible .col-function").all_inner_texts():
        assert name.lower() in text.lower()

    # By id: one job.
    job_id = rows.nth(total - 1).get_attribute("data-job-id")
    page.get_by_label("Search loaded jobs").fill(job_id)
    expect(page.locator("tr.job-row:visible")).to_have_count(1)
    expect(page.locator("#search-count")).to_have_text(f"1 of {total} jobs shown")


def test_live_rows_respect_the_current_search_and_sort(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    log_in(page, dashboard, "/t/acme/jobs/?type=scale")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    total = page.locator("tr.job-row").count()
    page.get_by_role("button", name="Created").click()  # oldest first: a new job goes last
    page.get_by_label("Search loaded jobs").fill("no-such-function-anywhere")
    expect(page.locator("#search-count")).to_have_text(f"0 of {total} jobs shown")

    job = sim.create_job("acme", "scale")
    sim.advance("acme", "scale", job["id"], to="active")
    row = page.locator(f'tr.job-row[data-job-id="{job["id"]}"]')
    expect(row).to_have_attribute("data-state", "active")
    expect(row).to_be_hidden()
    expect(page.locator("#search-count")).to_have_text(f"0 of {total + 1} jobs shown")

    page.get_by_label("Search loaded jobs").fill("")
    expect(row).to_be_visible()
    expect(page.locator("tr.job-row").last).to_have_attribute("data-job-id", job["id"])
