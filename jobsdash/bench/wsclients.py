"""Many websocket clients in one event loop, timing when each receives each benchmark event.

    pool = SocketPool(url, origin="http://127.0.0.1:8000", cookie="sessionid=...")
    await pool.connect(1000)
    pool.expect(seq=1)              # before triggering event 1 upstream
    ...                             # trigger it
    await pool.delivered(1, within=15)
    pool.latencies[1]               # seconds from pool.sent[1] to each socket's receipt

A benchmark event is any text frame containing `"benchSeq": N`; it is found with a regular
expression rather than decoding the JSON, so the clients cost as little as possible next to the
server they measure. Other frames (status, ack) are counted and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

_MARK = re.compile(r'"benchSeq":\s*(\d+)')


class SocketPool:
    def __init__(self, url: str, origin: str | None = None, cookie: str = "", open_timeout: float = 60.0) -> None:
        self.url, self.origin, self.cookie, self.open_timeout = url, origin, cookie, open_timeout
        self.connections: list[ClientConnection] = []
        self.readers: set[asyncio.Task[None]] = set()
        self.sent: dict[int, float] = {}
        self.latencies: dict[int, list[float]] = {}
        self.expected: dict[int, int] = {}  # seq -> sockets open when it was triggered
        self._done: dict[int, asyncio.Event] = {}
        self.frames = 0
        self.connect_errors: list[str] = []
        self.dropped = 0  # sockets the server closed while we still listened
        self._closing = False

    @property
    def open(self) -> int:
        return len(self.connections) - self.dropped

    async def connect(self, count: int, parallel: int = 50) -> None:
        """Open `count` more sockets, `parallel` handshakes at a time; failures go to connect_errors."""
        gate = asyncio.Semaphore(parallel)

        async def one() -> None:
            async with gate:
                headers = {"Cookie": self.cookie} if self.cookie else None
                try:
                    connection = await connect(
                        self.url,
                        origin=self.origin,  # type: ignore[arg-type]
                        additional_headers=headers,
                        compression=None,
                        proxy=None,
                        open_timeout=self.open_timeout,
                        ping_interval=None,  # the server pings; the client only answers
                        max_queue=None,
                    )
                except (OSError, TimeoutError, InvalidHandshake, InvalidStatus) as exc:
                    self.connect_errors.append(f"{type(exc).__name__}: {exc}")
                    return
            self.connections.append(connection)
            reader = asyncio.create_task(self._read(connection))
            self.readers.add(reader)

        await asyncio.gather(*(one() for _ in range(count)))

    def expect(self, seq: int) -> None:
        """Event `seq` is about to be triggered: every socket open now should receive it."""
        self.expected[seq] = self.open
        self.latencies[seq] = []
        self._done[seq] = asyncio.Event()
        self.sent[seq] = time.perf_counter()

    async def delivered(self, seq: int, within: float) -> bool:
        """Wait until every socket open at `expect(seq)` got event `seq`; False on timeout."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._done[seq].wait()
        return self._done[seq].is_set()

    async def _read(self, connection: ClientConnection) -> None:
        try:
            async for message in connection:
                now = time.perf_counter()
                self.frames += 1
                match = _MARK.search(message if isinstance(message, str) else message.decode(errors="replace"))
                if match is None:
                    continue
                seq = int(match.group(1))
                latencies = self.latencies.get(seq)
                if latencies is None:
                    continue
                latencies.append(now - self.sent[seq])
                if len(latencies) >= self.expected[seq]:
                    self._done[seq].set()
        except ConnectionClosed:
            pass
        finally:
            if not self._closing:
                self.dropped += 1

    async def close(self) -> None:
        self._closing = True
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(connection.close() for connection in self.connections), return_exceptions=True)
        self.connections.clear()
        self.readers.clear()
