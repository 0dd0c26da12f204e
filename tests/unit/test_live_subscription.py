"""How the relay hands frames to sockets: each socket's send in turn, right away (daphne's never
waits); one that waits is given up on after LIVE_SEND_TIMEOUT without holding the others up for
longer, and one that fails ends only its own subscription. And when a subscription tells its
page to refetch: only when a new run of the stream began after the page's data."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from jobsdash.live.delivery import Subscription
from jobsdash.live.frames import Frame, event_frame, status_frame
from jobsdash.live.relay import Stream
from jobsdash.live.state import Run


def frames(*seqs: int) -> list[Frame]:
    return [event_frame(seq, "active", {"job": {"id": f"j{seq}"}}) for seq in seqs]


class Socket:
    """A socket's send: records what it was sent; `hold()` makes the next sends wait."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gate: asyncio.Event | None = None
        self.interrupted = False

    @property
    def seqs(self) -> list[int | None]:
        return [frame.get("seq") for frame in self.sent]

    def hold(self) -> None:
        self.gate = asyncio.Event()

    async def send(self, frame: Frame) -> None:
        self.sent.append(json.loads(frame.text))
        gate = self.gate
        if gate is not None:
            try:
                await gate.wait()
            except asyncio.CancelledError:  # given up on where it waits
                self.interrupted = True
                raise


def subscribe(
    stream: Stream,
    send: Callable[[Frame], Any],
    on_too_slow: Callable[[], None] = lambda: None,
    asof: float | None = None,
) -> Subscription:
    subscription = Subscription(stream, send, on_too_slow, asof)
    stream.subscriptions.add(subscription)
    subscription._held = None  # no catch-up: live from here
    return subscription


async def test_a_frame_reaches_every_socket_during_delivery_when_sends_do_not_wait(stream: Stream) -> None:
    sockets = [Socket() for _ in range(3)]
    for socket in sockets:
        subscribe(stream, socket.send)
    for frame in frames(1, 2):
        await stream.deliver(frame, None)
    assert [socket.seqs for socket in sockets] == [[1, 2]] * 3


async def test_a_send_that_waits_too_long_ends_its_socket_and_the_others_get_every_frame(
    stream: Stream, settings: Any
) -> None:
    settings.LIVE_SEND_TIMEOUT = 0.2
    stuck, before, after = Socket(), Socket(), Socket()
    slow: list[str] = []
    subscribe(stream, before.send)
    subscription = subscribe(stream, stuck.send, on_too_slow=lambda: slow.append("4013"))
    subscribe(stream, after.send)
    stuck.hold()
    for frame in frames(1, 2, 3):
        async with asyncio.timeout(5):
            await stream.deliver(frame, None)
    assert slow == ["4013"]  # once
    assert subscription.ended and subscription not in stream.subscriptions
    assert stuck.interrupted and stuck.seqs == [1]
    assert before.seqs == after.seqs == [1, 2, 3]


async def test_a_send_that_raises_cancelled_at_once_does_not_stop_the_fan_out(stream: Stream) -> None:
    async def cancelled(frame: Frame) -> None:
        raise asyncio.CancelledError

    failing = subscribe(stream, cancelled)
    healthy = Socket()
    subscribe(stream, healthy.send)
    for frame in frames(1, 2):
        await stream.deliver(frame, None)
    assert healthy.seqs == [1, 2]
    assert failing.ended


async def test_a_send_that_fails_ends_only_its_own_subscription(
    stream: Stream, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(frame: Frame) -> None:
        raise ConnectionError("peer gone")

    failing = subscribe(stream, broken)
    healthy = Socket()
    subscribe(stream, healthy.send)
    with caplog.at_level(logging.ERROR, logger="jobsdash.live.delivery"):
        for frame in frames(1, 2):
            await stream.deliver(frame, None)
    assert healthy.seqs == [1, 2]
    assert failing.ended
    assert failing not in stream.subscriptions
    assert sum("sending to a websocket" in record.getMessage() for record in caplog.records) == 1


async def test_a_frame_is_sent_once_even_when_catch_up_and_live_overlap(stream: Stream) -> None:
    socket = Socket()
    subscription = Subscription(stream, socket.send, lambda: None, None)
    stream.subscriptions.add(subscription)
    await stream.deliver(frames(3)[0], None)  # live, while catch-up is being read: held
    assert socket.sent == []
    await subscription.release(frames(2, 3))  # catch-up ends with the same frame
    assert socket.seqs == [2, 3]
    await stream.deliver(frames(4)[0], None)
    assert socket.seqs == [2, 3, 4]


# Reloads ----------------------------------------------------------------------------------------


def reloads(socket: Socket) -> list[int]:
    return [frame["data"]["seq"] for frame in socket.sent if frame["event"] == "reload"]


async def test_a_page_older_than_a_new_run_reloads_once_and_frames_follow(stream: Stream, settings: Any) -> None:
    settings.LIVE_CLOCK_MARGIN = 1.0
    socket = Socket()
    subscribe(stream, socket.send, asof=time.time() - 60)  # the page's data is a minute old
    await stream.deliver(frames(7)[0], None)
    run = Run(2, time.time(), 7)
    await stream.deliver(status_frame("connected"), run)
    await stream.deliver(frames(8)[0], run)  # the same run again, on the next frame: no reload
    assert [frame["event"] for frame in socket.sent] == ["active", "reload", "status", "active"]
    assert reloads(socket) == [7]


async def test_a_run_learned_late_from_a_frame_reloads_before_it(stream: Stream, settings: Any) -> None:
    socket = Socket()
    subscribe(stream, socket.send, asof=time.time() - 60)
    await stream.deliver(frames(3)[0], None)
    # The status announcing run 2 (begun after seq 3) was lost; frame 4 carries the run too.
    await stream.deliver(frames(4)[0], Run(2, time.time(), 3))
    assert [frame["event"] for frame in socket.sent] == ["active", "reload", "active"]
    assert reloads(socket) == [3] and socket.seqs[-1] == 4


async def test_a_page_newer_than_the_run_or_a_socket_without_page_data_does_not_reload(
    stream: Stream, settings: Any
) -> None:
    settings.LIVE_CLOCK_MARGIN = 1.0
    began = time.time() - 30
    fresh, bare = Socket(), Socket()
    subscribe(stream, fresh.send, asof=began + 10)  # fetched ten seconds into the run
    subscribe(stream, bare.send)  # no page data, and it has not seen the stream connected yet
    await stream.deliver(status_frame("connected"), Run(1, began, 0))
    await stream.deliver(frames(1)[0], Run(1, began, 0))
    assert reloads(fresh) == reloads(bare) == []
    # Once it has seen the stream connected, a later gap is one for the bare socket too.
    await stream.deliver(status_frame("connected"), Run(2, time.time() + 5, 1))
    assert reloads(fresh) == reloads(bare) == [1]


async def test_a_run_within_the_clock_margin_of_the_pages_data_reloads(stream: Stream, settings: Any) -> None:
    settings.LIVE_CLOCK_MARGIN = 2.0
    now = time.time()
    socket = Socket()
    subscribe(stream, socket.send, asof=now)
    await stream.deliver(status_frame("connected"), Run(1, now - 1, 0))  # began 1 s before: too close to tell
    assert reloads(socket) == [0]


async def test_a_run_whose_announcement_was_lost_is_learned_from_the_stream_state(
    stream: Stream, settings: Any
) -> None:
    # Another process holds the stream and began a new run; its status message never came. The
    # contender reads the run from the state and the page older than it reloads all the same.
    settings.LIVE_LEASE_TTL = 0.3
    state = stream.relay.state
    assert await state.acquire(stream.sid, "elsewhere", 60)
    assert await state.begin_run(stream.sid, "elsewhere", Run(1, time.time(), 0))
    socket = Socket()
    subscribe(stream, socket.send, asof=time.time() - 60)
    stream.ensure_running()
    deadline = asyncio.get_running_loop().time() + 5
    while not reloads(socket):
        assert asyncio.get_running_loop().time() < deadline, "no reload"
        await asyncio.sleep(0.02)
    assert reloads(socket) == [0]
