"""Headers every response carries, whatever answers it: the security headers (also on the 400 for
a Host outside ALLOWED_HOSTS, which no view sees) and private, unstored copies of every page
behind a login or a signed link."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.simulator.jobs import XSS_JOB
from jobsdash.tenants.models import Tenant

pytestmark = pytest.mark.django_db

XSS_PATH = f"{XSS_JOB[0]}/{quote(XSS_JOB[1], safe='')}"


def _link(tenant: Tenant, **scope: Any) -> tuple[EmbedLink, str]:
    link = create_link(tenant, None, lifetime=timedelta(days=1), **scope)
    return link, f"/e/{token_for(link)}/"


def _assert_security_headers(response: Any, what: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors" in csp, what
    assert response.get("X-Frame-Options") in ("DENY", "SAMEORIGIN"), what
    assert response.get("X-Content-Type-Options") == "nosniff", what
    assert response.get("Referrer-Policy"), what


def test_a_host_outside_allowed_hosts_gets_a_400_with_the_security_headers(caplog: pytest.LogCaptureFixture) -> None:
    answer = Client().get("/t/acme/jobs/", HTTP_HOST="evil.example")
    assert answer.status_code == 400
    assert b"Bad request" in answer.content
    _assert_security_headers(answer, "bad host")


def test_a_bad_host_is_a_warning_line_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    Client().get("/", HTTP_HOST="203.0.113.9:8000")
    (line,) = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert line.levelno == logging.WARNING
    assert line.exc_info is None and line.exc_text is None
    assert "203.0.113.9" in line.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_bad_host_gets_the_headers_when_https_redirects_read_the_host_first(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    answer = Client().get("/t/acme/jobs/", HTTP_HOST="evil.example")
    assert answer.status_code == 400
    assert "frame-ancestors" in answer["Content-Security-Policy"]
    assert answer["X-Frame-Options"] == "SAMEORIGIN"


def test_every_kind_of_html_response_carries_the_security_headers(
    sim: Any, acme: Tenant, alice: Client, settings: Any
) -> None:
    settings.LOGIN_MAX_FAILURES_USER = 1
    _, link_path = _link(acme, scope=EmbedLink.Scope.LIST)
    anonymous = Client()
    anonymous.post("/accounts/login/", {"username": "mallory", "password": "wrong"})
    answers = {
        "login page": anonymous.get("/accounts/login/"),
        "list page": alice.get("/t/acme/jobs/"),
        "job page": alice.get(f"/t/acme/jobs/{XSS_PATH}/"),
        "400 invalid filter": alice.get("/t/acme/jobs/?type=nope"),
        "404 unknown tenant": alice.get("/t/nobody/jobs/"),
        "404 no such page": alice.get("/no/such/page/"),
        "403 refused link": anonymous.get("/e/not-a-token/"),
        "signed link page": anonymous.get(link_path),
        "403 CSRF failure": Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"}),
        "429 locked out": anonymous.post("/accounts/login/", {"username": "mallory", "password": "wrong"}),
    }
    assert [answers[k].status_code for k in answers] == [200, 200, 200, 400, 404, 404, 403, 200, 403, 429]
    for what, answer in answers.items():
        assert answer["Content-Type"].startswith("text/html"), what
        _assert_security_headers(answer, what)


def test_pages_behind_a_login_or_a_signed_link_are_private_and_not_stored(
    sim: Any, acme: Tenant, alice: Client
) -> None:
    link, list_link = _link(acme, scope=EmbedLink.Scope.LIST)
    _, job_link = _link(acme, scope=EmbedLink.Scope.JOB, job_type=XSS_JOB[0], job_id=XSS_JOB[1])
    anonymous = Client()
    pages = {
        "signed list link": anonymous.get(list_link),
        "signed job link": anonymous.get(job_link),
        "list page": alice.get("/t/acme/jobs/"),
        "job page": alice.get(f"/t/acme/jobs/{XSS_PATH}/"),
        "whole log": alice.get(f"/t/acme/jobs/{XSS_PATH}/log/"),
        "row partial": alice.get(f"/t/acme/jobs/{XSS_PATH}/row/"),
        "tenant picker": alice.get("/"),
    }
    for what, answer in pages.items():
        assert answer.status_code in (200, 302), what
        directives = {d.strip() for d in answer["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, what
    # Revoked: the very next request says so; nothing kept a copy that could say otherwise.
    link.revoked_at = timezone.now()
    link.save()
    assert anonymous.get(list_link).status_code == 403


def test_the_api_keeps_revalidating_with_its_etag(sim: Any, alice: Client) -> None:
    first = alice.get("/api/t/acme/jobs/")
    assert first.status_code == 200
    assert first["Cache-Control"] == "private, no-cache"
    again = alice.get("/api/t/acme/jobs/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["Cache-Control"] == "private, no-cache"


def test_static_files_keep_their_own_caching() -> None:
    answer = Client().get("/static/css/app.css")
    assert answer.status_code == 200
    assert "no-store" not in answer["Cache-Control"]
