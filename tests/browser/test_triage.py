"""In headless Chromium: a live `failed` event updates its failure group and, while the tab is
hidden, the tab's title and favicon; keyboard navigation through rows and groups, keys typed into
fields left alone; finding a job from the header's box."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import unquote

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.fixtures.browser import hide_tab, log_in, show_tab
from tests.fixtures.dashboard import Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser

_GROUP_HAS = """([signature, count]) => [...document.querySelectorAll('.failure-group')]
  .some((group) => group.dataset.signature === signature && group.dataset.count === String(count))"""


def _group_of(page: Page, path: str, job_id: str) -> dict[str, Any]:
    """The failure group of the API (the server's grouping) that holds the job."""
    groups = page.request.get(f"{path}").json()["groups"]
    return next(group for group in groups if any(job["id"] == job_id for job in group["jobs"]))


def test_a_live_failure_updates_its_group_and_the_title_counts_it_while_hidden(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/failures/?type=undeploy")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page).to_have_title("Failures · ACME")
    page.evaluate("window.__notReloaded = true")
    before = {
        g.get_attribute("data-signature"): g.get_attribute("data-count") for g in page.locator(".failure-group").all()
    }

    hide_tab(page)
    job = sim.create_job("acme", "undeploy", outcome="failed")
    sim.advance("acme", "undeploy", job["id"], to="failed")
    expect(page).to_have_title("(1) Failures · ACME")
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", re.compile(r"^data:image/svg\+xml,"))

    group = _group_of(page, f"{dashboard.url}/api/t/acme/failures/?type=undeploy", job["id"])
    page.wait_for_function(_GROUP_HAS, arg=[group["signature"], group["count"]])
    assert int(before.get(group["signature"]) or 0) == group["count"] - 1  # created, or grown by one
    changed = page.locator(".failure-group.changed")
    expect(changed).to_have_count(1)
    assert changed.get_attribute("data-signature") == group["signature"]

    show_tab(page)
    expect(page).to_have_title("Failures · ACME")
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", "/static/img/favicon.svg")
    assert page.evaluate("window.__notReloaded") is True


def test_the_list_pages_groups_follow_live_failures_of_its_filter(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/jobs/?type=scale")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    job = sim.create_job("acme", "scale", outcome="failed")
    sim.advance("acme", "scale", job["id"], to="failed")
    group = _group_of(page, f"{dashboard.url}/api/t/acme/failures/?type=scale", job["id"])
    page.wait_for_function(_GROUP_HAS, arg=[group["signature"], group["count"]])
    # The newest failure's group comes first, with the job among its samples.
    expect(page.locator(".failure-group").first).to_have_attribute("data-signature", group["signature"])
    expect(page.locator(".failure-group").first.locator(f'a[href*="{job["id"][:8]}"]')).to_have_count(1)


def test_the_keyboard_moves_through_rows_opens_one_and_leaves_fields_alone(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/jobs/?limit=10")
    rows = page.locator("#job-table tbody tr.job-row")
    expect(page.locator("#table-tools")).to_be_visible()
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(2)).to_be_focused()
    page.keyboard.press("k")
    expect(rows.nth(1)).to_be_focused()
    outline = rows.nth(1).evaluate("row => getComputedStyle(row).outlineStyle")
    assert outline == "solid"  # the focused row is outlined

    # Keys typed into a field stay in it; Esc leaves it.
    search = page.get_by_label("Search loaded jobs")
    search.click()
    page.keyboard.type("jk/?")
    expect(search).to_have_value("jk/?")
    expect(page.locator("#keys-help")).not_to_be_visible()
    search.fill("")
    page.keyboard.press("Escape")
    expect(search).not_to_be_focused()

    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_visible()
    expect(page.locator("#keys-help")).to_contain_text("find a job")
    page.keyboard.press("Escape")
    expect(page.locator("#keys-help")).not_to_be_visible()

    page.keyboard.press("/")
    expect(page.locator("#find-q")).to_be_focused()
    expect(page.locator("#find-q")).to_have_value("")  # the `/` was not typed
    page.keyboard.press("Escape")
    expect(page.locator("#find-q")).not_to_be_focused()

    page.keyboard.press("k")  # on from the row it was on (the second)
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    second = rows.nth(1)
    expect(second).to_be_focused()
    job_type, job_id = second.get_attribute("data-job-type"), second.get_attribute("data-job-id")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: f"/t/acme/jobs/{job_type}/" in url)
    expect(page.locator("article.job-detail")).to_have_attribute("data-job-id", job_id)


def test_j_and_k_move_through_failure_groups_and_enter_opens_its_list(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/failures/?type=deploy")
    groups = page.locator(".failure-group")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(groups.nth(1)).to_be_focused()
    href = groups.nth(1).locator("a.failure-list-link").get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url.endswith(href))
    expect(page.locator("tr.job-row").first).to_have_attribute("data-state", "failed")


def test_a_job_is_found_from_the_box_by_its_id_with_stray_spaces(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    # An id of its own: ids the simulator makes repeat after each reset, and the dashboard's cache
    # may still hold another test's job of another type under the same one.
    job = sim.create_job("acme", "deploy", id=f"{uuid.uuid4()}$foundFromTheBox")
    log_in(page, dashboard, "/t/acme/jobs/?limit=5")
    page.keyboard.press("/")
    page.keyboard.type(f"  {job['id']} ")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/t/acme/jobs/deploy/" in unquote(url))
    expect(page.locator("article.job-detail")).to_have_attribute("data-job-id", job["id"])

    # Nothing found: a page that says so, the box still holding what was typed.
    box = page.get_by_label("Find a job by id or URL")
    box.fill("no-such-job$anywhere")
    box.press("Enter")
    expect(page.get_by_role("heading", name="No such job")).to_be_visible()
    expect(page.get_by_label("Find a job by id or URL")).to_have_value("no-such-job$anywhere")


# Counts the page's requests for the permission and keeps every notification it makes (the real
# ones: headless Chromium makes them, with the permission granted, and shows nothing).
_WATCH_NOTIFICATIONS = """(() => {
  window.__asked = 0;
  window.__notes = [];
  const Real = window.Notification;
  window.Notification = new Proxy(Real, {
    construct(target, args) {
      const note = new target(...args);
      window.__notes.push(note);
      return note;
    },
    get(target, name) {
      if (name !== "requestPermission") return Reflect.get(target, name);
      return (...args) => {
        window.__asked += 1;
        return target.requestPermission(...args);
      };
    },
  });
})();"""


def test_failure_notifications_are_asked_for_by_the_button_and_open_the_job(
    context: BrowserContext, dashboard: Dashboard, sim: Simulator
) -> None:
    context.add_init_script(_WATCH_NOTIFICATIONS)
    page = context.new_page()
    log_in(page, dashboard, "/t/acme/jobs/?type=undeploy")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    button = page.get_by_role("button", name="Notify me of failures")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("[window.__asked, Notification.permission]") == [0, "default"]  # never asked by itself

    context.grant_permissions(["notifications"], origin=dashboard.url)  # as if they had said yes before
    button.click()
    expect(page.get_by_role("button", name="Failure notifications: on")).to_have_attribute("aria-pressed", "true")
    seen = sim.create_job("acme", "undeploy", outcome="failed")
    sim.advance("acme", "undeploy", seen["id"], to="failed")  # while they look at the page: no notification
    expect(page.locator(f'tr.job-row[data-job-id="{seen["id"]}"]')).to_have_attribute("data-state", "failed")
    assert page.evaluate("window.__notes.length") == 0

    hide_tab(page)
    away = sim.create_job("acme", "undeploy", outcome="failed")
    sim.advance("acme", "undeploy", away["id"], to="failed")
    page.wait_for_function(
        "() => window.__notes.length === 1"
    )  # a function: a bare expression is eval()ed, which the CSP forbids
    note = page.evaluate("({ title: window.__notes[0].title, body: window.__notes[0].body })")
    assert note["title"].startswith("undeploy job failed") and note["body"].startswith(away["id"][:8])
    page.evaluate("window.__notes[0].dispatchEvent(new Event('click'))")
    page.wait_for_url(lambda url: unquote(url).endswith(f"/t/acme/jobs/undeploy/{away['id']}/"))


def test_the_list_page_says_so_when_the_registry_cannot_give_its_failure_groups(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    log_in(page, dashboard, "/t/acme/jobs/?type=verify")
    expect(page.locator("#failure-groups .failure-group").first).to_be_visible()  # they come after the page
    expect(page.locator("#failure-groups")).not_to_have_attribute("aria-busy", "true")
    assert page.request.get(f"{dashboard.url}/t/acme/jobs/?type=batch").ok  # this list is read, its groups not
    sim.set_faults(error_status=503, endpoints=["list"])
    page.goto(f"{dashboard.url}/t/acme/jobs/?type=batch")
    expect(page.locator("#failure-groups")).to_contain_text("Waylay did not answer")
    expect(page.locator("#failure-groups")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#job-table tbody tr.job-row").first).to_be_visible()  # the list is shown all the same
