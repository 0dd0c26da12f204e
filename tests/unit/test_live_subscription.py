"""How the relay hands frames to sockets: right away when the socket's send does not wait, in a
task of the socket's own (with a bounded queue behind it) when it does, and never in a way that
lets one socket hold up or break the others."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from jobsdash.live.relay import Frame, Stream, Subscription, event_frame, run_eagerly


async def test_run_eagerly_finishes_a_coroutine_that_never_waits_before_returning() -> None:
    done: list[int] = []

    async def quick() -> None:
        done.append(1)

    assert run_eagerly(quick()) is None
    assert done == [1]


async def test_run_eagerly_raises_what_the_coroutine_raised() -> None:
    async def broken() -> None:
        raise ValueError("no socket")

    with pytest.raises(ValueError, match="no socket"):
        run_eagerly(broken())


async def test_run_eagerly_hands_back_the_rest_of_a_coroutine_that_waits() -> None:
    steps: list[str] = []
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def waits() -> None:
        steps.append("before")
        steps.append(await ready)
        await asyncio.sleep(0)  # a bare yield to the loop, too
        steps.append("after")

    rest = run_eagerly(waits())
    assert rest is not None
    assert steps == ["before"]
    task = asyncio.ensure_future(rest)
    ready.set_result("woken")
    await task
    assert steps == ["before", "woken", "after"]


async def test_run_eagerly_passes_errors_and_cancellation_to_where_the_coroutine_waits() -> None:
    loop = asyncio.get_running_loop()
    failing: asyncio.Future[None] = loop.create_future()
    stuck: asyncio.Future[None] = loop.create_future()
    cleaned: list[str] = []

    async def waits_on(future: asyncio.Future[None]) -> None:
        try:
            await future
        finally:
            cleaned.append("finally")

    rest = run_eagerly(waits_on(failing))
    assert rest is not None
    failed = asyncio.ensure_future(rest)
    failing.set_exception(KeyError("gone"))
    with pytest.raises(KeyError):
        await failed

    rest = run_eagerly(waits_on(stuck))
    assert rest is not None
    cancelled = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert stuck.cancelled()
    assert cleaned == ["finally", "finally"]


# Subscriptions ----------------------------------------------------------------------------------


def frames(*seqs: int) -> list[Frame]:
    return [event_frame(seq, "active", {"job": {"id": f"j{seq}"}}) for seq in seqs]


class Socket:
    """A socket's send: records what it was sent; `hold()` makes the next sends wait."""

    def __init__(self) -> None:
        self.sent: list[int | None] = []
        self.gate: asyncio.Event | None = None
        self.interrupted = False

    def hold(self) -> None:
        self.gate = asyncio.Event()

    async def send(self, frame: Frame) -> None:
        self.sent.append(frame.seq)
        gate = self.gate
        if gate is not None:
            try:
                await gate.wait()
            except (asyncio.CancelledError, GeneratorExit):  # cancelled where it waits, or closed
                self.interrupted = True
                raise


def subscribe(
    stream: Stream, socket: Socket, maxsize: int = 3, on_overflow: Callable[[], None] = lambda: None
) -> Subscription:
    subscription = Subscription(stream, maxsize, socket.send, on_overflow)
    stream.subscriptions.add(subscription)
    subscription._release([])  # no catch-up: live from here
    return subscription


async def test_a_frame_reaches_every_socket_during_delivery_when_sends_do_not_wait(stream: Stream) -> None:
    sockets = [Socket() for _ in range(3)]
    for socket in sockets:
        subscribe(stream, socket)
    for frame in frames(1, 2):
        await stream.deliver(frame)
    # Sent by the time delivery returned: no task per socket had to be scheduled.
    assert [socket.sent for socket in sockets] == [[1, 2]] * 3


async def test_a_waiting_send_holds_only_its_own_socket_whose_frames_follow_in_order(stream: Stream) -> None:
    slow, quick = Socket(), Socket()
    subscription = subscribe(stream, slow)
    subscribe(stream, quick)
    slow.hold()
    for frame in frames(1, 2, 3):
        await stream.deliver(frame)
    assert quick.sent == [1, 2, 3]
    assert slow.sent == [1]  # 2 and 3 wait behind the send of 1
    held, slow.gate = slow.gate, None  # what is sent from now on does not wait
    sending = subscription._sending
    assert held is not None and sending is not None
    held.set()
    await asyncio.wait_for(sending, 5)
    assert slow.sent == [1, 2, 3]
    await stream.deliver(frames(4)[0])
    assert slow.sent == [1, 2, 3, 4]  # sent right away again
    assert not subscription.ended


async def test_a_socket_that_overflows_is_ended_once_and_its_stuck_send_cancelled(stream: Stream) -> None:
    stuck, other = Socket(), Socket()
    overflows: list[str] = []
    subscription = subscribe(stream, stuck, maxsize=2, on_overflow=lambda: overflows.append("4013"))
    subscribe(stream, other)
    stuck.hold()
    first, *rest = frames(1, 2, 3, 4, 5)
    await stream.deliver(first)
    sending = subscription._sending
    assert sending is not None
    await asyncio.sleep(0)  # one loop turn: the send of 1 now waits in its task
    for frame in rest:
        await stream.deliver(frame)
    await asyncio.wait_for(asyncio.gather(sending, return_exceptions=True), 5)
    assert sending.cancelled()
    assert overflows == ["4013"]
    assert subscription.ended and subscription.overflowed
    assert stuck.interrupted
    assert stuck.sent == [1]
    assert subscription not in stream.subscriptions
    assert other.sent == [1, 2, 3, 4, 5]


async def test_a_send_ended_before_its_task_ran_is_closed_at_once(stream: Stream) -> None:
    stuck = Socket()
    subscription = subscribe(stream, stuck, maxsize=1, on_overflow=lambda: None)
    stuck.hold()
    for frame in frames(1, 2, 3):  # no loop turn in between: the send of 1 never got to its task
        await stream.deliver(frame)
    assert subscription.overflowed
    assert stuck.interrupted  # its cleanup ran now, not whenever the collector gets to it


async def test_a_send_cancelled_from_elsewhere_ends_its_subscription_rather_than_reorder(stream: Stream) -> None:
    socket = Socket()
    subscription = subscribe(stream, socket)
    socket.hold()
    await stream.deliver(frames(1)[0])
    sending = subscription._sending
    assert sending is not None
    await asyncio.sleep(0)  # one loop turn: the send of 1 now waits in its task
    await stream.deliver(frames(2)[0])  # queued behind 1
    sending.cancel()  # say, the server gave up on the peer
    await asyncio.wait_for(asyncio.gather(sending, return_exceptions=True), 5)
    assert subscription.ended
    socket.gate = None
    await stream.deliver(frames(3)[0])
    assert socket.sent == [1]  # neither 3 before 2, nor 2 late


async def test_a_send_that_raises_cancelled_at_once_does_not_stop_the_fan_out(stream: Stream) -> None:
    async def cancelled(frame: Frame) -> None:
        raise asyncio.CancelledError

    failing = Subscription(stream, 3, cancelled, lambda: None)
    stream.subscriptions.add(failing)
    failing._release([])
    healthy = Socket()
    subscribe(stream, healthy)
    for frame in frames(1, 2):
        await stream.deliver(frame)
    assert healthy.sent == [1, 2]
    assert failing.ended


async def test_a_send_that_fails_ends_only_its_own_subscription(
    stream: Stream, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(frame: Frame) -> None:
        raise ConnectionError("peer gone")

    failing = Subscription(stream, 3, broken, lambda: None)
    stream.subscriptions.add(failing)
    failing._release([])
    healthy = Socket()
    subscribe(stream, healthy)
    with caplog.at_level(logging.ERROR, logger="jobsdash.live.relay"):
        for frame in frames(1, 2):
            await stream.deliver(frame)
    assert healthy.sent == [1, 2]
    assert failing.ended
    assert failing not in stream.subscriptions
    assert sum("sending to a websocket" in record.getMessage() for record in caplog.records) == 1


async def test_a_frame_is_sent_once_even_when_catch_up_and_live_overlap(stream: Stream) -> None:
    socket = Socket()
    subscription = Subscription(stream, 3, socket.send, lambda: None)
    stream.subscriptions.add(subscription)
    await stream.deliver(frames(3)[0])  # live, while catch-up is being read: held
    assert socket.sent == []
    subscription._release(frames(2, 3))  # catch-up ends with the same frame
    assert socket.sent == [2, 3]
