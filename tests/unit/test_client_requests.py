"""list_jobs / get_job against scripted answers (respx) for the faults and shapes the simulator does
not produce: odd statuses, 400 bodies, wrong shapes, path encoding, the hook; and against a plain
HTTP server on a real socket, the connections each event loop keeps. The simulator-driven cases
are in tests/integration/test_client.py."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import respx

from jobsdash.tenants.models import Tenant
from jobsdash.waylay import auth, client
from jobsdash.waylay.errors import BadResponse, CredentialsRejected, InvalidQuery, NotFound, UpstreamUnavailable
from jobsdash.waylay.queries import ListQuery, parse_list_query

Handler = Callable[[httpx.Request], httpx.Response]

JOBS = {"jobs": [], "limit": 10}
JOB = {"job": {"type": "build", "id": "x"}, "_links": {}}


def make_tenant(auth_mode: str = "basic", gateway_url: str = "http://gw.test/") -> Tenant:
    tenant = Tenant(slug="acme", name="Acme", gateway_url=gateway_url, api_key="k", auth_mode=auth_mode)
    tenant.set_api_secret("s3cret")
    return tenant


@pytest.fixture
async def upstream(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> AsyncIterator[Callable[[Handler], list[httpx.Request]]]:
    """Route the client's requests to a handler; returns the list of requests it received."""
    settings.UPSTREAM_RETRY_DELAYS = (0.0, 0.0)
    auth.forget_all_tokens()
    with respx.mock as router:
        route = router.route()

        def install(handler: Handler) -> list[httpx.Request]:
            seen: list[httpx.Request] = []

            def record(request: httpx.Request) -> httpx.Response:
                seen.append(request)
                return handler(request)

            route.side_effect = record
            return seen

        yield install
        await client.aclose_clients()
    auth.forget_all_tokens()


async def test_it_sends_the_filters_as_repeated_parameters_and_returns_the_document(upstream) -> None:
    document = {"jobs": [{"id": "a", "extra": ["kept"]}], "limit": 5}
    seen = upstream(lambda _: httpx.Response(200, json=document))
    query = parse_list_query({"type": ["deploy", "build"], "state": ["failed"], "limit": ["5"]})

    assert await client.list_jobs(make_tenant(), query) == document
    assert seen[0].url.path == "/registry/v2/jobs/"
    assert seen[0].url.params.multi_items() == [
        ("limit", "5"),
        ("state", "failed"),
        ("type", "build"),
        ("type", "deploy"),
    ]
    assert seen[0].headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("job_id", "raw_path"),
    [
        ("6ccc8843-d78d$IfM2FyNLQ8CEjQGA9w7Ht", b"/registry/v2/jobs/build/6ccc8843-d78d%24IfM2FyNLQ8CEjQGA9w7Ht"),
        ("a/b", b"/registry/v2/jobs/build/a%2Fb"),
        ("..", b"/registry/v2/jobs/build/%2E%2E"),
        ("%24", b"/registry/v2/jobs/build/%2524"),
        ("a b?c#d", b"/registry/v2/jobs/build/a%20b%3Fc%23d"),
    ],
)
async def test_it_encodes_the_job_id_as_one_path_segment(upstream, job_id: str, raw_path: bytes) -> None:
    seen = upstream(lambda _: httpx.Response(200, json=JOB))

    assert await client.get_job(make_tenant(), "build", job_id) == JOB
    assert seen[0].url.raw_path == raw_path


async def test_it_refuses_a_bad_type_or_id_before_sending(upstream) -> None:
    seen = upstream(lambda _: httpx.Response(200, json=JOB))

    with pytest.raises(InvalidQuery) as bad_type:
        await client.get_job(make_tenant(), "rebuild", "x")
    with pytest.raises(InvalidQuery) as bad_id:
        await client.get_job(make_tenant(), "build", "")
    assert (bad_type.value.parameter, bad_id.value.parameter) == ("type", "id")
    assert seen == []


async def test_it_accepts_cleanup_on_get(upstream) -> None:
    seen = upstream(lambda _: httpx.Response(200, json=JOB))

    await client.get_job(make_tenant(), "cleanup", "x")
    assert seen[0].url.path == "/registry/v2/jobs/cleanup/x"


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, CredentialsRejected), (403, CredentialsRejected), (404, NotFound), (429, UpstreamUnavailable)],
)
async def test_it_maps_statuses_to_error_types_without_retrying(upstream, status: int, error: type) -> None:
    seen = upstream(lambda _: httpx.Response(status, json={"message": "no"}))

    with pytest.raises(error):
        await client.get_job(make_tenant(), "build", "x")
    assert len(seen) == 1


async def test_it_keeps_the_status_of_a_credentials_refusal(upstream) -> None:
    upstream(lambda _: httpx.Response(403, json={"message": "forbidden"}))

    with pytest.raises(CredentialsRejected) as caught:
        await client.list_jobs(make_tenant(), ListQuery())
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"statusCode": 400, "error": "Bad Request", "message": "querystring/limit must be >= 0"}, "limit"),
        ({"message": "querystring.createdAfter must match format"}, "createdAfter"),
        ({"message": "params/type must be equal to one of the allowed values"}, "type"),
        ({"message": "invalid value", "parameter": "state"}, "state"),
        ({"message": "'functionType' has an unknown value"}, "functionType"),
    ],
)
async def test_it_turns_a_400_naming_a_parameter_into_invalid_query(upstream, body: dict, parameter: str) -> None:
    upstream(lambda _: httpx.Response(400, json=body))

    with pytest.raises(InvalidQuery) as caught:
        await client.list_jobs(make_tenant(), ListQuery())
    assert caught.value.parameter == parameter


@pytest.mark.parametrize("body", [b'{"message": "something is wrong"}', b"<html>Bad Request</html>", b""])
async def test_it_turns_a_400_naming_nothing_into_bad_response(upstream, body: bytes) -> None:
    upstream(lambda _: httpx.Response(400, content=body))

    with pytest.raises(BadResponse):
        await client.list_jobs(make_tenant(), ListQuery())


@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b"[]", b'"jobs"', b'{"jobs": {}}', b'{"limit": 10}', b'{"jobs": [', b"\xff\xfe"],
)
async def test_it_refuses_a_list_answer_of_the_wrong_shape(upstream, body: bytes) -> None:
    upstream(lambda _: httpx.Response(200, content=body, headers={"content-type": "application/json"}))

    with pytest.raises(BadResponse):
        await client.list_jobs(make_tenant(), ListQuery())


@pytest.mark.parametrize("document", [{"job": []}, {"job": None}, {"jobs": []}, []])
async def test_it_refuses_a_get_answer_of_the_wrong_shape(upstream, document: Any) -> None:
    upstream(lambda _: httpx.Response(200, json=document))

    with pytest.raises(BadResponse):
        await client.get_job(make_tenant(), "build", "x")


async def test_it_retries_connect_errors_twice_then_gives_up(upstream) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    seen = upstream(refuse)

    with pytest.raises(UpstreamUnavailable, match="ConnectError"):
        await client.list_jobs(make_tenant(), ListQuery())
    assert len(seen) == 3


async def test_it_succeeds_when_a_retry_does(upstream) -> None:
    answers = iter([httpx.Response(502), httpx.Response(503)])
    seen = upstream(lambda _: next(answers, httpx.Response(200, json=JOBS)))

    assert await client.list_jobs(make_tenant(), ListQuery()) == JOBS
    assert len(seen) == 3


async def test_it_reports_every_request_to_the_observe_hook(upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    observed: list[tuple[str, int | str]] = []
    monkeypatch.setattr(client, "observe", lambda endpoint, status, seconds: observed.append((endpoint, status)))
    answers = iter([httpx.Response(500)])
    upstream(lambda _: next(answers, httpx.Response(200, json=JOB)))

    await client.get_job(make_tenant(), "build", "x")
    assert observed == [("get", 500), ("get", 200)]


async def test_a_failing_observe_hook_does_not_fail_the_request(upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("metrics bug")

    monkeypatch.setattr(client, "observe", broken)
    upstream(lambda _: httpx.Response(200, json=JOBS))

    assert await client.list_jobs(make_tenant(), ListQuery()) == JOBS


class _Registry(ThreadingHTTPServer):
    """A registry answering every GET with an empty job list over keep-alive HTTP/1.1, counting the
    TCP connections it accepts."""

    connections = 0

    def get_request(self) -> Any:
        self.connections += 1
        return super().get_request()


class _EmptyList(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"jobs": [], "limit": 10}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[_Registry]:
    server = _Registry(("127.0.0.1", 0), _EmptyList)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _tenant_of(registry: _Registry) -> Tenant:
    return make_tenant(gateway_url=f"http://127.0.0.1:{registry.server_address[1]}")


async def test_an_event_loop_keeps_its_connections_until_its_clients_are_closed(registry: _Registry) -> None:
    tenant = _tenant_of(registry)

    await client.list_jobs(tenant, ListQuery())
    await client.list_jobs(tenant, ListQuery())
    assert registry.connections == 1  # the second request reused the loop's pooled connection
    await client.aclose_clients()
    await client.list_jobs(tenant, ListQuery())
    assert registry.connections == 2  # closed with the clients: new clients, a new connection
    await client.aclose_clients()


def test_each_event_loop_gets_its_own_clients_and_a_closed_loop_is_let_go(registry: _Registry) -> None:
    # asyncio.run per call is what async_to_sync does in a thread with no outer loop.
    tenant = _tenant_of(registry)
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def call() -> None:
        await client.list_jobs(tenant, ListQuery())
        loops.append(weakref.ref(asyncio.get_running_loop()))

    asyncio.run(call())
    asyncio.run(call())  # a connection of the first loop would fail here: its loop is closed
    assert registry.connections == 2
    gc.collect()
    assert loops[0]() is None  # nothing holds the first loop once the second made its clients
    asyncio.run(client.aclose_clients())  # and the second's are dropped by the next loop's call
