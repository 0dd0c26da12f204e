"""In headless Chromium: the job list shows a new job and its state changes without a reload; a
tab shown again catches up on what it missed; a member whose access ended is told so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.fixtures.browser import log_in
from tests.fixtures.dashboard import USERNAME, Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser


def test_a_new_job_appears_and_changes_state_without_a_reload(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    log_in(page, dashboard, "/t/acme/jobs/?type=build")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")
    rows_before = page.locator("tr.job-row").count()

    job = sim.create_job("acme", "build")
    sim.advance("acme", "build", job["id"], to="active")
    row = page.locator(f'tr.job-row[data-job-id="{job["id"]}"]')
    expect(row).to_have_attribute("data-state", "active")
    expect(page.locator("tr.job-row").first).to_have_attribute("data-job-id", job["id"])
    expect(page.locator("#job-table caption .count")).to_have_text(f"{rows_before + 1} jobs")

    sim.advance("acme", "build", job["id"], to="completed")
    expect(row.locator(".badge")).to_have_text("completed")
    assert page.evaluate("window.__notReloaded") is True


def test_jobs_outside_the_filter_do_not_appear(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    log_in(page, dashboard, "/t/acme/jobs/?type=deploy")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    build = sim.create_job("acme", "build")
    deploy = sim.create_job("acme", "deploy")
    sim.advance("acme", "build", build["id"], to="active")
    sim.advance("acme", "deploy", deploy["id"], to="active")
    expect(page.locator(f'tr.job-row[data-job-id="{deploy["id"]}"]')).to_have_count(1)
    expect(page.locator(f'tr.job-row[data-job-id="{build["id"]}"]')).to_have_count(0)


def test_pausing_holds_updates_until_resumed(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    log_in(page, dashboard, "/t/acme/jobs/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.get_by_label("Pause live updates").check()
    job = sim.create_job("acme", "scale")
    sim.advance("acme", "scale", job["id"], to="active")
    # Two events: the new job is announced waiting, then goes active.
    expect(page.locator("#held-count")).to_have_text("(2 updates held)")
    row = page.locator(f'tr.job-row[data-job-id="{job["id"]}"]')
    expect(row).to_have_count(0)
    page.get_by_label("Pause live updates").uncheck()
    expect(row).to_have_attribute("data-state", "active")


def _live(page: Page, dashboard: Dashboard, path: str) -> Locator:
    """Log in to `path` and wait until its live status says Live; the status element."""
    log_in(page, dashboard, path)
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live")
    return status


@contextmanager
def _not_a_member(dashboard: Dashboard) -> Iterator[None]:
    """The browser's user is no member of acme meanwhile (the other tests need them back)."""
    dashboard.manage("tenant", "revoke", "acme", USERNAME)
    try:
        yield
    finally:
        dashboard.manage("tenant", "grant", "acme", USERNAME)


def _hide(page: Page) -> None:
    """The tab goes to the background (as far as the page can tell), then, after the page's
    grace period (JOBSDASH_LIVE_PAGE_HIDDEN_GRACE: 0.5 s for these tests), its socket is closed."""
    page.evaluate(
        """() => {
          Object.defineProperty(document, "hidden", { configurable: true, get: () => window.__hidden === true });
          window.__hidden = true;
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    expect(page.locator("#live-status")).to_have_attribute("data-state", "paused")


def _show(page: Page) -> None:
    page.evaluate("() => { window.__hidden = false; document.dispatchEvent(new Event('visibilitychange')); }")


def test_a_member_removed_from_the_tenant_is_told_their_access_ended(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    status = _live(page, dashboard, "/t/acme/jobs/")
    with _not_a_member(dashboard):
        # Within the dashboard's recheck (1 s here); the page stops instead of retrying.
        expect(status).to_have_attribute("data-state", "ended")
        expect(status).to_have_text("Access ended: reload the page")
        page.reload()  # as the message says: the page is not theirs to see any more
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_a_tab_shown_again_catches_up_on_what_happened_while_it_was_hidden(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    status = _live(page, dashboard, "/t/acme/jobs/?type=build")
    page.evaluate("window.__notReloaded = true")
    _hide(page)
    job = sim.create_job("acme", "build")
    sim.advance("acme", "build", job["id"], to="active")
    _show(page)
    expect(status).to_have_attribute("data-state", "live")
    expect(page.locator(f'tr.job-row[data-job-id="{job["id"]}"]')).to_have_attribute("data-state", "active")
    assert page.evaluate("window.__notReloaded") is True


def test_a_page_whose_access_ended_while_it_was_hidden_says_so_when_shown(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    status = _live(page, dashboard, "/t/acme/jobs/")
    _hide(page)
    with _not_a_member(dashboard):
        _show(page)
        # The new socket is refused; the page finds out why instead of retrying for ever.
        expect(status).to_have_attribute("data-state", "ended")
        expect(status).to_have_text("Access ended: reload the page")
