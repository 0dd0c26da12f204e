"""A stream that stops stops reading the upstream: nothing may keep an upstream connection open
after its last browser has gone, not even a cancellation that arrives as an event does, or one
that a library loses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobsdash.live import upstream as upstream_module
from jobsdash.live.relay import Stream
from jobsdash.waylay.client import Event


class Upstream:
    """Stands in for `stream_events`: yields what the test puts, records whether it is open.
    With `loses_a_cancellation`, it swallows the first cancellation, as a buggy library might."""

    def __init__(self, loses_a_cancellation: bool = False) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.waiting = asyncio.Event()
        self.open = 0
        self.loses_a_cancellation = loses_a_cancellation

    async def stream_events(self, tenant: Any, **filters: Any) -> AsyncIterator[Event]:
        self.open += 1
        try:
            while True:
                self.waiting.set()
                try:
                    event = await self.events.get()
                except asyncio.CancelledError:
                    if not self.loses_a_cancellation:
                        raise
                    self.loses_a_cancellation = False
                    continue
                self.waiting.clear()
                yield event
        finally:
            self.open -= 1


def keep_alive() -> Event:
    return Event(name="keep-alive", data={}, id=None)


async def test_a_reader_cancelled_as_an_event_arrives_stops(stream: Stream, monkeypatch: pytest.MonkeyPatch) -> None:
    upstream = Upstream()
    monkeypatch.setattr(upstream_module, "stream_events", upstream.stream_events)
    stream.token = "holder"
    assert await stream.relay.state.acquire(stream.sid, stream.token, 60)
    reader = asyncio.create_task(stream._read(None))
    await asyncio.wait_for(upstream.waiting.wait(), 5)  # the reader waits on the upstream
    upstream.events.put_nowait(keep_alive())  # the upstream's keep-alive and the stop, one loop turn
    reader.cancel()
    await asyncio.wait({reader}, timeout=5)
    assert reader.cancelled()  # not reading on with the cancellation lost
    assert upstream.open == 0


async def test_a_stream_stops_even_if_its_upstream_loses_a_cancellation(
    stream: Stream, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = Upstream(loses_a_cancellation=True)
    monkeypatch.setattr(upstream_module, "stream_events", upstream.stream_events)
    stream.ensure_running()
    await asyncio.wait_for(upstream.waiting.wait(), 5)
    assert upstream.open == 1
    owner = stream.owner
    assert owner is not None
    with caplog.at_level(logging.WARNING, logger="jobsdash.live.tasks"):
        await stream.relay.aclose()
    assert owner.done()
    assert upstream.open == 0  # the upstream connection was closed, not left behind
    assert not [r.getMessage() for r in caplog.records if "did not stop" in r.getMessage()]
