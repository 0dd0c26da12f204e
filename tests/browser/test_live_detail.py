"""In headless Chromium: a verify job's page follows it and its children live."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import log_in
from tests.fixtures.dashboard import Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser


def test_the_family_tree_and_timeline_follow_the_jobs(page: Page, dashboard: Dashboard, sim: Simulator) -> None:
    verify = sim.create_job("acme", "verify", children=True)
    build, deploy = verify["children"]
    log_in(page, dashboard, f"/t/acme/jobs/verify/{quote(verify['id'], safe='')}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    tree = page.locator("#family-tree")
    for child in (build, deploy):
        expect(tree.locator(f'li[data-job-id="{child["id"]}"] .badge')).to_have_text("waiting")

    sim.advance("acme", "build", build["id"], to="active")
    expect(tree.locator(f'li[data-job-id="{build["id"]}"] .badge')).to_have_text("active")
    sim.advance("acme", "build", build["id"], to="completed")
    sim.advance("acme", "deploy", deploy["id"], to="active")
    sim.advance("acme", "deploy", deploy["id"], to="completed")
    expect(tree.locator(f'li[data-job-id="{deploy["id"]}"] .badge')).to_have_text("completed")
    timeline = page.locator("#timeline li")
    expect(timeline.filter(has_text="completed · deploy")).to_have_count(1)
    seen = timeline.all_inner_texts()
    steps = iter(seen)
    wanted = [
        f"active · build {build['id'][:8]}…",
        f"completed · build {build['id'][:8]}…",
        f"active · deploy {deploy['id'][:8]}…",
        f"completed · deploy {deploy['id'][:8]}…",
    ]
    assert all(any(step.endswith(w) for step in steps) for w in wanted), seen  # in this order

    sim.advance("acme", "verify", verify["id"])  # waiting-children -> waiting
    sim.advance("acme", "verify", verify["id"], to="active")
    sim.advance("acme", "verify", verify["id"], to="completed")
    expect(page.locator("article.job-detail h1 .badge")).to_have_text("completed")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "finished")
    expect(page.locator("article.job-detail dt", has_text="Healthy")).to_be_visible()  # refreshed from the server
