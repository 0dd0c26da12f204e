"""The relay: one upstream job event stream per (tenant, type, id, children), however many
websockets watch it, fanned out to them in order with a sequence number per stream.

    relay = get_relay()
    async def send(frame: Frame) -> None:        # Frame(seq=13, event="active", text='{"seq":13,...}')
        ...                                       # send frame.text to the socket
    key = StreamKey.of(tenant, "build", job_id, False)
    subscription = await relay.subscribe(tenant, key, send, since=12)   # or asof=<page data time>
    ...
    relay.unsubscribe(subscription)               # when the socket goes

The path of a frame: the lease holder's `Stream` (stream.py) reads the upstream (upstream.py),
numbers each event, stores it in the stream state (state.py: a ring buffer, fenced by the lease)
and publishes it with `Relay.send`, the only caller of `group_send`. Every process watching the
key has joined the key's group on its one channel; its receiver hands each message to the
stream's `deliver`, which fans it out to the local subscriptions (delivery.py). When a stream
cannot prove it missed nothing, pages must refetch: stream.py, "Gaps".

Subscribing, what a socket gets before live frames:
- `since=N`: the buffered frames after N, or a reload when N is before the stream's current run
  or older than the buffer.
- `asof=T` (when the page's data was fetched): the frames published after T (less
  LIVE_CLOCK_MARGIN), which closes the window between a page's render and its socket; or a
  reload when the current run began after T, or the buffer no longer reaches back to T.
- neither: the frames after where the stream stood when it came.

The last socket of a key leaving starts a linger of LIVE_LINGER seconds; then the stream stops
and its upstream connection closes. Timings are settings (settings.py, `LIVE_*`), read when used.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from channels.layers import get_channel_layer
from django.conf import settings

from jobsdash.live import shutdown
from jobsdash.live.delivery import Send, Subscription
from jobsdash.live.frames import STATUS_CONNECTED, Frame, reload_frame, status_frame, stored_frame
from jobsdash.live.state import LocalState, Position, RedisState, Run, StreamState, seq_before
from jobsdash.live.stream import Stream
from jobsdash.live.tasks import STOP_WAIT, cancelling, finish

if TYPE_CHECKING:
    from jobsdash.tenants.models import Tenant

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamKey:
    """What identifies an upstream stream: the tenant and the upstream's own query parameters."""

    tenant_id: int
    job_type: str | None
    job_id: str | None
    children: bool

    @classmethod
    def of(cls, tenant: Tenant, job_type: str | None, job_id: str | None, children: bool) -> StreamKey:
        return cls(tenant.pk, job_type or None, job_id or None, bool(children))

    @property
    def sid(self) -> str:
        """A short ASCII name: group names allow letters, digits, `-_.` and < 100 characters."""
        raw = json.dumps([self.tenant_id, self.job_type, self.job_id, self.children])
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    @property
    def group(self) -> str:
        return f"jobsdash.live.{self.sid}"


class Relay:
    """All streams of this process. Use `get_relay()`; `subscribe` / `unsubscribe` are the API."""

    def __init__(self) -> None:
        buffer_size, retention = settings.LIVE_BUFFER_SIZE, settings.LIVE_STATE_RETENTION
        self.state: StreamState = (
            RedisState(settings.REDIS_URL, buffer_size, retention)
            if settings.REDIS_URL
            else LocalState(buffer_size, retention)
        )
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.streams: dict[str, Stream] = {}
        self.layer = get_channel_layer()
        self._channel: str | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()
        self._membership = asyncio.Lock()  # group_add/discard of one sid must not interleave
        self._stopping: set[asyncio.Task[None]] = set()

    async def subscribe(
        self,
        tenant: Tenant,
        key: StreamKey,
        send: Send,
        since: int | None = None,
        asof: float | None = None,
        on_too_slow: Callable[[], None] = lambda: None,
        dated: bool = False,
    ) -> Subscription:
        """Watch the stream `key` of `tenant`: `send` first gets the current upstream status if
        one is known, then the catch-up (see the module's docstring, "Subscribing") or one reload
        frame, then live frames. `asof`: wall-clock seconds, how old the page's data is. `dated`:
        its job event frames carry their job's creation time (`Frame.created_at`), for a reach
        with a time window."""
        await self._start()
        stream = self.streams.get(key.sid)
        if stream is None:
            stream = self.streams[key.sid] = Stream(self, key, tenant)
        if stream.linger is not None:
            stream.linger.cancel()
            stream.linger = None
        subscription = Subscription(stream, send, on_too_slow, asof if since is None else None, dated)
        stream.subscriptions.add(subscription)
        try:
            # Without since=, the socket's frames are those after where the stream stands now,
            # read before joining: one stored meanwhile comes as catch-up, not lost in between.
            start = since if since is not None else (await self.state.position(key.sid)).seq
            await self._join(stream)
            position = await self.state.position(key.sid)
            first = await self._catch_up(subscription, position, start, since)
        except BaseException:
            subscription.end()
            raise
        await stream.learn(position.run)  # one this process missed: its other sockets decide
        await subscription.release(first)
        stream.ensure_running()
        return subscription

    async def _catch_up(
        self, subscription: Subscription, position: Position, start: int, since: int | None
    ) -> list[Frame]:
        """What a new subscription gets before live frames, and its bookkeeping."""
        run, asof, sid = position.run, subscription.asof, subscription.stream.sid
        subscription.run_number = run.number if run is not None else 0
        stale = since is not None and run is not None and since <= run.seq
        if since is None and asof is not None and run is not None:
            margin = settings.LIVE_CLOCK_MARGIN
            if asof < run.at + margin:
                stale = True  # the page's data is from before the run: it may miss anything
            else:
                current, times = await self.state.times(sid)
                published_before = seq_before(current, times, asof - margin, run.seq)
                if published_before is None:
                    stale = True  # the buffer no longer reaches back to the page's data
                else:
                    start = min(start, published_before)
        if since is not None or asof is None:
            # A socket without page data is as of the first moment it sees the stream connected.
            subscription.asof = time.time() if since is not None or position.status == STATUS_CONNECTED else None
        texts = None if stale else await self.state.since(sid, start)
        status = [status_frame(position.status, start if since is None else None)] if position.status else []
        if texts is None:
            subscription.last_seq = position.seq
            subscription.asof = time.time()
            # A page learns that its data is out of date before it learns that the stream is
            # connected, so it never says "Live" in between; since= keeps the order it always had.
            return [*status, reload_frame(position.seq)] if since is not None else [reload_frame(position.seq), *status]
        subscription.last_seq = start
        frames = [stored_frame(text) for text in texts]
        if subscription.dated:
            frames = [await subscription.stream.dated(frame) for frame in frames]
        return [*status, *frames]

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop watching (idempotent): nothing more is sent to it."""
        subscription.end()

    def leave(self, subscription: Subscription) -> None:
        """Subscription.end's bookkeeping: the last one to leave a stream starts its linger."""
        stream = subscription.stream
        stream.subscriptions.discard(subscription)
        if stream.subscriptions or stream.linger is not None or self.streams.get(stream.sid) is not stream:
            return
        stream.linger = asyncio.get_running_loop().call_later(settings.LIVE_LINGER, self._linger_over, stream)

    def _linger_over(self, stream: Stream) -> None:
        stream.linger = None
        if stream.subscriptions or self.streams.get(stream.sid) is not stream:
            return
        del self.streams[stream.sid]
        task = asyncio.create_task(self._stop(stream))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _stop(self, stream: Stream) -> None:
        logger.info("stream %s: no more subscribers; closing it", stream.sid)
        if stream.owner is not None:
            await finish(stream.owner, f"stream {stream.sid}")
        async with self._membership:
            if stream.sid not in self.streams and self._channel is not None:
                try:
                    async with asyncio.timeout(STOP_WAIT):
                        await self.layer.group_discard(stream.key.group, self._channel)
                except Exception as exc:  # the group entry expires by itself
                    logger.warning("stream %s: could not leave its group: %r", stream.sid, exc)

    async def _join(self, stream: Stream) -> None:
        if stream.joined is None:
            stream.joined = asyncio.get_running_loop().create_future()
            try:
                async with self._membership:
                    await self.layer.group_add(stream.key.group, self._channel)
            except BaseException as exc:
                stream.joined.set_exception(exc)
                stream.joined.exception()  # retrieved: no "never retrieved" warning
                stream.joined = None
                raise
            stream.joined.set_result(None)
        await asyncio.shield(stream.joined)

    async def _start(self) -> None:
        if self._receiver is not None:
            return
        async with self._start_lock:
            if self._receiver is None:
                self._channel = await self.layer.new_channel("jobsdash.live.")
                self._receiver = asyncio.create_task(self._receive(), name="live-receiver")

    async def _receive(self) -> None:
        assert self._channel is not None
        while True:
            try:
                message = await self.layer.receive(self._channel)
                stream = self.streams.get(message.get("sid", ""))
                if stream is None:
                    continue
                run = Run.from_wire(message.get("run"))
                if message["type"] == "live.frame":
                    await stream.deliver(Frame(message["seq"], message["event"], message["text"]), run)
                elif message["type"] == "live.status":
                    await stream.deliver(status_frame(message["status"]), run)
                elif message["type"] == "live.released":
                    stream.lease_released()
            except asyncio.CancelledError:
                raise
            except Exception:
                if cancelling():
                    raise
                logger.exception("live receiver failed on a message; continuing")
                await asyncio.sleep(0.1)  # a broken layer must not spin

    async def send(self, key: StreamKey, message: dict[str, Any]) -> None:
        await self.layer.group_send(key.group, message)

    async def aclose(self) -> None:
        """Stop every stream now (tests, shutdown): no linger; held leases are released."""
        # The receiver first: what it would still deliver no longer matters, and the streams'
        # goodbyes (a released lease) then find no receive of this loop under way. channels_redis
        # holds a lock per receiving process until a receive's cleanup task ran, and a loop that
        # ends before that leaves the lock held for the next loop of the process (tests).
        if self._receiver is not None:
            await finish(self._receiver, "the live receiver")
        loop = asyncio.get_running_loop()
        cleanups = [t for t in getattr(self.layer, "receive_cleaners", ()) if t.get_loop() is loop and not t.done()]
        if cleanups:  # the last receive's, which releases that lock
            await asyncio.wait(cleanups, timeout=STOP_WAIT)
        for stream in list(self.streams.values()):
            if stream.linger is not None:
                stream.linger.cancel()
            self.streams.pop(stream.sid, None)
            await self._stop(stream)
        if self._stopping:
            await asyncio.wait(set(self._stopping), timeout=STOP_WAIT)
        try:
            async with asyncio.timeout(STOP_WAIT):
                await self.state.aclose()
        except Exception as exc:
            logger.warning("could not close the stream state store: %r", exc)


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay] = weakref.WeakKeyDictionary()


def get_relay() -> Relay:
    """The relay of the running event loop (daphne runs one; tests one per test)."""
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None:
        relay = _relays[loop] = Relay()
        shutdown.before_server_stops(aclose_relay)
    return relay


async def aclose_relay() -> None:
    """Stop the running loop's relay, if any (tests' teardown, shutdown)."""
    relay = _relays.pop(asyncio.get_running_loop(), None)
    if relay is not None:
        await relay.aclose()
