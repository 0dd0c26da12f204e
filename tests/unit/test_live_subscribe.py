"""Subscribing without since=: the socket gets every frame after where the stream stood when it
came, once, even one the lease holder stores and publishes while the socket is joining."""

from __future__ import annotations

import asyncio
import json

import pytest

from jobsdash.live.frames import Frame, event_frame
from jobsdash.live.relay import Relay, Stream, StreamKey
from jobsdash.live.state import Run


async def test_a_frame_stored_while_a_socket_joins_reaches_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    relay = Relay()
    key = StreamKey(1, None, None, False)
    state = relay.state
    assert await state.acquire(key.sid, "holder", 60)  # another process reads the upstream
    assert await state.set_status(key.sid, "holder", "connected")
    frame = event_frame(1, "active", {"job": {"id": "j1"}})
    real_join = relay._join

    async def join_while_the_holder_publishes(stream: Stream) -> None:
        assert await state.append(key.sid, "holder", 1, frame.text, None)
        await real_join(stream)
        message = {"type": "live.frame", "sid": key.sid, "seq": 1, "event": "active", "text": frame.text}
        await relay.send(key, message)  # its live copy, through the channel layer

    monkeypatch.setattr(relay, "_join", join_while_the_holder_publishes)
    sent: list[Frame] = []

    async def send(frame: Frame) -> None:
        sent.append(frame)

    stream = relay.streams[key.sid] = Stream(relay, key, tenant=None)  # type: ignore[arg-type]
    delivered = asyncio.Event()
    deliver = stream.deliver

    async def deliver_and_tell(frame: Frame, run: Run | None) -> None:
        await deliver(frame, run)
        delivered.set()

    monkeypatch.setattr(stream, "deliver", deliver_and_tell)
    try:
        await relay.subscribe(None, key, send)  # type: ignore[arg-type]
        async with asyncio.timeout(5):
            await delivered.wait()  # the live copy went through delivery too
        assert json.loads(sent[0].text) == {"event": "status", "data": {"upstream": "connected", "seq": 0}}
        assert [f.seq for f in sent[1:]] == [1]  # the frame, once
    finally:
        await relay.aclose()
