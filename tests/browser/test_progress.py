"""In headless Chromium: a job's progress bar follows the job's events without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import log_in
from tests.fixtures.dashboard import Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser


def test_the_progress_is_refreshed_when_the_jobs_events_arrive(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    job = sim.create_job("acme", "build", outcome="retry")  # active, then delayed: an event that finishes nothing
    log_in(page, dashboard, f"/t/acme/jobs/build/{job['id']}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")
    progress = page.locator("#job-progress")
    expect(progress.locator(".progress-label")).to_have_text("0 %")  # waiting: nothing done yet
    sim.advance("acme", "build", job["id"], to="active")
    expect(progress.locator("progress")).to_have_attribute("value", "10.0")
    # The job's code reports more (no event for that), then its next event arrives.
    sim.set_progress("acme", "build", job["id"], {"step": "push", "percent": 65})
    sim.advance("acme", "build", job["id"])  # active -> delayed (a retry)
    expect(progress.locator("progress")).to_have_attribute("value", "65.0")
    expect(progress.locator("dt", has_text="step")).to_be_visible()
    expect(progress.locator(".progress-label")).to_have_text("65 %")
    assert page.evaluate("window.__notReloaded") is True
