"""In headless Chromium: a page of another site embeds a signed link, which renders the job list,
updates live, and tells the portal its height."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import Portal
from tests.fixtures.dashboard import Dashboard
from tests.fixtures.simulator import Simulator

pytestmark = pytest.mark.browser


def test_a_portal_on_another_site_embeds_a_live_signed_link(
    page: Page, dashboard: Dashboard, portal: Portal, sim: Simulator
) -> None:
    link = dashboard.manage("embed_link", "acme", "--query", "type=verify", "--hours", "1").strip()
    portal.pages["/portal.html"] = f"""<!doctype html><html><body>
      <h1>Team portal</h1>
      <iframe id="jobs" src="{dashboard.url}{link}" style="width:100%;height:200px;border:0"></iframe>
      <script>
        window.heights = [];
        window.addEventListener("message", (event) => {{
          if (event.origin === "{dashboard.url}" && event.data.type === "jobsdash:height") {{
            window.heights.push(event.data.height);
            document.getElementById("jobs").style.height = event.data.height + "px";
          }}
        }});
      </script></body></html>""".encode()

    page.goto(f"{portal.origin}/portal.html")  # localhost: another site than 127.0.0.1
    frame = page.frame_locator("#jobs")
    expect(frame.locator("#job-table")).to_be_visible()
    expect(frame.locator("tr.job-row").first).to_have_attribute("data-job-type", "verify")
    assert frame.locator("tr.job-row[data-job-type]:not([data-job-type=verify])").count() == 0
    expect(frame.locator("#live-status")).to_have_attribute("data-state", "live")
    page.wait_for_function("() => window.heights.length > 0")
    assert page.evaluate("window.heights.at(-1)") > 200

    job = sim.create_job("acme", "verify")
    sim.advance("acme", "verify", job["id"], to="active")
    expect(frame.locator(f'tr.job-row[data-job-id="{job["id"]}"]')).to_have_attribute("data-state", "active")
    # Read-only and nothing beyond the link: no links to other pages, no filter form, no login.
    assert frame.locator('a[href^="/t/"]').count() == 0
    assert frame.locator("form").count() == 0


# A signed list link whose token holds the letters "ID": its page builds the URL of a new job's row
# from a template, which must not mistake them for the placeholder of the job's id.
_TOKEN_WITH_ID = """
from datetime import timedelta
from jobsdash.links.grants import create_link, token_for
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.queries import parse_list_query
tenant = Tenant.objects.get(slug="acme")
builds = parse_list_query({"type": ["build"]})
for _ in range(20_000):
    link = create_link(tenant, None, scope="list", lifetime=timedelta(hours=1), query=builds)
    token = token_for(link)
    if "ID" in token:
        print(token)
        break
    link.delete()
"""


def test_a_signed_links_new_rows_appear_even_when_its_token_contains_id(
    page: Page, dashboard: Dashboard, sim: Simulator
) -> None:
    token = dashboard.manage("shell", "-c", _TOKEN_WITH_ID).split()[-1]  # after the shell's own lines
    assert "ID" in token
    page.goto(f"{dashboard.url}/e/{token}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    job = sim.create_job("acme", "build")
    sim.advance("acme", "build", job["id"], to="active")
    expect(page.locator(f'tr.job-row[data-job-id="{job["id"]}"]')).to_have_attribute("data-state", "active")


def test_the_login_page_is_never_framed_even_by_an_allowed_portal(
    page: Page, dashboard: Dashboard, portal: Portal
) -> None:
    portal.pages["/admin-frame.html"] = f"""<!doctype html><html><body>
      <iframe id="login" src="{dashboard.url}/accounts/login/" onload="window.loaded = true"></iframe>
      </body></html>""".encode()
    page.goto(f"{portal.origin}/admin-frame.html")
    page.wait_for_function("() => window.loaded === true")
    login = next(frame for frame in page.frames if frame != page.main_frame)
    assert login.locator("#id_username").count() == 0  # the browser refused to show it
