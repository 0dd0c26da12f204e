"""Upstream faults seen through the pages and the API, with the simulator on a real port: down,
flapping, slower than the client's timeout, 5xx, garbage. The dashboard stays up and every page
is either a stale copy under a banner or a clear error with the right status; never a 500.

The live side of the same faults (the relay, `since=`) is in test_faults_live.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobsdash.simulator.jobs import XSS_JOB
from jobsdash.tenants.models import Tenant
from tests.fixtures.processes import free_port, stop_process
from tests.fixtures.simulator import start_simulator

pytestmark = pytest.mark.django_db

STALE_BANNER = "Waylay is unreachable. Showing a copy from"
DETAIL = f"/t/acme/jobs/{XSS_JOB[0]}/{XSS_JOB[1].replace('$', '%24')}/"
API_DETAIL = f"/api{DETAIL}"


@pytest.fixture
def quick_client(settings: Any) -> None:
    """The client's timeouts and retry pauses shortened (settings read at each call)."""
    settings.UPSTREAM_REQUEST_TIMEOUT = 0.4
    settings.UPSTREAM_CONNECT_TIMEOUT = 0.4
    settings.UPSTREAM_RETRY_DELAYS = (0.02, 0.05)


@pytest.fixture
def always_stale(settings: Any) -> None:
    """Whatever is cached is out of date at once, so each request goes upstream first."""
    settings.CACHE_TTL_LIST = settings.CACHE_TTL_JOB_ACTIVE = settings.CACHE_TTL_JOB_FINISHED = 0


def assert_error_page(response: Any, status: int, title: str) -> str:
    """A readable error page: the status, its title, no traceback, nothing of the tenant's secret."""
    assert response.status_code == status, response.content[:300]
    body = response.content.decode()
    assert title in body
    assert "Traceback" not in body and "acme-secret" not in body
    assert response["Content-Type"].startswith("text/html")
    return body


def assert_api_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    document = json.loads(response.content)
    assert set(document) == {"error"} and document["error"]
    return document


def assert_healthy(client: Client) -> None:
    assert client.get("/healthz").status_code == 200


# Down at start ----------------------------------------------------------------------------------


@pytest.fixture
def late_port(tmp_path: Path) -> Iterator[tuple[int, Callable[[], None]]]:
    """A port nothing listens on yet, and a function starting a simulator on it."""
    port = free_port()
    started: list[Any] = []

    def start() -> None:
        process, _ = start_simulator(tmp_path / "late.log", "--port", str(port))
        started.append(process)

    yield port, start
    for process in started:
        stop_process(process)


def test_an_upstream_down_at_start_is_a_503_until_it_comes_up(
    make_tenant: Callable[..., Tenant],
    make_user: Callable[..., User],
    login: Callable[[User], Client],
    late_port: tuple[int, Callable[[], None]],
    quick_client: None,
) -> None:
    port, start = late_port
    tenant = make_tenant("acme", gateway_url=f"http://127.0.0.1:{port}", api_key="acme-key", api_secret="acme-secret")
    alice = login(make_user("alice", tenant))

    page = alice.get("/t/acme/jobs/")
    body = assert_error_page(page, 503, "Waylay is unreachable")
    assert ">Retry</a>" in body and page["Retry-After"]
    assert_error_page(alice.get(DETAIL), 503, "Waylay is unreachable")
    api = alice.get("/api/t/acme/jobs/")
    assert_api_error(api, 503)
    assert api["Retry-After"]
    assert_api_error(alice.get(API_DETAIL), 503)
    assert_healthy(alice)

    start()
    assert alice.get("/t/acme/jobs/").status_code == 200
    assert json.loads(alice.get(API_DETAIL).content)["job"]["job"]["id"] == XSS_JOB[1]


# Flapping ---------------------------------------------------------------------------------------


def test_a_flapping_upstream_is_absorbed_by_the_retries(sim: Any, alice: Client) -> None:
    sim.set_faults(error_status=502, error_times=2, endpoints=["list"])
    assert alice.get("/t/acme/jobs/?state=failed").status_code == 200
    assert sim.count("list", "acme") == 3  # two failures, then the answer


def test_flapping_longer_than_the_retries_gives_the_stale_copy_then_fresh_data(
    sim: Any, alice: Client, always_stale: None, quick_client: None
) -> None:
    fresh = alice.get("/t/acme/jobs/?type=build")
    assert fresh.status_code == 200 and STALE_BANNER not in fresh.content.decode()
    sim.set_faults(error_status=503, error_times=3, endpoints=["list"])
    stale = alice.get("/t/acme/jobs/?type=build")
    assert stale.status_code == 200 and STALE_BANNER in stale.content.decode()
    again = alice.get("/t/acme/jobs/?type=build")  # the upstream is back: no banner
    assert again.status_code == 200 and STALE_BANNER not in again.content.decode()
    # Without a copy the same flap is a clear 503, and the next request succeeds.
    sim.set_faults(error_status=500, error_times=3, endpoints=["list"])
    assert_error_page(alice.get("/t/acme/jobs/?type=deploy"), 503, "Waylay is unreachable")
    assert alice.get("/t/acme/jobs/?type=deploy").status_code == 200


# Slow -------------------------------------------------------------------------------------------


def test_an_upstream_slower_than_the_timeout_is_a_bounded_503_or_the_stale_copy(
    sim: Any, alice: Client, always_stale: None, quick_client: None, settings: Any
) -> None:
    alice.get("/t/acme/jobs/?state=completed")
    alice.get(API_DETAIL)
    sim.set_faults(latency_ms=5000, endpoints=["list", "get"])
    # Three attempts of 0.4 s each and the pauses, with slack: long before the simulator's 5 s.
    bound = 3 * settings.UPSTREAM_REQUEST_TIMEOUT + sum(settings.UPSTREAM_RETRY_DELAYS) * 1.5 + 3.0

    started = time.monotonic()
    stale = alice.get("/t/acme/jobs/?state=completed")
    assert time.monotonic() - started < bound
    assert stale.status_code == 200 and STALE_BANNER in stale.content.decode()

    started = time.monotonic()
    stale_api = alice.get(API_DETAIL)
    assert time.monotonic() - started < bound
    assert stale_api.status_code == 200 and stale_api["Warning"] == '110 - "Response is stale"'
    assert json.loads(stale_api.content)["job"]["job"]["id"] == XSS_JOB[1]

    started = time.monotonic()
    assert_error_page(alice.get("/t/acme/jobs/?state=failed"), 503, "Waylay is unreachable")
    assert_api_error(alice.get("/api/t/acme/jobs/?state=failed"), 503)
    assert time.monotonic() - started < 2 * bound
    assert_healthy(alice)

    sim.clear_faults()
    assert STALE_BANNER not in alice.get("/t/acme/jobs/?state=completed").content.decode()


# 5xx --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_answers_are_the_stale_copy_or_a_503(
    sim: Any, alice: Client, always_stale: None, quick_client: None, status: int
) -> None:
    copy = alice.get("/api/t/acme/jobs/?limit=5")
    # The page's own answer (one job more) too; completed jobs only, so that it reads no failed
    # job's details for its failure groups (DETAIL, a failed job, must have no copy).
    assert alice.get("/t/acme/jobs/?limit=5&state=completed").status_code == 200
    sim.set_faults(error_status=status)
    stale = alice.get("/api/t/acme/jobs/?limit=5")
    assert stale.status_code == 200 and stale.content == copy.content
    assert stale["Warning"] == '110 - "Response is stale"' and int(stale["Age"]) >= 0
    assert STALE_BANNER in alice.get("/t/acme/jobs/?limit=5&state=completed").content.decode()
    assert_error_page(alice.get(DETAIL), 503, "Waylay is unreachable")
    assert_api_error(alice.get("/api/t/acme/jobs/?limit=7"), 503)  # nothing held for it
    # Row and log partials fail the same way, never with a 500.
    for suffix in ("row/", "log/"):
        assert alice.get(f"{DETAIL}{suffix}").status_code == 503


# Garbage ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("garbage", ["json", "shape"])
def test_garbage_from_the_upstream_is_the_stale_copy_or_a_503(
    sim: Any, alice: Client, always_stale: None, garbage: str
) -> None:
    alice.get("/t/acme/jobs/?type=verify")
    sim.set_faults(garbage=garbage, endpoints=["list", "get"])
    stale = alice.get("/t/acme/jobs/?type=verify")
    assert stale.status_code == 200 and STALE_BANNER in stale.content.decode()
    assert_error_page(alice.get("/t/acme/jobs/?type=scale"), 503, "Waylay is unreachable")
    assert_error_page(alice.get(DETAIL), 503, "Waylay is unreachable")
    assert_api_error(alice.get(API_DETAIL), 503)
    assert_api_error(alice.get("/api/t/acme/jobs/?type=scale"), 503)
    sim.clear_faults()
    assert alice.get(API_DETAIL).status_code == 200


# Credentials ------------------------------------------------------------------------------------


def test_revoked_credentials_are_a_clear_502_even_with_a_copy_then_recover(
    sim: Any, alice: Client, always_stale: None
) -> None:
    alice.get("/t/acme/jobs/")
    sim.revoke("acme")
    # A copy is not served: the administrator has something to fix, and the page says what.
    body = assert_error_page(alice.get("/t/acme/jobs/"), 502, "Waylay rejected this tenant")
    assert "API key and secret" in body
    assert_api_error(alice.get("/api/t/acme/jobs/"), 502)
    assert_healthy(alice)
    sim.restore("acme")
    assert alice.get("/t/acme/jobs/").status_code == 200
