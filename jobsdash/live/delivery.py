"""How frames reach one socket: a `Subscription` is one socket's view of a stream. It sends each
numbered frame once and in order, holds live frames while its catch-up is being read, and
decides when its page must refetch (`reload`). It must not read the stream state or the
channel layer: the relay hands it everything it sends.

Delivery is plain: the fan-out awaits each socket's send in turn. daphne's send never waits (it
hands the bytes to Twisted, which writes them when the socket can take them), so under daphne a
frame reaches every socket in one pass with nothing queued per socket. A send that does wait (a
server with backpressure, a stuck peer) holds the others up for at most LIVE_SEND_TIMEOUT; then
that socket's subscription ends and `on_too_slow` is called once (the consumer closes it with
4013). A send that raises ends its own subscription only.

When the page must refetch (`on_run`): the subscription knows how old its page's data is
(`asof`, wall-clock seconds: what the page said at subscribe, or for a socket without page data
the first moment it saw the stream connected), and which run of the stream it is consistent
with. Told of a newer run that began after `asof` (less LIVE_CLOCK_MARGIN), it sends a reload
frame, and frames follow from its seq + 1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings

from jobsdash.live.frames import STATUS_CONNECTED, Frame, reload_frame
from jobsdash.live.state import Run
from jobsdash.live.tasks import cancelling

if TYPE_CHECKING:
    from jobsdash.live.relay import Stream

logger = logging.getLogger(__name__)

Send = Callable[[Frame], Awaitable[None]]


class Subscription:
    def __init__(
        self, stream: Stream, send: Send, on_too_slow: Callable[[], None], asof: float | None, dated: bool = False
    ) -> None:
        self.stream = stream
        self.dated = dated  # its job events must carry their job's creation time (Stream.dated)
        self._send = send
        self._on_too_slow = on_too_slow
        self.asof = asof
        self.run_number = 0  # the run of the stream this subscription's page is consistent with
        self.last_seq: int | None = None
        self.ended = False
        # Live frames that arrive while catch-up is being read; sent after it (see release).
        self._held: list[Frame] | None = []

    async def put(self, frame: Frame, releasing: bool = False) -> None:
        """Send `frame` now (numbered frames once each, in order), or hold it during catch-up.
        One coroutine per socket and frame on the fan-out path: it is the hot loop."""
        if self.ended:
            return
        if self._held is not None and not releasing:
            self._held.append(frame)
            return
        if frame.seq is not None:
            if self.last_seq is not None and frame.seq <= self.last_seq:
                return  # already sent (catch-up and live overlap, or a gap refill)
            self.last_seq = frame.seq
        elif frame.upstream == STATUS_CONNECTED and self.asof is None:
            self.asof = time.time()  # no page data: as of the first moment it sees the stream connected
        try:
            await self._send(frame)
        except asyncio.CancelledError:
            if cancelling():  # ours: the fan-out's bound, or a shutdown
                raise
            self._failed()  # the send's own, from elsewhere: this socket's, not the fan-out's
        except Exception:
            self._failed()

    async def release(self, first: list[Frame]) -> None:
        """Send the catch-up `first`, then what was held meanwhile, then go live."""
        frames = first
        try:
            async with asyncio.timeout(settings.LIVE_SEND_TIMEOUT):
                while True:
                    for frame in frames:
                        await self.put(frame, releasing=True)
                    if not self._held:
                        break
                    frames, self._held = self._held, []
        except TimeoutError:
            self.too_slow()
        self._held = None

    async def on_run(self, run: Run) -> None:
        """The stream's run `run` began: reload if the page's data may be from before it."""
        if run.number <= self.run_number or self.ended:
            return
        self.run_number = run.number
        if self.asof is None:
            return  # no page data, and it has not seen the stream connected: nothing to refetch
        if self.asof >= run.at + settings.LIVE_CLOCK_MARGIN:
            return
        self.asof = time.time()
        seq = max(self.last_seq or 0, run.seq)
        self.last_seq = seq
        await self.put(reload_frame(seq))

    def too_slow(self) -> None:
        if self.ended:
            return
        logger.info(
            "a websocket of stream %s did not take a frame within %g s; closing it",
            self.stream.sid,
            settings.LIVE_SEND_TIMEOUT,
        )
        self.end()
        self._on_too_slow()

    def _failed(self) -> None:
        logger.exception("sending to a websocket of stream %s failed; it gets no more frames", self.stream.sid)
        self.end()

    def end(self) -> None:
        """Send nothing more; leave the stream (idempotent)."""
        if self.ended:
            return
        self.ended = True
        self._held = None
        self.stream.relay.leave(self)


async def each(subscriptions: Iterable[Subscription], step: Callable[..., Awaitable[None]], *args: Any) -> None:
    """`step(subscription, *args)` for each subscription in turn (`Subscription.put` a frame,
    `Subscription.on_run` a run); one that waits longer than LIVE_SEND_TIMEOUT ends as too slow,
    and the others go on. One timer per call, not per socket: under daphne no send waits, so
    the bound never fires and costs nothing per socket."""
    remaining = iter(subscriptions)
    while True:
        current: Subscription | None = None
        try:
            async with asyncio.timeout(settings.LIVE_SEND_TIMEOUT):
                for current in remaining:
                    await step(current, *args)
            return
        except TimeoutError:
            if current is not None:
                current.too_slow()
