"""The simulator's ASGI application: the registry jobs API, the accounts token endpoint, the
settings endpoint the official SDK reads, and the `/_sim/` control endpoints (no auth; the
simulator binds 127.0.0.1 only).

    app = build_app(SimulatorConfig(tenants=[TenantConfig("acme", "acme-key", "acme-secret")]))
    # serve it with jobsdash.simulator.server.Server(app, "127.0.0.1", 0), or any ASGI server
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from jobsdash.simulator import control
from jobsdash.simulator import jobs as jobmod
from jobsdash.simulator.queries import ALL_JOB_TYPES, QueryError, parse_bool, parse_list_query
from jobsdash.simulator.server import AbortConnection
from jobsdash.simulator.world import ControlError, Event, Simulator, SimulatorConfig, Stream

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_JOBS = "/registry/v2/jobs"


class Request:
    def __init__(self, scope: dict[str, Any], body: bytes) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.raw_path: str = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        self.params = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        self.headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        self.body = body

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            raise ControlError(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise ControlError(400, "the body must be a JSON object")
        return data


async def _respond(
    send: Send, status: int, body: bytes, content_type: bytes, extra: list[tuple[bytes, bytes]] = ()
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, document: Any, extra: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    await _respond(send, status, body, b"application/json; charset=utf-8", extra)


async def _error(send: Send, status: int, message: str) -> None:
    """Errors the way the registry's gateway shapes them."""
    extra = [(b"www-authenticate", b'Basic realm="waylay"')] if status == 401 else []
    await _json(send, status, {"statusCode": status, "error": _REASONS.get(status, "Error"), "message": message}, extra)


class SimulatorApp:
    """The ASGI callable; `simulator` is the state it serves, open to in-process callers."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.simulator = Simulator(config)
        self.config = config

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        self.simulator.start()
        if not self.simulator.base_url:
            host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode("latin-1")
            self.simulator.base_url = f"http://{host}"
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Request(scope, body)
        try:
            await self._route(request, receive, send)
        except ControlError as exc:
            await _error(send, exc.status, str(exc))
        except QueryError as exc:
            await _error(send, 400, str(exc))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.simulator.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.simulator.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _route(self, request: Request, receive: Receive, send: Send) -> None:
        path = request.raw_path
        if path.startswith("/_sim/"):
            await self._control(request, send)
            return
        if path.rstrip("/") == f"{_JOBS}/events":
            await self._api(request, send, "events", lambda slug: self._events(request, receive, send, slug))
        elif path in (f"{_JOBS}/", _JOBS):
            await self._api(request, send, "list", lambda slug: self._list(request, send, slug))
        elif path.startswith(f"{_JOBS}/") and len(parts := path[len(_JOBS) + 1 :].rstrip("/").split("/")) == 2:
            job_type, job_id = unquote(parts[0]), unquote(parts[1])
            await self._api(request, send, "get", lambda slug: self._get(send, slug, job_type, job_id))
        elif path.rstrip("/") == "/accounts/v1/tokens":
            await self._token(request, send)
        elif path.rstrip("/") == "/configs/v1/settings":
            await self._api(request, send, "settings", lambda slug: _json(send, 200, {}))
        else:
            await _error(send, 404, f"Route {request.method}:{path} not found")

    # --- the API -----------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> tuple[str | None, str | None]:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                key, _, secret = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None, "malformed basic credentials"
            return self.simulator.authenticate_basic(key, secret)
        if scheme.lower() == "bearer":
            return self.simulator.authenticate_bearer(credentials.strip())
        return None, "missing credentials"

    async def _api(
        self, request: Request, send: Send, endpoint: str, handler: Callable[[str], Awaitable[None]]
    ) -> None:
        """The gateway's part: count, faults, authentication; then the endpoint itself."""
        sim = self.simulator
        if request.method != "GET":
            await _error(send, 405, f"{request.method} not allowed")
            return
        slug, problem = self._authenticate(request)
        sim.enter(endpoint, slug)
        try:
            if await self._faulted(send, endpoint, slug):
                return
            if problem is not None or slug is None:
                await _error(send, 401, problem or "unauthorized")
                return
            if sim.faults.garbage and sim.faults.applies(endpoint, slug) and endpoint != "events":
                await _garbage(send, sim.faults.garbage)
                return
            await handler(slug)
        finally:
            sim.leave(endpoint, slug)

    async def _faulted(self, send: Send, endpoint: str, slug: str | None) -> bool:
        sim = self.simulator
        sim.count(endpoint, slug)
        faults = sim.faults
        if faults.latency_ms and faults.applies(endpoint, slug):
            await asyncio.sleep(faults.latency_ms / 1000)
        status = faults.take_error(endpoint, slug)
        if status is not None:
            await _error(send, status, f"simulated {status}")
            return True
        return False

    async def _list(self, request: Request, send: Send, slug: str) -> None:
        query = parse_list_query(request.params, self.simulator.now())
        world = self.simulator.tenants[slug]
        selected = []
        for job in sorted(world.jobs.values(), key=lambda job: job.created_at, reverse=True):
            if len(selected) >= query.limit:
                break
            if job.type not in jobmod.LISTED_TYPES:
                continue
            function_type = (job.function or {}).get("functionType") or job.request.get("functionType")
            if (
                (query.types and job.type not in query.types)
                or (query.states and job.state not in query.states)
                or (query.function_types and function_type not in query.function_types)
                or (query.created_before and job.created_at >= query.created_before)
                or (query.created_after and job.created_at <= query.created_after)
            ):
                continue
            selected.append(job)
        base = self.simulator.base_url
        await _json(send, 200, {"limit": query.limit, "jobs": [jobmod.summary_document(job, base) for job in selected]})

    async def _get(self, send: Send, slug: str, job_type: str, job_id: str) -> None:
        if job_type not in ALL_JOB_TYPES:
            raise QueryError("type", f"must be equal to one of the allowed values: {', '.join(ALL_JOB_TYPES)}")
        job = self.simulator.tenants[slug].find(job_type, job_id)
        if job is None or job.type not in jobmod.LISTED_TYPES:
            await _error(send, 404, f"Job {job_type}/{job_id} not found")
            return
        await _json(send, 200, jobmod.job_document(job, self.simulator.base_url))

    async def _token(self, request: Request, send: Send) -> None:
        sim = self.simulator
        if request.method != "POST":
            await _error(send, 405, f"{request.method} not allowed")
            return
        try:
            body = request.json()
        except ControlError:
            body = {}
        key, secret = body.get("clientId"), body.get("clientSecret")
        slug, problem = (None, "clientId and clientSecret are required")
        if isinstance(key, str) and isinstance(secret, str):
            slug, problem = sim.authenticate_basic(key, secret)
        if await self._faulted(send, "tokens", slug):
            return
        if problem is not None or slug is None:
            await _error(send, 401, problem or "unauthorized")
            return
        if sim.faults.garbage and sim.faults.applies("tokens", slug):
            await _garbage(send, sim.faults.garbage)
            return
        await _json(send, 200, {"token": sim.issue_token(slug)})

    async def _events(self, request: Request, receive: Receive, send: Send, slug: str) -> None:
        sim = self.simulator
        job_type = request.param("type") or None
        if job_type is not None and job_type not in ALL_JOB_TYPES:
            raise QueryError("type", f"must be equal to one of the allowed values: {', '.join(ALL_JOB_TYPES)}")
        children = parse_bool("children", request.param("children"))
        stream = Stream(slug, job_type, request.param("id") or None, children, request.headers.get("last-event-id"))
        sim.open_stream(stream)
        # Taken in the same step as the registration: an event is either replayed or queued, never both.
        backlog = sim.replay(stream, stream.last_event_id)
        try:
            await _stream(sim, stream, backlog, receive, send)
        finally:
            sim.close_stream(stream)

    # --- control -----------------------------------------------------------------------------

    async def _control(self, request: Request, send: Send) -> None:
        action = request.raw_path[len("/_sim/") :].rstrip("/")
        body = request.json() if request.method == "POST" else {}
        status, document = control.handle(self.simulator, request.method, action, body)
        await _json(send, status, document)


async def _garbage(send: Send, kind: str) -> None:
    if kind == "shape":
        await _json(send, 200, ["not", "the", "documented", "shape"])
    else:
        await _respond(send, 200, b'{"jobs": [{"id": "trunc', b"application/json; charset=utf-8")


_SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def _frame(name: str, text: str) -> bytes:
    return f"event: {name}\ndata: {text}\n\n".encode()


async def _stream(sim: Simulator, stream: Stream, backlog: list[Event], receive: Receive, send: Send) -> None:
    """ack, replay after Last-Event-ID, then live events and keep-alives until the client goes,
    the stream's job finished (`close`), or a drop."""

    async def body(chunk: bytes, more: bool = True) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": more})

    await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
    filters = ", ".join(f"{k}={v}" for k, v in (("type", stream.type), ("id", stream.id)) if v) or "all jobs"
    await body(_frame("ack", f"Listening to job events of {filters}{' and their children' if stream.children else ''}"))
    if sim.faults.garbage and sim.faults.applies("events", stream.tenant):
        await body(b'event: completed\ndata: {"job": {"type": "build", "id": \n\n')
    for event in backlog:
        await body(event.frame)
        if stream.closes_on(event):
            await body(_frame("close", "Job finished. Closing the stream."), more=False)
            return
    if stream.id is not None:
        job = sim.tenants[stream.tenant].find(stream.type, stream.id)
        if job is not None and job.finished:
            await body(_frame("close", f"Job {job.type}/{job.id} is {job.state}. Closing the stream."), more=False)
            return
    disconnect = asyncio.ensure_future(receive())
    item: asyncio.Future[tuple[str, Any]] = asyncio.ensure_future(stream.queue.get())
    try:
        while True:
            done, _ = await asyncio.wait(
                {disconnect, item}, timeout=sim.config.keepalive, return_when=asyncio.FIRST_COMPLETED
            )
            if disconnect in done:
                return
            if item not in done:
                if sim.faults.keepalive:
                    await body(_frame("keep-alive", "keep-alive"))
                continue
            kind, value = item.result()
            item = asyncio.ensure_future(stream.queue.get())
            if kind == "event":
                await body(value.frame)
                if stream.closes_on(value):
                    await body(_frame("close", "Job finished. Closing the stream."), more=False)
                    return
            elif kind == "raw":
                await body(value)
            elif kind == "drop":
                if value == "end":
                    await body(b"", more=False)
                    return
                if value == "mid_event":
                    await body(_half_event(sim, stream.tenant))
                raise AbortConnection(value)
    finally:
        disconnect.cancel()
        item.cancel()


def _half_event(sim: Simulator, slug: str) -> bytes:
    world = sim.tenants.get(slug)
    job = next(iter(world.jobs.values())) if world and world.jobs else None
    if job is None:
        return b'event: active\ndata: {"job": {"ty'
    document = jobmod.event_document(job, sim.base_url, {"prev": "waiting"}, sim.now())
    frame = f"{sim.id_line(sim.event_counter + 1)}event: active\ndata: {json.dumps(document)}\n\n".encode()
    return frame[: len(frame) // 2]


def build_app(config: SimulatorConfig) -> SimulatorApp:
    """The ASGI app for a configuration (see SimulatorConfig); `.simulator` is its state."""
    return SimulatorApp(config)
