"""Browser tests: a real dashboard (daphne, its own SQLite file, Redis when REDIS_URL is set) on a
free port against the simulator, driven by Debian's headless Chromium through Playwright."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.fixtures.dashboard import PASSWORD, USERNAME, Dashboard, running_dashboard
from tests.fixtures.simulator import Simulator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


@dataclass
class Portal:
    """Another origin (http://localhost:PORT, another site than 127.0.0.1) serving one page."""

    origin: str
    pages: dict[str, bytes]


@pytest.fixture(scope="session")
def portal() -> Iterator[Portal]:
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Portal(f"http://localhost:{server.server_address[1]}", pages)
    server.shutdown()


def _redis_url() -> str:
    # A database of its own: this process flushes REDIS_URL's between tests (its cache is there),
    # which would wipe the dashboard's leases and groups in the middle of a test. The one below
    # REDIS_URL's (15 -> 14, as CI runs it), so that runs given databases two apart never share one.
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return ""
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{number - 1 if number > 0 else 1}"))


@pytest.fixture(scope="session")
def dashboard(simulator: Simulator, portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    # A hidden tab's grace period of half a second, not the default 10 s the tests would wait out.
    # One machine, one clock: no clock margin, so that a page's catch-up on what was published
    # after its data does not reach back into the events of the test before (the simulator is
    # reset between tests; the dashboard's stream and caches are not).
    extra = {
        "JOBSDASH_FRAME_ANCESTORS": portal.origin,
        "JOBSDASH_ACCESS_RECHECK_SECONDS": "1",
        "JOBSDASH_LIVE_PAGE_HIDDEN_GRACE": "0.5",
        "JOBSDASH_LIVE_CLOCK_MARGIN": "0",
    }
    if redis := _redis_url():
        extra["REDIS_URL"] = redis
        _flush_redis(redis)
    with running_dashboard(tmp_path_factory.mktemp("dashboard"), simulator.url, **extra) as board:
        yield board


def _flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


# Package scope: Playwright's sync API runs an event loop while it is open, which async tests
# collected after this package could not share.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (the README says so)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def log_in(page: Page, dashboard: Dashboard, path: str) -> None:
    """Open `path` logged out, log in on the page it bounces to, land on `path`."""
    page.goto(f"{dashboard.url}{path}")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    target = unquote(f"{dashboard.url}{path}")
    page.wait_for_url(lambda url: unquote(url) == target)
