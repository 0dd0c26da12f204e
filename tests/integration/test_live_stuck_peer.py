"""A peer that stops reading its live socket, against a real daphne process.

daphne never makes the application's `send` wait: it queues the bytes in Twisted, which writes
them when the socket can take them. So under daphne the relay's queue per socket never fills
(that path is tested with a server that does wait, in test_live_consumer.py), and what bounds
a stuck peer is daphne's keep-alive: a ping every `--ping-interval` seconds that must be
answered within `--ping-timeout`, or the connection is dropped with everything queued for it.
Browsers answer pings themselves, in background tabs too; a peer that reads nothing never does.
A message from the peer would reset daphne's ping timer, so the socket closes on any message
(4008): a peer cannot keep itself alive without reading.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.fixtures.dashboard import PASSWORD, USERNAME, Dashboard, running_dashboard
from tests.fixtures.live import eventually
from tests.fixtures.simulator import Simulator

TIMEOUT = 20.0  # ping interval 1 s + timeout 1 s, checked by daphne every 2 s; generous for CI


@pytest.fixture
def board(sim: Simulator, tmp_path: Path) -> Iterator[Dashboard]:
    with running_dashboard(tmp_path, sim.url, ["--ping-interval", "1", "--ping-timeout", "1"]) as board:
        yield board


def session_cookie(board: Dashboard) -> str:
    with httpx.Client(base_url=board.url, trust_env=False, timeout=10) as client:
        form = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token is not None
        done = client.post(
            "/accounts/login/",
            data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        )
        assert done.status_code == 302, done.text
        return f"sessionid={client.cookies['sessionid']}"


def open_websockets(board: Dashboard) -> float:
    with httpx.Client(base_url=board.url, trust_env=False, timeout=10) as client:
        metrics = client.get("/metrics").text
    found = re.search(r"^jobsdash_open_websockets (\S+)$", metrics, re.MULTILINE)
    assert found is not None, metrics
    return float(found.group(1))


def stuck_peer(board: Dashboard, cookie: str) -> socket.socket:
    """A websocket handshake by hand, on a socket that will never be read again."""
    host = board.url.removeprefix("http://")
    address, port = host.split(":")
    peer = socket.socket()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    peer.connect((address, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    peer.sendall(
        (
            f"GET /ws/t/acme/jobs/ HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {board.url}\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = peer.recv(1)  # byte by byte: leave every frame after the handshake unread
        assert chunk, "the server closed the handshake"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return peer


def masked_text(payload: bytes) -> bytes:
    """A client's text frame (clients must mask), payload under 126 bytes."""
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def say(peer: socket.socket, text: bytes) -> None:
    with contextlib.suppress(OSError):  # once the server has closed it
        peer.sendall(masked_text(text))


@pytest.mark.parametrize("chatty", [False, True], ids=["silent", "sending-but-not-reading"])
async def test_a_peer_that_stops_reading_is_dropped_and_the_others_keep_everything(
    board: Dashboard, sim: Simulator, chatty: bool
) -> None:
    cookie = await asyncio.to_thread(session_cookie, board)
    received: list[str] = []
    uri = board.url.replace("http://", "ws://") + "/ws/t/acme/jobs/"
    async with connect(uri, origin=board.url, additional_headers={"Cookie": cookie}, proxy=None) as healthy:  # type: ignore[arg-type]

        async def read() -> None:  # reading keeps the client answering daphne's pings
            async for message in healthy:
                frame = json.loads(message)
                if frame.get("event") == "waiting":
                    received.append(frame["data"]["job"]["id"])

        reader = asyncio.create_task(read())
        peer = await asyncio.to_thread(stuck_peer, board, cookie)
        try:
            await eventually(lambda: open_websockets(board) == 2, "both sockets to be open", within=TIMEOUT)
            created: list[str] = []
            # A job every half second while the stuck peer's frames pile up unread, until daphne
            # drops it (within about 4 s here; 50 s with daphne's defaults).
            while await asyncio.to_thread(open_websockets, board) > 1:
                if len(created) >= 2 * TIMEOUT:
                    raise AssertionError(f"the stuck peer was not dropped within {TIMEOUT:g} s")
                if chatty:
                    await asyncio.to_thread(say, peer, b'{"alive": true}')
                created.append((await asyncio.to_thread(sim.create_job, "acme", "build"))["id"])
                await asyncio.sleep(0.5)
            created.append((await asyncio.to_thread(sim.create_job, "acme", "build"))["id"])
            await eventually(
                lambda: set(received) >= set(created), "every job's event on the healthy socket", within=TIMEOUT
            )
        finally:
            reader.cancel()
            peer.close()
