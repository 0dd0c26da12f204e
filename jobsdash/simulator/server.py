"""A small HTTP/1.1 server for an ASGI app, on asyncio and h11.

Why not daphne: the simulator must cut connections on purpose (a stream dropped mid-event, a
connection aborted without the final chunk) and stream SSE with no buffering; with a server this
small, what reaches the socket is exactly what the app sent. The app stays plain ASGI: raising
after the response started aborts the connection here as in uvicorn or hypercorn.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import h11

logger = logging.getLogger(__name__)

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]
_MAX_BODY = 1024 * 1024


class AbortConnection(Exception):
    """Raised by the app to drop the TCP connection as it is, without ending the response."""


class ClientDisconnected(OSError):
    """The peer went away while the app was still sending."""


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(65536))


class _Cycle:
    """One request/response on a connection: the ASGI receive/send pair."""

    def __init__(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes
    ) -> None:
        self.conn, self.reader, self.writer = conn, reader, writer
        self.body: bytes | None = body
        self.disconnected = asyncio.Event()
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False
        self.headers_sent = False
        self.complete = False

    async def watch(self) -> None:
        """Notice the client going away (EOF) while the app streams; keep pipelined bytes for h11."""
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.conn.receive_data(data)
        except (OSError, h11.RemoteProtocolError):
            pass
        self.disconnected.set()

    async def receive(self) -> dict[str, Any]:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            self.started = True
            return
        if message["type"] != "http.response.body" or self.complete:
            return
        if self.disconnected.is_set() or self.writer.transport.is_closing():
            raise ClientDisconnected("client disconnected")
        if not self.headers_sent:
            self.headers_sent = True
            headers = [*self.headers, (b"server", b"waylay-simulator")]
            try:
                reason = http.HTTPStatus(self.status).phrase.encode()
            except ValueError:
                reason = b""
            self.writer.write(self.conn.send(h11.Response(status_code=self.status, headers=headers, reason=reason)))
        body = message.get("body", b"")
        if body:
            self.writer.write(self.conn.send(h11.Data(data=body)))
        if not message.get("more_body", False):
            self.writer.write(self.conn.send(h11.EndOfMessage()))
            self.complete = True
        try:
            await self.writer.drain()
        except (OSError, RuntimeError) as exc:
            raise ClientDisconnected(str(exc)) from exc


class Server:
    """Serve `app` on host:port. `port=0` picks a free port; `port` holds the real one after start()."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app, self.host, self.port = app, host, port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=_MAX_BODY)
        self.port = self._server.sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_BODY)
        try:
            while await self._one_cycle(conn, reader, writer):
                conn.start_next_cycle()
        except (OSError, asyncio.IncompleteReadError, ClientDisconnected):
            pass
        except h11.RemoteProtocolError as exc:
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                try:
                    response = h11.Response(
                        status_code=400, headers=[(b"content-length", b"0"), (b"connection", b"close")]
                    )
                    writer.write(conn.send(response) + conn.send(h11.EndOfMessage()))
                except h11.LocalProtocolError:
                    logger.debug("could not answer a malformed request: %s", exc)
        except asyncio.CancelledError:
            # Only close() cancels these tasks. Not re-raised: Python 3.11's start_server callback
            # calls task.exception() on the cancelled task and logs a spurious error.
            writer.transport.abort()
        finally:
            self._connections.discard(task)
            if not writer.transport.is_closing():
                writer.close()

    async def _one_cycle(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; True when the connection can carry another."""
        request = await _next_event(conn, reader)
        if not isinstance(request, h11.Request):
            return False
        body = b""
        while True:
            event = await _next_event(conn, reader)
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                return False
        cycle = _Cycle(conn, reader, writer, body)
        watcher = asyncio.ensure_future(cycle.watch())
        try:
            await self.app(_scope(request, writer), cycle.receive, cycle.send)
        except AbortConnection:
            writer.transport.abort()
            return False
        except ClientDisconnected:
            return False
        except Exception:
            logger.exception("simulator request %s %s failed", request.method.decode(), request.target.decode())
            if cycle.headers_sent:
                writer.transport.abort()
                return False
            await cycle.send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"0")]})
            await cycle.send({"type": "http.response.body", "body": b""})
        finally:
            watcher.cancel()
        if not cycle.complete:
            writer.transport.abort()
            return False
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE and not cycle.disconnected.is_set()


def _scope(request: h11.Request, writer: asyncio.StreamWriter) -> dict[str, Any]:
    target = request.target
    raw_path, _, query = target.partition(b"?")
    client = writer.get_extra_info("peername") or ("", 0)
    server = writer.get_extra_info("sockname") or ("", 0)
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": request.http_version.decode(),
        "method": request.method.decode(),
        "scheme": "http",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.headers],
        "client": tuple(client[:2]),
        "server": tuple(server[:2]),
    }
