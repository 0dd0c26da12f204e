"""Screenshots of the pages for reviewers: list, list overview and its charts, job detail, build
logs (whole, and a long one's excerpt), embed mode, failure groups and a find that found nothing,
at 1280 and 400 px wide, light and dark. Not a test and never committed (screenshots/ is git-ignored).

    .venv/bin/python scripts/screenshots.py [--out screenshots/]

Starts the simulator and a dashboard (daphne, a throwaway SQLite database, a demo user) the way
the browser test fixtures do, reusing their helpers, then drives Debian's headless Chromium.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make `tests` and `jobsdash` importable

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from jobsdash.simulator.jobs import HUGE_LOG_JOB  # noqa: E402
from tests.fixtures.browser import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.fixtures.dashboard import PASSWORD, USERNAME, Dashboard, running_dashboard  # noqa: E402
from tests.fixtures.processes import stop_process  # noqa: E402
from tests.fixtures.simulator import Simulator, start_simulator  # noqa: E402

WIDTHS = (1280, 400)
THEMES = ("light", "dark")


def log_in_state(browser: Browser, board: Dashboard, path: str) -> dict:
    """The cookies of a logged-in session, to reuse in every screenshot's context."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{board.url}{path}")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{board.url}{path}")
    state = context.storage_state()
    context.close()
    return state


def _open_the_charts(page: Page) -> None:
    """The chart's numbers and the durations per function opened, the newest bar's tooltip shown."""
    page.locator("#overview details").evaluate_all("all => all.forEach(details => { details.open = true; })")
    page.locator("#histogram-bars .bucket").last.focus()
    page.locator("#chart-tip").wait_for()


def _search_the_log(page: Page) -> None:
    page.get_by_label("Search the log").fill("npm")
    page.locator("mark.hit").first.wait_for()


def take(browser: Browser, board: Dashboard, state: dict, out: Path, verify_id: str, build_id: str) -> list[Path]:
    build = f"/t/acme/jobs/build/{quote(build_id, safe='')}/"
    huge = f"/t/acme/jobs/build/{quote(HUGE_LOG_JOB[1], safe='')}/"
    # name: (path, full page, what to do before the shot, the element to take alone)
    shots: dict[str, tuple[str, bool, Callable[[Page], None] | None, str | None]] = {
        "list": ("/t/acme/jobs/", True, None, None),
        "overview": ("/t/acme/jobs/", False, None, None),  # the top of the list: the overview at a glance
        "charts": ("/t/acme/jobs/?createdAfter=P7D", False, _open_the_charts, "#overview"),
        "detail": (f"/t/acme/jobs/verify/{verify_id}/", True, None, None),
        "detail-failed": (build, False, None, None),  # failure banner and build log
        "log": (f"{build}log/?q=ERROR#L4-L8", True, None, None),  # the whole log: a search and a range
        "log-long": (f"{huge}#L23900", False, _search_the_log, "#build-log"),  # head, gap, tail
        "embed": ("/t/acme/jobs/?embed=1", True, None, None),
        "failures": ("/t/acme/failures/", True, None, None),
        "find-missing": ("/t/acme/find/?q=no-such-job%24anywhere", False, None, None),
    }
    written = []
    for theme in THEMES:
        for width in WIDTHS:
            context = browser.new_context(
                viewport={"width": width, "height": 900}, color_scheme=theme, storage_state=state
            )
            page = context.new_page()
            for name, (path, full_page, prepare, element) in shots.items():
                page.goto(f"{board.url}{path}")
                if page.locator("#live-status, #build-log").count():  # live pages: once connected
                    page.locator("#live-status:not([data-state=connecting]), #build-log").first.wait_for(timeout=15_000)
                # The list page's failure groups come after it: shoot them, not their placeholder.
                page.locator("#failure-groups[data-pending]").wait_for(state="detached", timeout=15_000)
                if prepare:
                    prepare(page)
                target = out / f"{name}-{width}-{theme}.png"
                if element:
                    page.locator(element).screenshot(path=target)
                else:
                    page.screenshot(path=target, full_page=full_page)
                written.append(target)
            context.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="folder for the PNGs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jobsdash-shots-") as tmp:
        workdir = Path(tmp)
        process, simulator_url = start_simulator(workdir / "simulator.log")
        sim = Simulator(simulator_url)
        try:
            # A verify job with its children part-way, so the detail page has a family to show.
            verify = sim.create_job("acme", "verify", children=True)
            for _ in range(3):
                sim.advance("acme", "verify", verify["id"])
            build = sim.create_job("acme", "build", outcome="failed")
            sim.advance("acme", "build", build["id"], to="failed")
            with running_dashboard(workdir, simulator_url) as board, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                state = log_in_state(browser, board, "/t/acme/jobs/")
                written = take(browser, board, state, args.out, verify["id"], build["id"])
                browser.close()
        finally:
            sim.close()
            stop_process(process)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
