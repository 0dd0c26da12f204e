"""Browser tests: a real dashboard (daphne, its own SQLite file, Redis when REDIS_URL is set) on a
free port against the simulator, driven by Debian's headless Chromium through Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.fixtures.simulator import Simulator, stop_process

ROOT = Path(__file__).resolve().parents[2]
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
USERNAME, PASSWORD = "pat", "pat-browser-password-1"
START_TIMEOUT = 30.0

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Portal:
    """Another origin (http://localhost:PORT, another site than 127.0.0.1) serving one page."""

    origin: str
    pages: dict[str, bytes]


@dataclass
class Dashboard:
    url: str
    env: dict[str, str]

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


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
    # A database of its own: the other tests flush theirs between tests.
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return ""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/14"))


@contextmanager
def running_dashboard(workdir: Path, simulator_url: str, **env_extra: str) -> Iterator[Dashboard]:
    """A daphne dashboard on a free port, its own SQLite file, tenant acme on the simulator, a
    user who is a member of it. `env_extra` adds environment variables (e.g. REDIS_URL)."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "JOBSDASH_"))
    }
    env.update(DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}", DJANGO_ALLOWED_HOSTS="127.0.0.1 localhost")
    env.update(env_extra)
    board = Dashboard(f"http://127.0.0.1:{port}", env)
    board.manage("migrate", "--verbosity", "0")
    board.manage(
        "shell",
        "-c",
        f"from django.contrib.auth.models import User; User.objects.create_user({USERNAME!r}, password={PASSWORD!r})",
    )
    board.manage(
        "tenant",
        "add",
        "acme",
        "--gateway-url",
        simulator_url,
        "--api-key",
        "acme-key",
        "--api-secret",
        "acme-secret",
        "--name",
        "ACME",
    )
    board.manage("tenant", "grant", "acme", USERNAME)
    log_path = workdir / "daphne.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "jobsdash.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(board.url, process, log_path)
            yield board
        finally:
            stop_process(process)


@pytest.fixture(scope="session")
def dashboard(simulator: Simulator, portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    extra = {"JOBSDASH_FRAME_ANCESTORS": portal.origin}
    if redis := _redis_url():
        extra["REDIS_URL"] = redis
        _flush_redis(redis)
    with running_dashboard(tmp_path_factory.mktemp("dashboard"), simulator.url, **extra) as board:
        yield board


def _flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"daphne did not start within {START_TIMEOUT}s:\n{log.read_text()}")


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
