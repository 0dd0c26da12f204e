"""Operations: probes, metrics, request ids, the access log, and no credential in any log line."""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from jobsdash.ops.logs import LineFormatter, RequestIdFilter, request_id
from jobsdash.tenants.models import Tenant
from tests.fixtures.site import PASSWORD

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
CACHE = "django.core.cache.backends.redis.RedisCache"


def test_healthz_answers_ok_without_login_or_database() -> None:
    answer = Client().get("/healthz")
    assert answer.status_code == 200
    assert answer.content == b"ok"
    assert answer["Content-Type"].startswith("text/plain")
    assert "no-cache" in answer["Cache-Control"]


@pytest.mark.django_db
def test_readyz_reports_every_dependency_ok() -> None:
    answer = Client().get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"database": "ok", "cache": "ok", "channel_layer": "ok"}


@pytest.mark.django_db
def test_readyz_names_an_unreachable_cache_with_its_error_class_only() -> None:
    broken = {"default": {"BACKEND": CACHE, "LOCATION": UNREACHABLE_REDIS}}
    with override_settings(CACHES=broken):
        answer = Client().get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["database"] == "ok"
    assert body["channel_layer"] == "ok"
    assert body["cache"].startswith("error: ")
    assert "127.0.0.1" not in answer.content.decode()
    assert "Traceback" not in answer.content.decode()


@pytest.mark.django_db
def test_readyz_gives_up_on_a_cache_that_never_answers(settings) -> None:
    settings.READY_CHECK_TIMEOUT = 0.3
    # A port that accepts connections (the kernel's backlog) and never says a word.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        location = f"redis://127.0.0.1:{port}/0"
        # The socket timeout only frees the worker thread after the test; readyz answers first.
        hung = {"default": {"BACKEND": CACHE, "LOCATION": location, "OPTIONS": {"socket_timeout": 1}}}
        with override_settings(CACHES=hung):
            answer = Client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"database": "ok", "cache": "error: TimeoutError", "channel_layer": "ok"}


@pytest.mark.django_db
def test_readyz_names_an_unreachable_channel_layer() -> None:
    broken = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [UNREACHABLE_REDIS]}}}
    with override_settings(CHANNEL_LAYERS=broken):
        answer = Client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["channel_layer"].startswith("error: ")
    assert answer.json()["cache"] == "ok"


def test_readyz_names_a_database_that_refuses_connections() -> None:
    # No django_db mark: pytest-django refuses every connection, as a dead database would.
    answer = Client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["database"].startswith("error: ")
    assert answer.json()["cache"] == "ok"


@pytest.mark.django_db
def test_metrics_expose_upstream_and_cache_counters_after_traffic(
    sim, acme: Tenant, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    client = login(make_user("alice", acme))
    assert client.get("/api/t/acme/jobs/?type=build").status_code == 200
    assert client.get("/api/t/acme/jobs/?type=build").status_code == 200  # a hit

    answer = Client().get("/metrics")  # the test client comes from 127.0.0.1
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")
    text = answer.content.decode()
    assert 'jobsdash_cache_lookups_total{kind="list",outcome="miss"}' in text
    assert 'jobsdash_cache_lookups_total{kind="list",outcome="hit"}' in text
    assert 'jobsdash_upstream_requests_total{endpoint="list",status="200"}' in text
    assert 'jobsdash_upstream_request_seconds_bucket{endpoint="list",le="0.005"}' in text
    for name in (
        "jobsdash_single_flight_joins_total",
        "jobsdash_open_websockets",
        "jobsdash_open_upstream_streams",
        "jobsdash_relay_reconnects_total",
        "jobsdash_sockets_overflowed_total",
    ):
        assert f"\n{name} " in text  # served even before anything happened (their moves: test_live_metrics)


def test_metrics_refuse_outsiders_without_the_token(settings) -> None:
    settings.METRICS_TOKEN = "scrape-token-123"
    outsider = Client(REMOTE_ADDR="203.0.113.9")
    assert outsider.get("/metrics").status_code == 403
    assert outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    allowed = outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123")
    assert allowed.status_code == 200
    assert b"# TYPE jobsdash_upstream_requests_total counter" in allowed.content
    assert Client(REMOTE_ADDR="10.2.3.4").get("/metrics").status_code == 200


def test_metrics_without_a_token_configured_are_internal_only(settings) -> None:
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_a_sane_request_id_is_echoed_and_a_bad_one_replaced() -> None:
    echoed = Client().get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.91:x")
    assert echoed["X-Request-ID"] == "lb-7f3a.91:x"
    for bad in ("", "has space", "a" * 200, "new\nline", "<script>"):
        answer = Client().get("/healthz", HTTP_X_REQUEST_ID=bad)
        assert answer["X-Request-ID"] != bad
        assert len(answer["X-Request-ID"]) == 32
    assert Client().get("/healthz")["X-Request-ID"] != Client().get("/healthz")["X-Request-ID"]


@pytest.mark.django_db
def test_one_access_line_per_request_with_request_id_user_and_tenant(
    sim, acme: Tenant, make_user: Callable[..., User], login: Callable[[User], Client], caplog
) -> None:
    user = make_user("alice", acme)
    client = login(user)
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.DEBUG)

    answer = client.get("/t/acme/jobs/?state=failed", HTTP_X_REQUEST_ID="req-42")

    assert answer.status_code == 200
    access = [r for r in caplog.records if r.name == "jobsdash.access"]
    assert len(access) == 1
    line = LineFormatter().format(access[0])
    assert "\n" not in line
    assert " level=INFO logger=jobsdash.access request_id=req-42 " in line
    assert ' method=GET path=/t/acme/jobs/ query="state=failed" status=200 duration_ms=' in line
    assert f" user={user.pk} tenant=acme" in line
    # Every line written while serving the request carries its id (upstream calls included).
    assert any(r.name.startswith("jobsdash.waylay") for r in caplog.records)
    # (Not asyncio's: it logs from the thread that makes an event loop, outside the request.)
    assert {r.request_id for r in caplog.records if r.name.startswith(("jobsdash", "django"))} == {"req-42"}


@pytest.mark.django_db
def test_djangos_own_line_about_an_error_response_carries_the_id(caplog) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    answer = Client().get("/no-such-page", HTTP_X_REQUEST_ID="req-404")
    assert answer.status_code == 404
    (not_found,) = [r for r in caplog.records if r.name == "django.request"]
    assert not_found.request_id == "req-404"
    assert request_id.get() == "-"  # and nothing after the response is the request's


def test_probes_are_logged_at_debug_only(caplog) -> None:
    caplog.set_level(logging.INFO)
    Client().get("/healthz")
    assert not [r for r in caplog.records if r.name == "jobsdash.access"]


class _LineRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.formatter = LineFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


# The start of every HS256 JWT the accounts service (and the simulator) issues.
JWT_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")


def _secrets_of(tenant: Tenant) -> list[str]:
    pair = f"{tenant.api_key}:{tenant.api_secret}".encode()
    return [tenant.api_secret, base64.b64encode(pair).decode(), JWT_HEADER, PASSWORD]


@pytest.mark.django_db
def test_no_credential_reaches_a_log_line(
    sim, acme: Tenant, acme_token: Tenant, make_user: Callable[..., User], caplog, monkeypatch, settings
) -> None:
    settings.UPSTREAM_RETRY_DELAYS = (0.01, 0.01)
    make_user("alice", acme, acme_token)
    caplog.set_level(logging.DEBUG)
    # Lines written as the code wrote them, before the console handler's redaction filter masks
    # anything in the record (caplog keeps the record objects, masked afterwards): this proves the
    # code, not the filter.
    raw = _LineRecorder()
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [raw, *root.handlers])
    client = Client()
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302

    for slug in ("acme", "acme-token"):  # Basic, and a JWT fetched with the key and secret
        assert client.get(f"/t/{slug}/jobs/").status_code == 200
        assert client.get(f"/api/t/{slug}/jobs/?state=failed").status_code == 200
    sim.set_faults(error_status=500, error_times=2)  # retried, then served
    assert client.get("/api/t/acme/jobs/?type=build").status_code == 200
    sim.clear_faults()
    sim.revoke("acme")  # the upstream now refuses the credentials
    for slug in ("acme", "acme-token"):
        assert client.get(f"/api/t/{slug}/jobs/?type=deploy").status_code == 502
    sim.restore("acme")
    sim.expire_tokens("acme")  # a 401 to the cached token, then a new token
    assert client.get("/api/t/acme-token/jobs/?type=notify").status_code == 200

    messages = [record.getMessage() for record in caplog.records]
    assert any("retrying" in message for message in messages)  # the faults were logged at all
    assert any("token" in message for message in messages)
    assert len(raw.lines) >= len(caplog.records)
    for secret in _secrets_of(acme):
        for line in raw.lines:
            assert secret not in line
