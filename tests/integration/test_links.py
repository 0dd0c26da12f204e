"""Links for incident chats and embedding: permalinks, summaries, previews, framing, cookies,
and signed embed links."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from jobsdash.links.grants import DEFAULT_LIFETIME, LIFETIMES
from jobsdash.links.models import EmbedLink
from jobsdash.simulator.jobs import XSS_JOB
from jobsdash.tenants.models import Tenant
from tests.fixtures.pages import element_by_id, elements, inside
from tests.fixtures.site import PASSWORD

pytestmark = pytest.mark.django_db

PORTAL = "https://portal.example.com"


def _attr(page: bytes, pattern: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(pattern, page.decode())]


def _permalinks(page: bytes) -> list[str]:
    return [link["href"] for link in elements(page, "a", "permalink")]


def _copies(page: bytes) -> list[str]:
    """What the page's copy buttons copy, in order."""
    return [button["data-copy"] for button in elements(page, "button", "copy")]


def _upstream_job(sim, state: str, job_type: str = "build") -> dict:
    auth = ("acme-key", "acme-secret")
    listed = httpx.get(f"{sim.url}/registry/v2/jobs/", params={"state": state, "type": job_type}, auth=auth).json()
    job_id = listed["jobs"][0]["id"]
    return httpx.get(f"{sim.url}/registry/v2/jobs/{job_type}/{quote(job_id, safe='')}", auth=auth).json()["job"]


def test_the_permalink_freezes_relative_time_windows(alice: Client) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    page = alice.get("/t/acme/jobs/?createdAfter=PT1H&createdBefore=2099-01-01&type=build")
    after = datetime.now(UTC)
    (permalink,) = _permalinks(page.content)
    assert _copies(page.content)[0] == permalink
    params = parse_qs(urlsplit(permalink).query)
    frozen = datetime.fromisoformat(params["createdAfter"][0].replace("Z", "+00:00"))
    assert before - timedelta(hours=1, seconds=1) <= frozen <= after - timedelta(hours=1)
    assert params["createdBefore"] == ["2099-01-01"]  # absolute times stay as they are
    assert params["type"] == ["build"]
    assert permalink.startswith("http://testserver/t/acme/jobs/?")


def test_copy_summary_is_one_line_in_text_and_markdown(sim, alice: Client) -> None:
    job = _upstream_job(sim, "failed")
    page = alice.get(f"/t/acme/jobs/build/{quote(job['job']['id'], safe='')}/")
    copies = _copies(page.content)
    permalink, text, markdown = copies[:3]
    assert permalink == f"http://testserver/t/acme/jobs/build/{quote(job['job']['id'], safe='$')}/"
    assert "\n" not in text and "\n" not in markdown
    function = f"{job['function']['name']}@{job['function']['version']}"
    created = datetime.fromisoformat(job["createdAt"].replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    reason = " ".join(job["job"]["failedReason"].split())
    assert (
        text == f"build job {job['job']['id'][:8]}… · {function} · failed · created {created} · {reason} · {permalink}"
    )
    assert markdown.startswith(f"**build** job [`{job['job']['id'][:8]}…`]({permalink}) · `{function}` · **failed**")


def test_the_markdown_summary_cannot_inject_markup(alice: Client) -> None:
    page = alice.get(f"/t/acme/jobs/{XSS_JOB[0]}/{quote(XSS_JOB[1], safe='')}/")
    markdown = _copies(page.content)[2]
    outside_code = re.sub(r"`[^`]*`", "", markdown)  # code spans show their text literally
    assert "<" not in outside_code.replace("\\<", "")
    assert "\\<script\\>alert\\(1\\)" in outside_code


def test_a_chat_preview_gets_a_title_from_the_url_alone_and_no_upstream_call(sim, acme: Tenant) -> None:
    job_id = "6ccc8843-d78d-49e8-84c4-3734a4af9929$IfM2FyNLQ8CEjQGA9w7Ht"
    bot = Client()
    bounce = bot.get(f"/t/acme/jobs/deploy/{quote(job_id, safe='')}/?embed=0")
    assert bounce.status_code == 302
    landing = bot.get(bounce["Location"])
    assert landing.status_code == 200
    titles = [
        meta["content"]
        for meta in elements(landing.content, "meta")
        if meta.get("property") == "og:title" or meta.get("name") == "twitter:title"
    ]
    assert titles == ["deploy job 6ccc8843… · acme"] * 2
    list_preview = bot.get(bot.get("/t/acme/jobs/?state=failed")["Location"])
    assert [m["content"] for m in elements(list_preview.content, "meta") if m.get("property") == "og:title"] == [
        "jobs · acme"
    ]
    log_preview = bot.get(bot.get(f"/t/acme/jobs/build/{quote(job_id, safe='')}/log/#L12")["Location"])
    assert [m["content"] for m in elements(log_preview.content, "meta") if m.get("property") == "og:title"] == [
        "build log of build job 6ccc8843… · acme"
    ]
    failures_preview = bot.get(bot.get("/t/acme/failures/?type=deploy")["Location"])
    assert [m["content"] for m in elements(failures_preview.content, "meta") if m.get("property") == "og:title"] == [
        "failures · acme"
    ]
    assert sum(sim.count(endpoint, "acme") for endpoint in ("list", "get", "events", "tokens")) == 0


def test_a_logged_out_visitor_lands_exactly_on_the_link(acme: Tenant, make_user: Callable[..., User]) -> None:
    make_user("bob", acme)
    target = f"/t/acme/jobs/build/{quote(XSS_JOB[1], safe='')}/?embed=1"
    client = Client()
    login_url = client.get(target)["Location"]
    next_value = parse_qs(urlsplit(login_url).query)["next"][0]
    assert unquote(next_value) == unquote(target)
    done = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD, "next": next_value})
    assert unquote(done["Location"]) == unquote(target)
    assert client.get(done["Location"]).status_code == 200


def test_embed_mode_drops_navigation_and_keeps_the_flag_on_every_link(alice: Client) -> None:
    page = alice.get("/t/acme/jobs/?embed=1&type=build")
    body = page.content.decode()
    assert 'class="site-header"' not in body
    assert '<body class="embed' in body
    assert 'src="/static/js/embed.js"' in body
    assert [(i["type"], i["value"]) for i in elements(page.content, "input") if i.get("name") == "embed"] == [
        ("hidden", "1")
    ]
    internal = [h for h in _attr(page.content, r'href="(/t/[^"]*)"')]
    assert internal and all("embed=1" in h for h in internal), [h for h in internal if "embed=1" not in h]
    detail = alice.get(f"/t/acme/jobs/{XSS_JOB[0]}/{quote(XSS_JOB[1], safe='')}/?embed=1")
    assert all("embed=1" in h for h in _attr(detail.content, r'href="(/t/[^"]*)"'))
    assert 'class="site-header"' in alice.get("/t/acme/jobs/").content.decode()


def test_every_page_has_a_strict_csp_and_frame_ancestors_from_settings(alice: Client, settings) -> None:
    settings.FRAME_ANCESTORS = [PORTAL]
    page = alice.get("/t/acme/jobs/")
    csp = page["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert f"frame-ancestors 'self' {PORTAL}" in csp
    assert "X-Frame-Options" not in page
    detail = alice.get(f"/t/acme/jobs/{XSS_JOB[0]}/{quote(XSS_JOB[1], safe='')}/")
    assert f"frame-ancestors 'self' {PORTAL}" in detail["Content-Security-Policy"]
    picker = alice.get("/")  # a redirect: not a framable page
    assert "frame-ancestors 'self'" in picker["Content-Security-Policy"]
    assert PORTAL not in picker["Content-Security-Policy"]


def test_pages_default_to_self_and_login_and_admin_are_never_framable(alice: Client, settings) -> None:
    settings.FRAME_ANCESTORS = []
    page = alice.get("/t/acme/jobs/")
    assert "frame-ancestors 'self'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "SAMEORIGIN"
    settings.FRAME_ANCESTORS = [PORTAL]
    for url in ("/accounts/login/", "/admin/login/"):
        answer = Client().get(url)
        assert "frame-ancestors 'none'" in answer["Content-Security-Policy"], url
        assert answer["X-Frame-Options"] == "DENY", url


def test_cookies_for_iframes_get_samesite_none_secure_and_partitioned(acme, make_user, settings) -> None:
    make_user("carol", acme)
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SESSION_COOKIE_SAMESITE = settings.CSRF_COOKIE_SAMESITE = "None"
    settings.COOKIE_PARTITIONED = True
    client = Client()
    login_page = client.get("/accounts/login/")
    csrf = login_page.cookies["csrftoken"].output()
    answer = client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    session = answer.cookies["sessionid"].output()
    for cookie in (csrf, session):
        assert "Secure" in cookie and "SameSite=None" in cookie and "Partitioned" in cookie
    assert "HttpOnly" in session
    settings.COOKIE_PARTITIONED = False
    assert "Partitioned" not in Client().get("/accounts/login/").cookies["csrftoken"].output()


# Signed embed links


def _create(client: Client, **form: str) -> str:
    answer = client.post("/t/acme/links/", {"lifetime": "1 day", **form})
    assert answer.status_code == 302, answer.content
    shown = client.get(answer["Location"])
    (url,) = [field["value"] for field in elements(shown.content, "input") if field.get("id") == "signed-url"]
    return urlsplit(url).path


def test_a_signed_list_link_shows_its_filter_without_a_login(sim, alice: Client) -> None:
    path = _create(alice, scope="list", query="type=build&state=completed")
    anonymous = Client()
    page = anonymous.get(path)
    assert page.status_code == 200
    rows = [(row["data-job-type"], row["data-state"]) for row in elements(page.content, "tr", "job-row")]
    assert rows and all(r == ("build", "completed") for r in rows)
    # Other filters are not reachable through it: the link's filter is fixed.
    other = anonymous.get(path + "?type=deploy&state=failed").content
    assert [(row["data-job-type"], row["data-state"]) for row in elements(other, "tr", "job-row")] == rows
    body = page.content.decode()
    assert 'class="site-header"' not in body and "<form" not in body
    assert 'href="/t/' not in body  # no way to other pages
    assert "token=" in element_by_id(page.content, "job-table")["data-ws"]


def test_a_signed_job_link_shows_that_job_only(sim, alice: Client) -> None:
    path = _create(alice, scope="job", job_type=XSS_JOB[0], job_id=XSS_JOB[1])
    anonymous = Client()
    page = anonymous.get(path)
    assert page.status_code == 200
    assert f'data-job-id="{html.escape(XSS_JOB[1])}"' in page.content.decode()
    # Its token opens nothing else: not the pages, the API, or another tenant's.
    assert anonymous.get("/t/acme/jobs/").status_code == 302
    assert anonymous.get(f"/api/t/acme/jobs/{XSS_JOB[0]}/{quote(XSS_JOB[1], safe='')}/").status_code in (401, 403)
    token = path.split("/")[2]
    assert anonymous.get(f"/e/{token}/row/build/{quote(XSS_JOB[1], safe='')}/").status_code == 404


def test_a_signed_list_link_serves_rows_of_its_filter_only(sim, alice: Client) -> None:
    token = _create(alice, scope="list", query="type=deploy").split("/")[2]
    deploy = _upstream_job(sim, "completed", "deploy")["job"]["id"]
    build = _upstream_job(sim, "completed", "build")["job"]["id"]
    anonymous = Client()
    assert anonymous.get(f"/e/{token}/row/deploy/{quote(deploy, safe='')}/").status_code == 200
    assert anonymous.get(f"/e/{token}/row/build/{quote(build, safe='')}/").status_code == 404


def test_tampered_expired_and_revoked_links_get_a_clear_403(sim, alice: Client, make_user, login) -> None:
    path = _create(alice, scope="list", query="")
    token = path.split("/")[2]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    refused = Client().get(f"/e/{tampered}/")
    assert refused.status_code == 403 and "not valid" in refused.content.decode()

    link = EmbedLink.objects.get()
    link.expires_at = timezone.now() - timedelta(minutes=1)
    link.save()
    expired = Client().get(path)
    assert expired.status_code == 403 and "expired" in expired.content.decode()

    link.expires_at = timezone.now() + timedelta(days=1)
    link.save()
    assert Client().get(path).status_code == 200
    admin = login(make_user("root", is_staff=True, is_superuser=True))
    listing = admin.get("/admin/links/embedlink/")
    assert listing.status_code == 200 and "acme" in listing.content.decode()
    admin.post("/admin/links/embedlink/", {"action": "revoke", "_selected_action": [link.pk]})
    revoked = Client().get(path)
    assert revoked.status_code == 403 and "revoked" in revoked.content.decode()


def test_creating_a_link_needs_membership_csrf_and_a_valid_lifetime(
    acme: Tenant, globex: Tenant, alice: Client, make_user
) -> None:
    assert alice.post("/t/globex/links/", {"lifetime": "1 day", "scope": "list"}).status_code == 404
    assert alice.post("/t/acme/links/", {"lifetime": "forever", "scope": "list"}).status_code == 400
    assert alice.post("/t/acme/links/", {"lifetime": "1 day", "scope": "list", "query": "type=x"}).status_code == 400
    assert alice.get("/t/acme/links/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("dave", acme))
    assert strict.post("/t/acme/links/", {"lifetime": "1 day", "scope": "list"}).status_code == 403
    assert not EmbedLink.objects.exists()


def test_the_embed_link_command_prints_a_working_link(sim, acme: Tenant) -> None:
    out = StringIO()
    call_command("embed_link", "acme", "--job", *XSS_JOB, "--hours", "2", stdout=out, stderr=StringIO())
    path = out.getvalue().strip()
    assert Client().get(path).status_code == 200
    link = EmbedLink.objects.get()
    assert timedelta(hours=1, minutes=59) < link.expires_at - timezone.now() <= timedelta(hours=2)


def test_a_list_links_rows_keep_to_its_state_and_time_window(sim, alice: Client) -> None:
    token = _create(alice, scope="list", query="type=build&state=failed&createdAfter=P7D").split("/")[2]
    failed = _upstream_job(sim, "failed")["job"]["id"]
    completed = _upstream_job(sim, "completed")["job"]["id"]
    anonymous = Client()
    assert anonymous.get(f"/e/{token}/row/build/{quote(failed, safe='')}/").status_code == 200
    assert anonymous.get(f"/e/{token}/row/build/{quote(completed, safe='')}/").status_code == 404
    recent = _create(alice, scope="list", query="type=build&createdAfter=PT1M").split("/")[2]
    assert anonymous.get(f"/e/{recent}/row/build/{quote(failed, safe='')}/").status_code == 404  # older


@pytest.mark.parametrize("hours", ["0", "10000"])
def test_the_embed_link_command_refuses_a_lifetime_out_of_range(acme: Tenant, hours: str) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="a link lives between"):
        call_command("embed_link", "acme", "--query", "type=build", "--hours", hours, stdout=StringIO())
    assert not EmbedLink.objects.exists()


def test_a_signed_links_permalink_is_the_link_itself(sim, alice: Client) -> None:
    for form in (
        {"scope": "list", "query": "type=build"},
        {"scope": "job", "job_type": XSS_JOB[0], "job_id": XSS_JOB[1]},
    ):
        path = _create(alice, **form)
        (permalink,) = _permalinks(Client().get(path).content)
        assert permalink == f"http://testserver{path}", form


def test_the_embed_link_form_offers_the_lifetimes_a_link_may_have(alice: Client) -> None:
    options = inside(alice.get("/t/acme/jobs/").content, "link-lifetime-list", "option")
    assert [option.text for option in options] == [label for label, _ in LIFETIMES]
    assert [option.text for option in options if "selected" in option.attrs] == [DEFAULT_LIFETIME]
    for label, lifetime in LIFETIMES:  # and each one makes a link that lives that long
        alice.post("/t/acme/links/", {"lifetime": label, "scope": "list"})
        link = EmbedLink.objects.order_by("-pk").first()
        assert abs(link.expires_at - link.created - lifetime) < timedelta(seconds=5), label
