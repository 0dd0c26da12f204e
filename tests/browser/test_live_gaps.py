"""In headless Chromium, against the simulator without event ids (as the registry's spec): live
pages converge on the registry's documents after every gap the relay cannot prove it did not
have, without a page reload, keeping what the user set up; and their freshness line says how old
what they show may be, in each of its states, in the page's time zone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import psutil
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.fixtures.browser import hide_tab, log_in, show_tab
from tests.fixtures.dashboard import ROOT, Dashboard, free_port, running_dashboard, wait_until_serving
from tests.fixtures.live import lease_holder
from tests.fixtures.simulator import Simulator, stop_process

pytestmark = pytest.mark.browser

WITHIN = 10_000  # ms: what the pages must do, they must do within 10 s
# Quick relay and page timings, so a test waits for what happens and not for a default backoff.
QUICK = {
    "JOBSDASH_LIVE_LINGER": "0.5",
    "JOBSDASH_LIVE_BACKOFF_BASE": "0.1",
    "JOBSDASH_LIVE_BACKOFF_MAX": "0.5",
    "JOBSDASH_LIVE_PAGE_BACKOFF_BASE": "0.2",
    "JOBSDASH_LIVE_PAGE_BACKOFF_MAX": "1",
    "JOBSDASH_CACHE_TTL_LIST": "60",  # a copy stays fresh unless a gap marks it out of date
    "JOBSDASH_CACHE_TTL_JOB_ACTIVE": "60",
    "JOBSDASH_LIVE_CLOCK_MARGIN": "0",  # one machine, one clock (see tests/fixtures/browser.py)
    "JOBSDASH_LIVE_PAGE_HIDDEN_GRACE": "0.5",
    "JOBSDASH_LIVE_UNAUTHORIZED_RETRY": "0.5",
}
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def board(simulator_without_ids: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A dashboard without Redis on the simulator without ids (its own: the session one has ids)."""
    with running_dashboard(tmp_path_factory.mktemp("board"), simulator_without_ids.url, **QUICK) as board:
        yield board


def log_in_quietly(page: Page, board: Dashboard) -> None:
    """Log in on a page without a live socket (a build log), so no stream starts meanwhile."""
    log_in(page, board, f"/t/acme/jobs/build/{quote(Simulator.xss_job[1], safe='')}/log/")


def no_streams(sim: Simulator) -> None:
    sim.wait_for(lambda: sim.open_streams("acme") == 0, what="no open upstream stream")


def loads(page: Page) -> list[str]:
    """Every page load from now on (a full reload would add one)."""
    seen: list[str] = []
    page.on("load", lambda loaded: seen.append(loaded.url))
    return seen


def daphne_of(board: Dashboard) -> psutil.Process:
    """The daphne process serving `board` (a child of this test process)."""
    port = board.url.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        try:
            command = child.cmdline()
        except psutil.Error:  # gone, or a zombie of one killed here
            continue
        if "daphne" in command and port in command:
            return child
    raise AssertionError(f"no daphne serves {board.url}")


def row(page: Page, job: dict) -> object:
    return page.locator(f'tr.job-row[data-job-id="{job["id"]}"]')


def test_a_page_served_from_a_cached_copy_shows_a_change_made_silently_before_its_socket_came(
    page: Page, board: Dashboard, sim_without_ids: Simulator
) -> None:
    sim = sim_without_ids
    job = sim.create_job("acme", "build")
    log_in_quietly(page, board)
    no_streams(sim)
    assert page.request.get(f"{board.url}/t/acme/jobs/").ok  # the list is cached now
    assert page.request.get(f"{board.url}/t/acme/failures/groups/?state=failed&top=5").ok  # its groups too
    lists = sim.count("list", "acme")
    sim.advance("acme", "build", job["id"], to="active", silent=True)  # no event: nothing will say so

    loaded = loads(page)
    page.goto(f"{board.url}/t/acme/jobs/")
    expect(row(page, job)).to_have_attribute("data-state", "active", timeout=WITHIN)
    expect(page.locator("#live-status")).to_have_text("Live")
    assert len(loaded) == 1  # the first load only: refetched in place
    # Served from the cached copies, then refetched once after the stream's first connection: the
    # list and its failure groups' list of failed jobs, each once.
    sim.wait_for(lambda: sim.count("list", "acme") >= lists + 2, what="the failure groups to be refetched too")
    assert sim.count("list", "acme") == lists + 2


def test_a_change_during_a_cut_reaches_the_list_and_the_job_page_and_the_search_still_applies(
    context: BrowserContext, board: Dashboard, sim_without_ids: Simulator
) -> None:
    sim = sim_without_ids
    mine = sim.create_job("acme", "deploy", function={"name": "needle-fn"}, outcome="failed")
    other = sim.create_job("acme", "deploy", function={"name": "haystack-fn"})
    sim.advance("acme", "deploy", mine["id"], to="active")
    listing, detail = context.new_page(), context.new_page()
    log_in(listing, board, "/t/acme/jobs/")
    expect(listing.locator("#live-status")).to_have_text("Live")
    listing.get_by_label("Search loaded jobs").fill("needle-fn")
    expect(row(listing, other)).to_be_hidden()
    expect(row(listing, mine)).to_have_attribute("data-state", "active")
    detail.goto(f"{board.url}/t/acme/jobs/deploy/{quote(mine['id'], safe='')}/")
    expect(detail.locator("#live-status")).to_have_text("Live")
    listed, shown = loads(listing), loads(detail)

    sim.set_faults(error_status=503, endpoints=["events"])  # the registry's stream is down...
    sim.drop_streams(abort=True, tenant="acme")
    for each in (listing, detail):
        expect(each.locator("#live-status")).to_have_attribute("data-state", "reconnecting")
    sim.advance("acme", "deploy", mine["id"], to="failed")  # ...so this event reaches no one
    sim.clear_faults()

    expect(row(listing, mine)).to_have_attribute("data-state", "failed", timeout=WITHIN)
    expect(detail.locator("article.job-detail h1 .badge")).to_have_text("failed", timeout=WITHIN)
    expect(detail.locator("section.failed-reason")).to_be_visible()  # the job's facts, refetched
    expect(detail.locator("#timeline li.gap")).to_contain_text("refreshed from the registry: failed")
    expect(listing.locator("#live-status")).to_have_text("Live")
    expect(detail.locator("#live-status")).to_have_text("Job finished")  # the registry closed its stream
    # What the user set up on the list still holds after the refetch.
    expect(listing.get_by_label("Search loaded jobs")).to_have_value("needle-fn")
    expect(row(listing, other)).to_be_hidden()
    expect(row(listing, mine)).to_be_visible()
    expect(listing.locator("#search-count")).to_have_text(re.compile(r"^1 of \d+ jobs shown$"))
    assert listed == [] and shown == []  # no page reload


def test_a_paused_list_holds_the_refetch_like_its_events_until_resumed(
    page: Page, board: Dashboard, sim_without_ids: Simulator
) -> None:
    sim = sim_without_ids
    job = sim.create_job("acme", "undeploy")
    log_in(page, board, "/t/acme/jobs/")
    status = page.locator("#live-status")
    expect(status).to_have_text("Live")
    # What the reader set up: the rows sorted by type, the page scrolled down.
    page.get_by_role("button", name="Type").click()
    expect(page.locator('th[data-sort="type"]')).to_have_attribute("aria-sort", "ascending")
    page.evaluate("() => window.scrollTo(0, 400)")
    page.get_by_label("Pause live updates").check()
    expect(status).to_have_attribute("data-state", "held")
    sim.drop_streams(abort=True, tenant="acme")  # a gap: the page is told to reload...
    sim.advance("acme", "undeploy", job["id"], to="active", silent=True)
    other = sim.create_job("acme", "scale")  # ...and an event after it, held too
    expect(page.locator("#held-count")).to_have_text("(1 update held)", timeout=WITHIN)
    expect(row(page, job)).to_have_attribute("data-state", "waiting")  # nothing changes while paused
    expect(status).to_have_text(re.compile(r"^\s*Paused — showing data as of \d{2}:\d{2}:\d{2} UTC$"))
    scrolled = page.evaluate("() => window.scrollY")
    page.get_by_label("Pause live updates").uncheck()
    expect(row(page, job)).to_have_attribute("data-state", "active", timeout=WITHIN)
    expect(row(page, other)).to_have_attribute("data-state", "waiting")
    expect(status).to_have_text("Live")
    # The refetched rows are in the reader's order, at the reader's place.
    expect(page.locator('th[data-sort="type"]')).to_have_attribute("aria-sort", "ascending")
    types = page.locator("#job-table tbody tr.job-row").evaluate_all("rows => rows.map(r => r.dataset.jobType)")
    assert types == sorted(types) and len(set(types)) > 1
    assert scrolled > 0 and page.evaluate("() => window.scrollY") == scrolled


def test_a_page_converges_on_a_change_no_event_told_of_by_its_slow_resync(
    page: Page, simulator_without_ids: Simulator, tmp_path: Path
) -> None:
    sim = simulator_without_ids
    sim.reset()
    job = sim.create_job("acme", "batch")
    # Resyncs get the cache's copy, which is fresh for JOBSDASH_CACHE_TTL_LIST: a second here.
    timings = {**QUICK, "JOBSDASH_LIVE_PAGE_RESYNC": "2", "JOBSDASH_CACHE_TTL_LIST": "1"}
    with running_dashboard(tmp_path, sim.url, **timings) as own:
        log_in(page, own, "/t/acme/jobs/")
        expect(page.locator("#live-status")).to_have_text("Live")
        expect(row(page, job)).to_have_attribute("data-state", "waiting")
        loaded = loads(page)
        sim.advance("acme", "batch", job["id"], to="active", silent=True)  # the stream stays up: no gap
        expect(row(page, job)).to_have_attribute("data-state", "active", timeout=WITHIN)
        assert loaded == []


def shown_time(page: Page, pattern: str) -> str:
    """The time the freshness line shows, where `pattern`'s group is."""
    text = page.locator("#live-status").inner_text().strip()
    found = re.search(pattern, text)
    assert found, text
    return found.group(1)


def tokyo(moment: datetime, seconds: bool = True) -> str:
    return moment.astimezone(TOKYO).strftime("%H:%M:%S" if seconds else "%H:%M")


def between(before: datetime, after: datetime, seconds: bool = True) -> set[str]:
    """Every clock reading in Tokyo from `before` to `after`, a second either side."""
    step = timedelta(seconds=1)
    moment, readings = before - step, set()
    while moment <= after + step:
        readings.add(tokyo(moment, seconds))
        moment += step
    return readings


def test_the_freshness_line_says_live_then_reconnecting_with_the_data_time_in_the_pages_zone(
    page: Page, board: Dashboard, sim_without_ids: Simulator
) -> None:
    sim = sim_without_ids
    log_in(page, board, "/t/acme/jobs/?tz=Asia/Tokyo")
    status = page.locator("#live-status")
    expect(status).to_have_text("Live")
    expect(status).to_have_attribute("data-state", "live")

    before = datetime.now(TOKYO)
    sim.set_faults(error_status=503, endpoints=["events"])
    sim.drop_streams(abort=True, tenant="acme")
    expect(status).to_have_attribute("data-state", "reconnecting")
    after = datetime.now(TOKYO)
    shown = shown_time(page, r"^Reconnecting — showing data as of (?:\d{4}-\d{2}-\d{2} )?(\d{2}:\d{2}:\d{2})$")
    assert shown in between(before, after)  # when it stopped being live, in Tokyo (UTC+9)
    sim.clear_faults()
    expect(status).to_have_text("Live", timeout=WITHIN)


def test_the_freshness_line_says_connecting_refreshing_rejected_and_paused_while_hidden(
    page: Page, board: Dashboard, sim_without_ids: Simulator
) -> None:
    sim = sim_without_ids
    status = page.locator("#live-status")
    as_of = r" — showing data as of \d{2}:\d{2}:\d{2} UTC$"
    # A stream nobody read before (a new job's), slow to answer: connecting, as of the render.
    job = sim.create_job("acme", "scale")
    log_in_quietly(page, board)
    sim.set_faults(latency_ms=1500, endpoints=["events"])
    page.goto(f"{board.url}/t/acme/jobs/scale/{quote(job['id'], safe='')}/?tz=UTC")
    expect(status).to_have_text(re.compile(r"^\s*Connecting" + as_of))
    expect(status).to_have_attribute("data-state", "connecting")
    expect(status).to_have_text("Live", timeout=WITHIN)
    page.goto(f"{board.url}/t/acme/jobs/?tz=UTC")
    expect(status).to_have_text("Live", timeout=WITHIN)
    # A gap, and the registry slow to list: the page refetches, and says so meanwhile.
    sim.set_faults(latency_ms=3000, endpoints=["list"])
    sim.drop_streams(abort=True, tenant="acme")
    expect(status).to_have_text(re.compile(r"^\s*Refreshing" + as_of), timeout=WITHIN)
    expect(status).to_have_attribute("data-state", "refreshing")
    expect(status).to_have_text("Live", timeout=WITHIN)
    # The registry refuses the tenant's credentials.
    sim.clear_faults()
    sim.revoke("acme")
    sim.drop_streams(abort=True, tenant="acme")
    expect(status).to_have_text(re.compile(r"^\s*Waylay rejected the credentials" + as_of), timeout=WITHIN)
    expect(status).to_have_attribute("data-state", "unauthorized")
    sim.restore("acme")
    expect(status).to_have_text("Live", timeout=WITHIN)
    # A tab in the background closes its socket after a grace period, and says so.
    hide_tab(page)
    expect(status).to_have_text(re.compile(r"^\s*Paused \(tab hidden\)" + as_of), timeout=WITHIN)
    expect(status).to_have_attribute("data-state", "paused")
    show_tab(page)
    expect(status).to_have_text("Live", timeout=WITHIN)


def test_a_refetch_that_fails_keeps_the_page_says_so_and_retries(
    page: Page, board: Dashboard, sim_without_ids: Simulator
) -> None:
    sim = sim_without_ids
    job = sim.create_job("acme", "scale")
    log_in(page, board, "/t/acme/jobs/")
    status = page.locator("#live-status")
    expect(status).to_have_text("Live")
    expect(row(page, job)).to_have_attribute("data-state", "waiting")
    loaded = loads(page)

    sim.set_faults(error_status=503, endpoints=["events", "list"])  # the registry is down
    sim.drop_streams(abort=True, tenant="acme")
    expect(status).to_have_attribute("data-state", "reconnecting")
    sim.advance("acme", "scale", job["id"], to="active")  # lost: nothing reads the stream
    sim.set_faults(endpoints=["list"])  # the stream is back, the list is not yet
    expect(status).to_have_text(re.compile(r"^\s*Could not refresh — showing data as of .+; retrying$"), timeout=WITHIN)
    expect(row(page, job)).to_have_attribute("data-state", "waiting")  # what it had, kept
    sim.clear_faults()
    expect(row(page, job)).to_have_attribute("data-state", "active", timeout=WITHIN)  # retried
    expect(status).to_have_text("Live")
    assert loaded == []


def test_a_page_whose_server_is_gone_says_offline_since_when(
    page: Page, simulator_without_ids: Simulator, tmp_path: Path
) -> None:
    with running_dashboard(tmp_path, simulator_without_ids.url, **QUICK) as own:
        log_in(page, own, "/t/acme/jobs/?tz=Asia/Tokyo")
        status = page.locator("#live-status")
        expect(status).to_have_text("Live")
        before = datetime.now(TOKYO)
        daphne_of(own).terminate()
        expect(status).to_have_attribute("data-state", "offline", timeout=WITHIN)
        after = datetime.now(TOKYO)
        shown = shown_time(page, r"^Offline since (?:\d{4}-\d{2}-\d{2} )?(\d{2}:\d{2})$")
        assert shown in between(before, after, seconds=False)


# Two processes, one lease ----------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture
def deployment(simulator_without_ids: Simulator, tmp_path: Path) -> Iterator[tuple[Dashboard, Dashboard]]:
    """Two daphne processes of one dashboard sharing its database and REDIS_URL (this test
    process's own Redis database: it is flushed between tests, not during one)."""
    env = {**QUICK, "REDIS_URL": REDIS_URL, "JOBSDASH_LIVE_LEASE_TTL": "2"}
    with running_dashboard(tmp_path, simulator_without_ids.url, **env) as first:
        port = free_port()
        log = tmp_path / "daphne-2.log"
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "jobsdash.asgi:application"]
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=ROOT, env=first.env, stdout=output, stderr=subprocess.STDOUT)
        try:
            second = Dashboard(f"http://127.0.0.1:{port}", first.env)
            wait_until_serving(second.url, process, log)
            yield first, second
        finally:
            stop_process(process)


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
def test_when_the_lease_holder_dies_a_change_made_meanwhile_reaches_the_other_processs_page(
    context: BrowserContext, deployment: tuple[Dashboard, Dashboard], sim_without_ids: Simulator
) -> None:
    sim = sim_without_ids
    first, second = deployment
    job = sim.create_job("acme", "undeploy")
    holding, watching = context.new_page(), context.new_page()
    log_in(holding, first, "/t/acme/jobs/")  # its process takes the stream's lease
    expect(holding.locator("#live-status")).to_have_text("Live")
    sim.wait_for(lambda: lease_holder(REDIS_URL) == daphne_of(first).pid, what="the first process to hold the lease")
    watching.goto(f"{second.url}/t/acme/jobs/")  # the same session: one host, one database
    expect(watching.locator("#live-status")).to_have_text("Live")
    expect(row(watching, job)).to_have_attribute("data-state", "waiting")
    loaded = loads(watching)
    survivor = daphne_of(second).pid

    daphne_of(first).kill()
    sim.advance("acme", "undeploy", job["id"], to="active", silent=True)
    expect(row(watching, job)).to_have_attribute("data-state", "active", timeout=WITHIN)
    expect(watching.locator("#live-status")).to_have_text("Live")
    assert lease_holder(REDIS_URL) == survivor
    assert loaded == []
