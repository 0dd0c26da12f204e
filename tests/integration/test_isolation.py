"""Tenant isolation attacked from every entry point, CSRF on every state-changing request, and no
secret in any page, script, error page or log line.

Two tenants on the simulator, acme and globex, whose seeded jobs include XSS_JOB and HUGE_LOG_JOB
with the same type and id in both; ann is a member of acme only, gus of globex only.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.simulator.jobs import HUGE_LOG_JOB, XSS_JOB
from jobsdash.tenants.models import Membership, Tenant
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.site import PASSWORD

pytestmark = pytest.mark.django_db


def q(value: str) -> str:
    return quote(value, safe="")


XSS_PATH = f"{XSS_JOB[0]}/{q(XSS_JOB[1])}"
HUGE_PATH = f"{HUGE_LOG_JOB[0]}/{q(HUGE_LOG_JOB[1])}"


def tenant_urls(slug: str, job_path: str = XSS_PATH) -> list[str]:
    """Every URL that shows something of tenant `slug`."""
    return [
        f"/t/{slug}/jobs/",
        f"/t/{slug}/jobs/?type=build&state=failed",
        f"/t/{slug}/jobs/{job_path}/",
        f"/t/{slug}/jobs/{job_path}/log/",
        f"/t/{slug}/jobs/{job_path}/row/",
        f"/t/{slug}/jobs/{job_path}/?embed=1",
        f"/api/t/{slug}/jobs/",
        f"/api/t/{slug}/jobs/{job_path}/",
        f"/t/{slug}/failures/",
        f"/t/{slug}/failures/groups/?type=build",
        f"/api/t/{slug}/failures/",
    ]


@pytest.fixture
def ann(acme: Tenant, make_user: Callable[..., User], login: Callable[[User], Client]) -> Client:
    return login(make_user("ann", acme))


@pytest.fixture
def gus(globex: Tenant, make_user: Callable[..., User], login: Callable[[User], Client]) -> Client:
    return login(make_user("gus", globex))


def upstream(sim: Any, tenant: str, path: str) -> Any:
    """The document the simulator holds for `tenant`, fetched directly with its credentials."""
    answer = httpx.get(f"{sim.url}/registry/v2/jobs/{path}", auth=sim.auth(tenant), timeout=10)
    answer.raise_for_status()
    return answer.json()


# URLs -------------------------------------------------------------------------------------------


def _calls(sim: Any) -> dict[str, tuple[int, int]]:
    return {tenant: (sim.count("list", tenant), sim.count("get", tenant)) for tenant in ("acme", "globex")}


def test_no_url_of_a_tenant_answers_a_member_of_another(sim: Any, ann: Client, gus: Client) -> None:
    acme_urls, globex_urls = tenant_urls("acme") + tenant_urls("acme", HUGE_PATH), tenant_urls("globex")
    for url in acme_urls:
        assert ann.get(url).status_code == 200, url
    for url in globex_urls:
        assert gus.get(url).status_code == 200, url
    xss_id = quote(XSS_JOB[1], safe="")
    assert ann.get(f"/t/acme/find/?q={xss_id}").status_code == 302
    calls = _calls(sim)
    for url in acme_urls:
        assert gus.get(url).status_code == 404, url
    for url in globex_urls:
        assert ann.get(url).status_code == 404, url
    assert gus.get(f"/t/acme/find/?q={xss_id}").status_code == 404
    # Refused before anything went upstream on the other tenant's account.
    assert _calls(sim) == calls


def test_a_refusal_does_not_tell_which_tenants_exist(ann: Client, globex: Tenant) -> None:
    for existing, missing in zip(tenant_urls("globex"), tenant_urls("nope"), strict=True):
        a, b = ann.get(existing), ann.get(missing)
        assert (a.status_code, a.content) == (b.status_code, b.content), existing


def test_staff_and_superusers_see_only_their_tenants(
    sim: Any, acme: Tenant, globex: Tenant, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    root = login(make_user("root", acme, is_staff=True, is_superuser=True))
    for url in tenant_urls("globex"):
        assert root.get(url).status_code == 404, url
    assert sim.count("list", "globex") == sim.count("get", "globex") == 0


def test_losing_membership_ends_access_at_the_next_request(sim: Any, acme: Tenant, ann: Client) -> None:
    assert ann.get("/t/acme/jobs/").status_code == 200
    Membership.objects.filter(tenant=acme).delete()
    for url in tenant_urls("acme"):
        assert ann.get(url).status_code == 404, url


def test_anonymous_visitors_get_nothing(acme: Tenant) -> None:
    anonymous = Client()
    for url in tenant_urls("acme"):
        answer = anonymous.get(url)
        if url.startswith("/api/"):
            assert answer.status_code in (401, 403), url
        else:
            assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/"), url


def test_the_schema_is_public_and_names_no_tenant(acme: Tenant, globex: Tenant) -> None:
    schema = Client().get("/api/schema/")
    assert schema.status_code == 200
    for word in ("globex", "acme-key", "globex-key", "acme-secret"):
        assert word not in schema.content.decode()


# Cache keys -------------------------------------------------------------------------------------


def test_the_same_query_and_job_ids_in_two_tenants_never_share_a_cached_document(
    sim: Any, acme: Tenant, globex: Tenant, ann: Client, gus: Client
) -> None:
    job_id = "shared-id$isolation"
    for tenant in ("acme", "globex"):
        sim.create_job(tenant, "build", id=job_id)
    sim.advance("globex", "build", job_id, to="active")  # the same id, another state in globex
    shared = f"build/{q(job_id)}"
    warmed = [ann.get(url) for url in (f"/api/t/acme/jobs/{shared}/", f"/api/t/acme/jobs/{XSS_PATH}/")]
    warmed.append(ann.get("/api/t/acme/jobs/?type=build&limit=5"))
    assert [w.status_code for w in warmed] == [200, 200, 200]
    for url in (f"/t/acme/jobs/{shared}/", f"/t/acme/jobs/{HUGE_PATH}/", "/t/acme/jobs/?type=build&limit=5"):
        assert ann.get(url).status_code == 200
    expected = [upstream(sim, "globex", path) for path in (shared, XSS_PATH, "?type=build&limit=5")]
    before = (sim.count("get", "globex"), sim.count("list", "globex"))

    job = gus.get(f"/api/t/globex/jobs/{shared}/")
    assert job.json() == expected[0]
    assert job.json()["job"]["state"] == "active"
    assert gus.get(f"/api/t/globex/jobs/{XSS_PATH}/").json() == expected[1]
    listed = gus.get("/api/t/globex/jobs/?type=build&limit=5")
    assert listed.json() == expected[2]
    assert listed.json() != warmed[2].json()
    # Every one of globex's answers came from globex's upstream account, none from acme's cache.
    assert (sim.count("get", "globex"), sim.count("list", "globex")) == (before[0] + 2, before[1] + 1)
    assert 'data-state="active"' in gus.get(f"/t/globex/jobs/{shared}/").content.decode()
    gets = sim.count("get", "globex")
    assert gus.get(f"/t/globex/jobs/{HUGE_PATH}/").status_code == 200
    assert sim.count("get", "globex") > gets  # acme's cached copy of the same id was not used
    # And acme's entries are still acme's.
    assert ann.get(f"/api/t/acme/jobs/{shared}/").json()["job"]["state"] == "waiting"


# Embed links ------------------------------------------------------------------------------------


def _link(tenant: Tenant, **scope: Any) -> EmbedLink:
    if scope.get("scope", "list") == EmbedLink.Scope.LIST:
        scope = {"scope": EmbedLink.Scope.LIST, "query": parse_list_query({}), **scope}
    return create_link(tenant, None, lifetime=timedelta(hours=1), **scope)


def test_links_of_another_tenant_cannot_be_created_shown_or_stretched(
    sim: Any, acme: Tenant, globex: Tenant, ann: Client, gus: Client
) -> None:
    theirs = _link(globex)
    for url in (f"/t/globex/links/{theirs.pk}/", f"/t/acme/links/{theirs.pk}/"):
        answer = ann.get(url)
        assert answer.status_code == 404, url
        assert token_for(theirs) not in answer.content.decode()
    assert ann.post("/t/globex/links/", {"lifetime": "1 day", "scope": "list"}).status_code == 404
    assert not EmbedLink.objects.filter(tenant=globex).exclude(pk=theirs.pk).exists()

    # A signed acme list link cannot reach a job that only globex has, nor globex's pages.
    only_globex = sim.create_job("globex", "build")
    token = token_for(_link(acme))
    anonymous = Client()
    assert anonymous.get(f"/e/{token}/row/build/{q(only_globex['id'])}/").status_code == 404
    assert only_globex["id"] not in anonymous.get(f"/e/{token}/").content.decode()
    assert sim.count("get", "globex") == 0
    # The token says which tenant; no URL of the link names another.
    job_token = token_for(_link(acme, scope=EmbedLink.Scope.JOB, job_type="build", job_id=only_globex["id"]))
    assert anonymous.get(f"/e/{job_token}/").status_code == 404  # acme has no such job


# CSRF -------------------------------------------------------------------------------------------

SAMPLE_KWARGS = {
    "slug": "acme",
    "job_type": "build",
    "job_id": "abc",
    "app_label": "links",
    "model_name": "embedlink",
}


def every_route(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[str]:
    """Every URL of the URLconf, with sample values for its parameters."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from every_route(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            yield prefix + route


def sample_url(route: str, values: dict[str, str]) -> str | None:
    if "^" in route or "(?P" in route:
        route = route.replace("^", "").replace("$", "").replace("\\Z", "")
        route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: f"<{m[1]}>", route)
        if any(c in route for c in "()[]?*+\\|"):
            return None
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m[1], "1"), route)
    return "/" + url.lstrip("/")


def test_every_post_without_a_csrf_token_is_refused(
    sim: Any, acme: Tenant, make_user: Callable[..., User], settings: Any
) -> None:
    root = make_user("root", acme, is_staff=True, is_superuser=True)
    link = _link(acme)
    values = {
        **SAMPLE_KWARGS,
        "token": token_for(link),
        "pk": str(link.pk),
        "object_id": str(link.pk),
        "id": str(root.pk),
    }
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(root)
    counts = (EmbedLink.objects.count(), Tenant.objects.count(), User.objects.count(), Membership.objects.count())
    urls = {url for route in every_route() if (url := sample_url(route, values))}
    # The state-changing views must be among them, with the bodies they would accept.
    assert {"/accounts/login/", "/accounts/logout/", "/t/acme/links/", "/admin/links/embedlink/"} <= urls
    bodies: dict[str, dict[str, Any]] = {
        "/accounts/login/": {"username": "root", "password": PASSWORD},
        "/t/acme/links/": {"lifetime": "1 day", "scope": "list"},
        "/admin/links/embedlink/": {"action": "revoke", "_selected_action": [link.pk]},
        f"/admin/tenants/tenant/{acme.pk}/change/": {"slug": "acme", "name": "Hijacked", "api_key": "x"},
        f"/admin/auth/user/{root.pk}/password/": {"password1": "x-New-pass-1", "password2": "x-New-pass-1"},
    }
    checked = 0
    for url in sorted(urls | set(bodies)):
        answer = strict.post(url, bodies.get(url, {"x": "1"}))
        assert answer.status_code in (403, 404, 405), (url, answer.status_code)
        if answer.status_code == 403:
            assert b"CSRF" in answer.content, url
            checked += 1
    assert checked >= 10
    link.refresh_from_db()
    acme.refresh_from_db()
    assert not link.is_revoked and acme.name == "Acme"
    assert strict.get("/t/acme/jobs/").status_code == 200  # the logout POST did not log out
    assert counts == (
        EmbedLink.objects.count(),
        Tenant.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
    )


def test_the_same_posts_with_the_token_go_through(sim: Any, acme: Tenant, make_user: Callable[..., User]) -> None:
    # So that the refusals above are the CSRF check's and not something else's.
    make_user("ann", acme)
    strict = Client(enforce_csrf_checks=True)
    strict.get("/accounts/login/")
    token = strict.cookies["csrftoken"].value
    login = strict.post("/accounts/login/", {"username": "ann", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert login.status_code == 302
    token = strict.cookies["csrftoken"].value
    created = strict.post("/t/acme/links/", {"lifetime": "1 day", "scope": "list", "csrfmiddlewaretoken": token})
    assert created.status_code == 302 and EmbedLink.objects.count() == 1
    assert strict.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert strict.get("/t/acme/jobs/").status_code == 302


# Secrets ----------------------------------------------------------------------------------------


def secrets_of(*tenants: Tenant) -> list[str]:
    found: list[str] = []
    for tenant in tenants:
        found += [
            tenant.api_secret,
            tenant.api_secret_encrypted,
            base64.b64encode(f"{tenant.api_key}:{tenant.api_secret}".encode()).decode(),
        ]
    return found


def assert_no_secret(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret in {where}"


def test_no_secret_in_any_page_error_page_script_or_log_line(
    sim: Any,
    acme: Tenant,
    globex: Tenant,
    make_user: Callable[..., User],
    login: Callable[[User], Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets = secrets_of(acme, globex)
    root = login(make_user("root", acme, globex, is_staff=True, is_superuser=True))
    link = _link(acme)
    job_link = _link(acme, scope=EmbedLink.Scope.JOB, job_type=XSS_JOB[0], job_id=XSS_JOB[1])
    pages = [
        "/",
        "/accounts/login/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/schema/",
        *tenant_urls("acme"),
        *tenant_urls("globex", HUGE_PATH),
        "/t/acme/jobs/?createdAfter=yesterday",  # 400
        "/t/acme/jobs/bogus/x/",  # 400
        "/api/t/acme/jobs/?limit=-1",  # 400
        "/t/acme/jobs/build/no-such-job/",  # 404
        "/api/t/acme/jobs/build/no-such-job/",  # 404
        "/t/nope/jobs/",  # 404
        f"/t/acme/links/{link.pk}/",
        f"/e/{token_for(link)}/",
        f"/e/{token_for(job_link)}/",
        "/e/forged/",  # 403
        "/admin/",
        "/admin/tenants/tenant/",
        f"/admin/tenants/tenant/{acme.pk}/change/",
        f"/admin/tenants/tenant/{acme.pk}/history/",
        f"/admin/tenants/tenant/{acme.pk}/delete/",
        "/admin/tenants/tenant/add/",
        "/admin/tenants/membership/",
        "/admin/links/embedlink/",
        f"/admin/links/embedlink/{link.pk}/change/",
    ]
    caplog.set_level(logging.DEBUG)
    for url in pages:
        answer = root.get(url)
        assert answer.status_code < 500, (url, answer.status_code)
        assert_no_secret(answer.content.decode(errors="replace"), secrets, url)
        assert_no_secret(str(answer.headers), secrets, f"the headers of {url}")
    # Upstream failures: 502 (credentials rejected) and 503 (unreachable), pages and API.
    for fault in ("revoke", "error_status"):
        sim.revoke("acme") if fault == "revoke" else sim.set_faults(error_status=503)
        for url in ("/t/acme/jobs/?state=active", f"/t/acme/jobs/{HUGE_PATH}/", "/api/t/acme/jobs/?state=active"):
            answer = root.get(url)
            assert answer.status_code in (502, 503), (url, answer.status_code)
            assert_no_secret(answer.content.decode(), secrets, url)
        sim.reset()
    logged = "\n".join(f"{record.getMessage()} {record.args!r} {record.exc_text or ''}" for record in caplog.records)
    assert caplog.records  # the requests above were logged
    assert_no_secret(logged, secrets, "the logs")


def test_no_secret_in_any_static_file(acme: Tenant, globex: Tenant) -> None:
    secrets = secrets_of(acme, globex)
    files = [Path(path) for _, storage in _static_files() for path in storage]
    assert any(path.suffix == ".js" for path in files)
    for path in files:
        assert_no_secret(path.read_text(errors="replace"), secrets, str(path))


def _static_files() -> Iterator[tuple[str, list[str]]]:
    for finder in finders.get_finders():
        for relative, storage in finder.list([]):
            if relative.endswith((".js", ".css", ".html", ".json")):
                yield relative, [storage.path(relative)]
