"""stream_events over a real socket, against a scripted HTTP server that writes exact bytes: cuts
mid-event, silence, odd line separators, garbage, statuses. The simulator-driven cases are in
tests/integration/test_client.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from jobsdash.tenants.models import Tenant
from jobsdash.waylay import auth, client
from jobsdash.waylay.client import Event, stream_events
from jobsdash.waylay.errors import BadResponse, CredentialsRejected, InvalidQuery, NotFound, UpstreamUnavailable

SSE = "text/event-stream"


@dataclass
class Script:
    """What the server answers: a status, a content type, body chunks, then `end` (a clean end of
    the chunked body), `cut` (close the socket mid-body) or `hang` (keep the connection open)."""

    status: str = "200 OK"
    content_type: str = SSE
    chunks: list[str] = field(default_factory=list)
    then: str = "end"


@dataclass
class ScriptedServer:
    port: int = 0
    script: Script = field(default_factory=Script)
    requests: list[str] = field(default_factory=list)
    client_gone: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            await self._answer(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests.append((await reader.readuntil(b"\r\n\r\n")).decode("latin-1"))
        script = self.script
        writer.write(
            f"HTTP/1.1 {script.status}\r\nContent-Type: {script.content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        for chunk in script.chunks:
            data = chunk.encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        if script.then == "end":
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        if script.then == "hang":
            reading = asyncio.ensure_future(reader.read())
            releasing = asyncio.ensure_future(self.release.wait())
            await asyncio.wait({reading, releasing}, return_when=asyncio.FIRST_COMPLETED)
            if reading.done():
                self.client_gone.set()
            reading.cancel()
            releasing.cancel()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    listener = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    scripted.port = listener.sockets[0].getsockname()[1]
    auth.forget_all_tokens()
    yield scripted
    scripted.release.set()
    await client.aclose_clients()
    await asyncio.gather(*scripted.handlers, return_exceptions=True)
    listener.close()
    await listener.wait_closed()


def make_tenant(server: ScriptedServer) -> Tenant:
    tenant = Tenant(slug="acme", name="Acme", gateway_url=f"http://127.0.0.1:{server.port}", api_key="k")
    tenant.set_api_secret("s")
    return tenant


async def collect(tenant: Tenant, **kwargs: object) -> list[Event]:
    events = []
    async with asyncio.timeout(5), contextlib.aclosing(stream_events(tenant, **kwargs)) as stream:
        async for event in stream:
            events.append(event)
    return events


def job_event(name: str, job_id: str = "j1", **extra: object) -> dict:
    return {"job": {"type": "build", "id": job_id, "state": name, **extra}, "data": {}, "timestamp": 1}


async def test_it_yields_every_event_and_decodes_job_events(server: ScriptedServer) -> None:
    server.script.chunks = [
        "event: ack\ndata: connected\n\n",
        "event: keep-alive\ndata: \n\n",
        f"event: active\nid: 1\ndata: {json.dumps(job_event('active'))}\n\n",
        f"id: 2\nevent: completed\ndata: {json.dumps(job_event('completed'))}\n\n",
    ]

    events = await collect(make_tenant(server))
    assert events == [
        Event("ack", "connected", None),
        Event("keep-alive", "", None),
        Event("active", job_event("active"), "1"),
        Event("completed", job_event("completed"), "2"),
    ]


async def test_close_ends_the_iterator_even_if_the_server_keeps_the_stream_open(server: ScriptedServer) -> None:
    server.script = Script(
        chunks=[f"event: completed\ndata: {json.dumps(job_event('completed'))}\n\n", "event: close\ndata: j1\n\n"],
        then="hang",
    )

    events = await collect(make_tenant(server), job_id="j1")
    assert [e.name for e in events] == ["completed", "close"]
    assert events[-1].data == "j1"
    await asyncio.wait_for(server.client_gone.wait(), 5)  # and the connection was released


async def test_it_sends_the_filters_and_last_event_id(server: ScriptedServer) -> None:
    await collect(make_tenant(server), job_type="verify", job_id="a$b/c", children=True, last_event_id="42")

    request_line, *headers = server.requests[0].split("\r\n")
    assert request_line == "GET /registry/v2/jobs/events?type=verify&id=a%24b%2Fc&children=true HTTP/1.1"
    assert "last-event-id: 42" in [h.lower() for h in headers]
    assert "accept: text/event-stream" in [h.lower() for h in headers]


async def test_it_sends_no_last_event_id_on_a_first_connection(server: ScriptedServer) -> None:
    await collect(make_tenant(server))
    assert "last-event-id" not in server.requests[0].lower()


async def test_a_line_separator_inside_json_survives(server: ScriptedServer) -> None:
    # U+2028, U+2029 and U+0085 are line breaks to str.splitlines() but not to SSE.
    message = "line\u2028separator\u2029paragraph\u0085next"
    server.script.chunks = [
        f"event: failed\ndata: {json.dumps(job_event('failed', failedReason=message), ensure_ascii=False)}\n\n"
    ]

    (event,) = await collect(make_tenant(server))
    assert event.data["job"]["failedReason"] == message


async def test_it_handles_crlf_and_events_split_across_chunks(server: ScriptedServer) -> None:
    text = f"event: waiting\r\nid: 7\r\ndata: {json.dumps(job_event('waiting'))}\r\n\r\n"
    server.script.chunks = [text[:5], text[5:23], text[23:]]

    assert await collect(make_tenant(server)) == [Event("waiting", job_event("waiting"), "7")]


async def test_it_skips_a_job_event_with_garbage_data_and_goes_on(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.script.chunks = [
        "event: active\nid: 1\ndata: {not json\n\n",
        'event: delayed\nid: 2\ndata: ["not", "an", "object"]\n\n',
        f"event: completed\nid: 3\ndata: {json.dumps(job_event('completed'))}\n\n",
    ]

    events = await collect(make_tenant(server))
    assert [(e.name, e.id) for e in events] == [("completed", "3")]
    assert "skipped a active event (id 1)" in caplog.text


async def test_a_stream_cut_mid_event_is_upstream_unavailable(server: ScriptedServer) -> None:
    server.script = Script(chunks=["event: ack\ndata: hi\n\n", 'event: completed\ndata: {"job": {"ty'], then="cut")
    seen: list[Event] = []

    with pytest.raises(UpstreamUnavailable, match="cut"):
        async for event in stream_events(make_tenant(server)):
            seen.append(event)
    assert [e.name for e in seen] == ["ack"]


async def test_a_clean_end_after_a_partial_event_drops_the_partial_event(server: ScriptedServer) -> None:
    server.script.chunks = ["event: ack\ndata: hi\n\n", 'event: completed\ndata: {"job": {}}\n']

    assert [e.name for e in await collect(make_tenant(server))] == ["ack"]


async def test_a_silent_stream_times_out_as_upstream_unavailable(server: ScriptedServer) -> None:
    server.script = Script(chunks=["event: ack\ndata: hi\n\n"], then="hang")
    seen: list[Event] = []

    with pytest.raises(UpstreamUnavailable, match=r"silent for 0\.2 s"):
        async for event in stream_events(make_tenant(server), read_timeout=0.2):
            seen.append(event)
    assert [e.name for e in seen] == ["ack"]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        ("401 Unauthorized", '{"message": "invalid credentials"}', CredentialsRejected),
        ("403 Forbidden", '{"message": "no"}', CredentialsRejected),
        ("404 Not Found", '{"message": "no such route"}', NotFound),
        ("503 Service Unavailable", "busy", UpstreamUnavailable),
        ("400 Bad Request", '{"message": "querystring/type must be equal to one of the allowed values"}', InvalidQuery),
        ("400 Bad Request", '{"message": "nope"}', BadResponse),
        ("302 Found", "", BadResponse),
    ],
)
async def test_it_checks_the_status_before_reading(server: ScriptedServer, status: str, body: str, error: type) -> None:
    server.script = Script(status=status, content_type="application/json", chunks=[body])

    with pytest.raises(error):
        await collect(make_tenant(server))
    assert len(server.requests) == 1  # one connection: reconnecting is the caller's business


async def test_another_content_type_is_bad_response(server: ScriptedServer) -> None:
    server.script = Script(content_type="application/json", chunks=['{"jobs": []}'])

    with pytest.raises(BadResponse, match="application/json"):
        await collect(make_tenant(server))


async def test_a_refused_connection_is_upstream_unavailable(server: ScriptedServer) -> None:
    tenant = make_tenant(server)
    tenant.gateway_url = "http://127.0.0.1:9"

    with pytest.raises(UpstreamUnavailable):
        await collect(tenant)


async def test_a_bad_filter_is_refused_before_connecting(server: ScriptedServer) -> None:
    with pytest.raises(InvalidQuery) as caught:
        await collect(make_tenant(server), job_type="rebuild")
    assert caught.value.parameter == "type"
    assert server.requests == []


async def test_leaving_early_releases_the_connection(server: ScriptedServer) -> None:
    server.script = Script(chunks=["event: ack\ndata: hi\n\n"], then="hang")

    async with contextlib.aclosing(stream_events(make_tenant(server))) as stream:
        async for _ in stream:
            break
    await asyncio.wait_for(server.client_gone.wait(), 5)


async def test_skipped_events_are_logged_without_their_data(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    server.script.chunks = ["event: failed\nid: 9\ndata: {secret payload\n\n", "event: ack\ndata: after\n\n"]

    assert [event.name for event in await collect(make_tenant(server))] == ["ack"]
    assert "secret payload" not in caplog.text and "id 9" in caplog.text
