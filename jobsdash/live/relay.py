"""The relay: one upstream job event stream per (tenant, type, id, children), however many
websockets watch it, fanned out to them in order with a sequence number per stream.

    relay = get_relay()
    async def send(frame: Frame) -> None:        # Frame(seq=13, event="active", text='{"seq": 13, ...}')
        ...                                       # send frame.text to the socket
    subscription = await relay.subscribe(tenant, StreamKey.of(tenant, "build", job_id, False), send, since=12)
    ...
    relay.unsubscribe(subscription)               # when the socket goes

How it is built (the only caller of `group_send`):
- A `Relay` per process (per event loop) keeps a `Stream` per key watched by this process's
  sockets, and one channel-layer channel through which it receives the frames of all of them.
- Each `Stream` runs an owner task that contends for the stream's lease (`state.py`): without
  Redis every process holds its own leases (one upstream connection per key per process); with
  REDIS_URL the lease is in Redis, renewed every third of LIVE_LEASE_TTL, so exactly one process
  of the deployment reads the upstream, and another takes over within about LIVE_LEASE_TTL when
  it dies. The holder numbers the events (continuing the stored sequence), stores them in the ring
  buffer, invalidates the cache for job events, then `group_send`s them: every process watching
  the key has joined its group and hands each frame to its local subscriptions.
- A subscription sends each frame to its socket right away when the server takes it without
  waiting (daphne always does), in the one loop that fans the frame out; a send that has to wait
  carries on in a task while later frames wait in a bounded queue per socket. A socket that
  overflows it is closed (4013) instead of holding up the others or growing memory.
- A process that sees a gap in the sequence (the channel layer drops messages silently when a
  channel is full) fills it from the ring buffer, or tells its sockets to reload.
- The upstream connection reconnects on any drop with exponential backoff and full jitter, sends
  `Last-Event-ID`, and a watchdog reconnects when neither events nor keep-alives came for
  LIVE_WATCHDOG seconds. Credentials errors are reported once (`unauthorized`) and retried slowly.
- The last socket of a key leaving starts a linger of LIVE_LINGER seconds; then the stream stops
  and its upstream connection closes.

Timings come from settings, read when used (defaults below): LIVE_LINGER, LIVE_BACKOFF_BASE,
LIVE_BACKOFF_MAX, LIVE_UNAUTHORIZED_RETRY, LIVE_WATCHDOG, LIVE_BUFFER_SIZE, LIVE_QUEUE_SIZE,
LIVE_LEASE_TTL, LIVE_STATE_RETENTION.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import random
import socket
import types
import uuid
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from channels.layers import get_channel_layer
from django.conf import settings

from jobsdash.jobs import cache as job_cache
from jobsdash.live.state import LocalState, RedisState, StreamState
from jobsdash.ops.metrics import EVENTS_RELAYED, OPEN_UPSTREAM_STREAMS, RELAY_RECONNECTS
from jobsdash.waylay.client import JOB_EVENTS, Event, stream_events
from jobsdash.waylay.errors import CredentialsRejected

if TYPE_CHECKING:
    from jobsdash.tenants.models import Tenant

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, float] = {
    "LIVE_LINGER": 10.0,  # seconds an unwatched upstream stream stays open
    "LIVE_BACKOFF_BASE": 0.5,  # first reconnect delay bound, doubled per failed attempt
    "LIVE_BACKOFF_MAX": 30.0,
    "LIVE_UNAUTHORIZED_RETRY": 60.0,  # retry period while the upstream refuses the credentials
    "LIVE_WATCHDOG": 45.0,  # the registry sends a keep-alive every few seconds
    "LIVE_BUFFER_SIZE": 500,  # frames kept per stream for since= catch-up
    "LIVE_QUEUE_SIZE": 256,  # frames queued per socket before it counts as too slow
    "LIVE_LEASE_TTL": 5.0,  # with Redis: how long a dead holder keeps a stream
    "LIVE_STATE_RETENTION": 3600.0,  # how long a stream's sequence and buffer outlive it
}

STATUS_CONNECTED = "connected"
STATUS_RECONNECTING = "reconnecting"
STATUS_UNAUTHORIZED = "unauthorized"

# Close codes a server may send are 1000 or 3000-4999 (autobahn, under daphne, refuses others,
# as browsers' WebSocket.close() does): 4000 + the RFC 6455 code they stand for.
CLOSE_TOO_SLOW = 4013  # 1013 "try again later": the socket could not keep up


def _cancelling() -> bool:
    """Whether the running task was asked to stop. Some libraries (redis-py's timeouts) turn a
    cancellation into their own exception; loops that retry on any exception check this."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def live_setting(name: str) -> float:
    return getattr(settings, name, DEFAULTS[name])


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


@dataclass(frozen=True)
class Frame:
    """One websocket message, serialized once for all sockets. `seq` is None for status/reload."""

    seq: int | None
    event: str
    text: str


def event_frame(seq: int, name: str, data: Any) -> Frame:
    return Frame(seq, name, json.dumps({"seq": seq, "event": name, "data": data}, separators=(",", ":")))


def status_frame(status: str, seq: int | None = None) -> Frame:
    data: dict[str, Any] = {"upstream": status}
    if seq is not None:
        data["seq"] = seq
    return Frame(None, "status", json.dumps({"event": "status", "data": data}))


def reload_frame(seq: int | None) -> Frame:
    return Frame(None, "reload", json.dumps({"event": "reload", "data": {"seq": seq}}))


def _seq_of(text: str) -> int:
    return json.loads(text)["seq"]


Send = Callable[[Frame], Awaitable[None]]


class Subscription:
    """One socket's view of a stream: frames go to its `send`, in order, each once.

    A send that completes without waiting runs right away, in the loop that fans the frame out,
    with no queue or task of the socket's own in between. daphne's always do: they hand the bytes
    to Twisted, which writes them when the socket can take them. A send that has to wait (a
    server with backpressure, a stuck peer) carries on in a task, and the frames that arrive
    meanwhile wait in a bounded queue. If the queue overflows, the subscription ends:
    `on_overflow` is called once (the consumer closes its socket with 4013) and nothing more is
    sent. A send that raises ends the subscription too, after logging.
    """

    def __init__(self, stream: Stream, maxsize: int, send: Send, on_overflow: Callable[[], None]) -> None:
        self.stream = stream
        self._send = send
        self._frames: deque[Frame] = deque()  # waiting for a send that is still running
        self._maxsize = maxsize
        self._sending: asyncio.Task[None] | None = None
        self._rest: Awaitable[None] | None = None  # what is left of a send that had to wait
        self.last_seq: int | None = None
        self.ended = False
        self.overflowed = False
        self._on_overflow = on_overflow
        # Live frames that arrive while catch-up is being read; sent after it.
        self._held: list[Frame] | None = []

    def offer(self, frame: Frame) -> None:
        if self._held is not None:
            self._held.append(frame)
        else:
            self._put(frame)

    def _release(self, first: list[Frame]) -> None:
        held, self._held = self._held or [], None
        for frame in (*first, *held):
            self._put(frame)

    def _put(self, frame: Frame) -> None:
        if self.ended:
            return
        if frame.seq is not None:
            if self.last_seq is not None and frame.seq <= self.last_seq:
                return  # already sent (catch-up and live overlap, or a gap refill)
            self.last_seq = frame.seq
        if self._sending is None:
            self._send_now(frame)
        elif len(self._frames) >= self._maxsize:
            logger.info(
                "a websocket of stream %s fell %d frames behind; closing it", self.stream.sid, len(self._frames)
            )
            self.overflowed = True
            self.end()
            self._on_overflow()
        else:
            self._frames.append(frame)

    def _send_now(self, frame: Frame) -> None:
        try:
            rest = run_eagerly(self._send(frame))
        except (Exception, asyncio.CancelledError):  # not the fan-out's to raise: this socket's
            self._failed()
            return
        if rest is None:
            return
        if self.ended:  # the send ended its own subscription, then waited: nothing more to do
            _close(rest)
            return
        self._rest = rest
        self._sending = asyncio.get_running_loop().create_task(self._send_later(rest))

    async def _send_later(self, rest: Awaitable[None]) -> None:
        try:
            await rest
            self._rest = None
            while self._frames and not self.ended:
                await self._send(self._frames.popleft())
        except Exception:
            self._failed()
        except asyncio.CancelledError:
            if not self.ended:  # not by end(): whatever is queued can no longer go out in order
                self.end()
            raise
        finally:
            if self._sending is asyncio.current_task():
                self._sending = None

    def _failed(self) -> None:
        logger.exception("sending to a websocket of stream %s failed; it gets no more frames", self.stream.sid)
        self.end()

    def end(self) -> None:
        """Send nothing more; stop a send still running. Leaves the stream (idempotent)."""
        if self.ended:
            return
        self.ended = True
        self._frames.clear()
        sending, self._sending = self._sending, None
        rest, self._rest = self._rest, None
        if sending is not None and sending is not asyncio.current_task():
            if rest is not None:
                _close(rest)  # now, even if its task has not started yet
            sending.cancel()
        self.stream.relay._leave(self)


def run_eagerly(coroutine: Coroutine[Any, Any, None]) -> Awaitable[None] | None:
    """Run `coroutine` now, as part of the calling task, until it finishes or first has to wait.
    None if it finished (an exception it raised is raised here); otherwise an awaitable that
    finishes it, to be awaited once (in a task): what it waits on is handed on, and cancelling
    the awaiting task cancels the coroutine where it waits. Python 3.12's eager tasks do much the
    same, but here the first step runs with the caller's `current_task()` and context, so the
    coroutine must not depend on which task runs it (a socket's send does not). It spares a task
    per socket and per frame on the fan-out path."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    return _carry_on(coroutine, waiting_on)


@types.coroutine
def _carry_on(coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> Generator[Any, Any, None]:
    while True:
        try:
            yield waiting_on  # the awaiting task waits on it, as if `coroutine` had yielded it
        except GeneratorExit:  # closed: close it too
            coroutine.close()
            raise
        except BaseException as exc:  # cancelled there, or thrown in: pass it on
            try:
                waiting_on = coroutine.throw(exc)
            except StopIteration:
                return
            continue
        yield from coroutine  # type: ignore[misc]  # resumes it: the rest runs in the awaiting task
        return


def _close(rest: Awaitable[None]) -> None:
    """Close what run_eagerly handed back, so the send's cleanup runs now."""
    closing = getattr(rest, "close", None)
    if closing is not None:
        closing()


class Stream:
    """This process's side of one upstream stream: its local subscriptions and its owner task
    (lease contender, and upstream reader while it holds the lease)."""

    def __init__(self, relay: Relay, key: StreamKey, tenant: Tenant) -> None:
        self.relay = relay
        self.key = key
        self.sid = key.sid
        self.tenant = tenant
        self.subscriptions: set[Subscription] = set()
        self.joined: asyncio.Future[None] | None = None
        self.owner: asyncio.Task[None] | None = None
        self.linger: asyncio.TimerHandle | None = None
        self.last_seq: int | None = None  # last frame handed to local subscriptions
        self.finished = False  # upstream sent `close`: do not reconnect until someone subscribes anew
        self.token = ""  # the lease token of the running owner (see _own)
        # Holder-only state.
        self._seq = 0
        self._status: str | None = None

    # Local delivery -----------------------------------------------------------------------------

    async def deliver(self, frame: Frame) -> None:
        if frame.seq is not None:
            if self.last_seq is not None and frame.seq <= self.last_seq:
                return
            if self.last_seq is not None and frame.seq > self.last_seq + 1:
                await self._fill_gap(self.last_seq, frame.seq)
            self.last_seq = frame.seq
        for subscription in list(self.subscriptions):
            subscription.offer(frame)
        if frame.event == "close":
            self.finish()

    async def _fill_gap(self, after: int, before: int) -> None:
        texts = await self.relay.state.since(self.sid, after)
        if texts is None:
            logger.warning("stream %s: frames %d..%d lost and no longer buffered", self.sid, after + 1, before - 1)
            for subscription in list(self.subscriptions):
                subscription.offer(reload_frame(before - 1))
            return
        logger.info("stream %s: refilled frames %d..%d from the buffer", self.sid, after + 1, before - 1)
        for text in texts:
            frame = json.loads(text)
            if frame["seq"] < before:
                for subscription in list(self.subscriptions):
                    subscription.offer(Frame(frame["seq"], frame["event"], text))

    def finish(self) -> None:
        """The watched job finished: stop contending/reading until a new subscription comes."""
        self.finished = True
        if self.owner is not None and self.owner is not asyncio.current_task():
            self.owner.cancel()

    def ensure_running(self) -> None:
        # A finished stream's owner is cancelled or returning; a new subscriber needs a new one.
        if self.owner is None or self.owner.done() or self.finished:
            self.finished = False
            self.owner = asyncio.create_task(self._own(), name=f"live-stream-{self.sid}")
            self.owner.add_done_callback(_retrieve)

    # Lease and upstream -------------------------------------------------------------------------

    async def _own(self) -> None:
        state = self.relay.state
        # A token per owner run: a cancelled run releasing late cannot release its successor's lease.
        token = self.token = f"{self.relay.token}:{uuid.uuid4().hex[:12]}"
        while not self.finished:
            ttl = live_setting("LIVE_LEASE_TTL")
            try:
                held = await state.acquire(self.sid, token, ttl)
            except Exception as exc:  # Redis down: keep trying, quietly (no traceback every few seconds)
                if _cancelling():
                    raise
                logger.warning("stream %s: could not ask for the lease: %s", self.sid, exc)
                held = False
            if not held:
                await asyncio.sleep(ttl / 3)
                continue
            try:
                closed = await self._hold(ttl)
            except Exception:
                if _cancelling():
                    raise
                logger.exception("stream %s: holding the lease failed", self.sid)
                closed = False
                await asyncio.sleep(ttl / 3)
            finally:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(_STOP_WAIT):
                        await state.release(self.sid, token)
            if closed:
                return

    async def _hold(self, ttl: float) -> bool:
        """Read the upstream while renewing the lease. True when the upstream sent `close`."""
        position = await self.relay.state.position(self.sid)
        # Never number backwards in this process, even if the shared state was lost (Redis flushed).
        self._seq = max(position.seq, self._seq, self.last_seq or 0)
        self._status = position.status
        logger.info("stream %s: holding the lease from seq %d", self.sid, self._seq)
        reader = asyncio.create_task(self._read(position.last_event_id), name=f"live-upstream-{self.sid}")
        # A reader cancelled mid-read may end with the library's error instead of CancelledError;
        # mark it retrieved even if we are cancelled before looking at it.
        reader.add_done_callback(_retrieve)
        try:
            while True:
                done, _ = await asyncio.wait({reader}, timeout=ttl / 3)
                if done:
                    try:
                        reader.result()
                    except _LeaseLost:
                        logger.warning("stream %s: another process holds it now", self.sid)
                        return False
                    return True
                try:
                    renewed = await self.relay.state.renew(self.sid, self.token, ttl)
                except Exception as exc:
                    if _cancelling():
                        raise
                    logger.warning("stream %s: could not renew the lease: %s", self.sid, exc)
                    renewed = False
                if not renewed:
                    logger.warning("stream %s: lost the lease; stopping the upstream connection", self.sid)
                    return False
        finally:
            await _cancel(reader, f"the upstream reader of stream {self.sid}")

    async def _read(self, last_event_id: str | None) -> None:
        """Read the upstream until `close`, reconnecting on anything else. Returns after `close`."""
        OPEN_UPSTREAM_STREAMS.inc()
        try:
            await self._read_until_close(last_event_id)
        finally:
            OPEN_UPSTREAM_STREAMS.dec()

    async def _read_until_close(self, last_event_id: str | None) -> None:
        attempt = 0
        while True:
            connected = False
            try:
                async with contextlib.aclosing(
                    stream_events(
                        self.tenant,
                        job_type=self.key.job_type,
                        job_id=self.key.job_id,
                        children=self.key.children,
                        last_event_id=last_event_id,
                    )
                ) as events:
                    while True:
                        try:
                            async with asyncio.timeout(live_setting("LIVE_WATCHDOG")):
                                event = await anext(events)
                        except StopAsyncIteration:
                            break
                        if not connected:
                            connected = True
                            await self._set_status(STATUS_CONNECTED)
                        if event.name != "ack":
                            attempt = 0  # a stream that only acks then ends still backs off
                        if event.name == "keep-alive":
                            continue
                        if event.id:
                            last_event_id = event.id
                        if event.name == "close":
                            # Before the browsers hear of it (they leave, and the stream may be
                            # cancelled): a later connection for this finished job starts afresh.
                            await self.relay.state.forget_event_id(self.sid, self.token)
                            await self._publish(event, None)
                            return
                        await self._publish(event, last_event_id)
                reason = "the upstream ended the stream"
            except TimeoutError:
                reason = f"no event or keep-alive for {live_setting('LIVE_WATCHDOG'):g} s"
            except CredentialsRejected as exc:
                logger.warning("stream %s: %s; retrying slowly", self.sid, exc)
                await self._set_status(STATUS_UNAUTHORIZED)
                await asyncio.sleep(live_setting("LIVE_UNAUTHORIZED_RETRY") * random.uniform(0.8, 1.2))
                await self._refresh_tenant()  # credentials may have been fixed meanwhile
                continue
            except _LeaseLost:
                raise
            except Exception as exc:  # whatever the upstream does, the relay keeps going
                if _cancelling():
                    raise
                reason = f"{type(exc).__name__}: {exc}"
            cap = min(live_setting("LIVE_BACKOFF_MAX"), live_setting("LIVE_BACKOFF_BASE") * 2**attempt)
            delay = random.uniform(cap / 2, cap)
            logger.info("stream %s: %s; reconnecting in %.2f s", self.sid, reason, delay)
            if self._status != STATUS_UNAUTHORIZED:
                await self._set_status(STATUS_RECONNECTING)
            attempt += 1
            RELAY_RECONNECTS.inc()
            await asyncio.sleep(delay)

    async def _publish(self, event: Event, event_id: str | None) -> None:
        if event.name in JOB_EVENTS:
            # Before the browsers hear of it, so a page they reload is not served from stale cache.
            await self._invalidate(event)
        frame = event_frame(self._seq + 1, event.name, event.data)
        if not await self.relay.state.append(self.sid, self.token, self._seq + 1, frame.text, event_id):
            raise _LeaseLost(self.sid)
        self._seq += 1
        EVENTS_RELAYED.labels(event.name).inc()
        message = {"type": "live.frame", "sid": self.sid, "seq": frame.seq, "event": event.name, "text": frame.text}
        await self.relay.send(self.key, message)

    async def _set_status(self, status: str) -> None:
        if status == self._status:
            return
        self._status = status
        if not await self.relay.state.set_status(self.sid, self.token, status):
            raise _LeaseLost(self.sid)
        await self.relay.send(self.key, {"type": "live.status", "sid": self.sid, "status": status})

    async def _invalidate(self, event: Event) -> None:
        job = event.data.get("job") if isinstance(event.data, dict) else None
        job = job if isinstance(job, dict) else {}
        try:
            await job_cache.on_job_event(self.tenant, job.get("type"), job.get("id"))
        except Exception:  # a cache outage must not stop live updates
            logger.exception("stream %s: cache invalidation failed", self.sid)

    async def _refresh_tenant(self) -> None:
        from jobsdash.tenants.models import Tenant

        with contextlib.suppress(Exception):
            self.tenant = await Tenant.objects.aget(pk=self.tenant.pk)


class _LeaseLost(Exception):
    """A fenced write was refused: another process holds the stream now."""


class Relay:
    """All streams of this process. Use `get_relay()`; `subscribe` / `unsubscribe` are the API."""

    def __init__(self) -> None:
        buffer_size = int(live_setting("LIVE_BUFFER_SIZE"))
        retention = live_setting("LIVE_STATE_RETENTION")
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
        on_overflow: Callable[[], None] = lambda: None,
    ) -> Subscription:
        """Watch the stream `key` of `tenant`: `send` first gets the current upstream status if
        one is known, then, with `since`, the stored frames after `since` in order (or one reload
        frame if some are no longer kept), then live frames (see Subscription)."""
        await self._start()
        stream = self.streams.get(key.sid)
        if stream is None:
            stream = self.streams[key.sid] = Stream(self, key, tenant)
        if stream.linger is not None:
            stream.linger.cancel()
            stream.linger = None
        subscription = Subscription(stream, int(live_setting("LIVE_QUEUE_SIZE")), send, on_overflow)
        stream.subscriptions.add(subscription)
        try:
            # Without since=, the socket's frames are those after where the stream stands now,
            # read before joining: one stored meanwhile comes as catch-up, not lost in between.
            # The status frame says where that is, so a browser that has seen no frame yet can
            # still resume with since= after a reconnect.
            start = since if since is not None else (await self.state.position(key.sid)).seq
            await self._join(stream)
            first: list[Frame] = []
            position = await self.state.position(key.sid)
            if position.status:
                first.append(status_frame(position.status, start if since is None else None))
            texts = await self.state.since(key.sid, start)
            if texts is None:
                first.append(reload_frame(position.seq))
                subscription.last_seq = position.seq
            else:
                first.extend(Frame(_seq_of(text), json.loads(text)["event"], text) for text in texts)
                subscription.last_seq = start
        except BaseException:
            subscription.end()
            raise
        subscription._release(first)
        stream.ensure_running()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop watching (idempotent): nothing more is sent to it."""
        subscription.end()

    def _leave(self, subscription: Subscription) -> None:
        """Subscription.end's bookkeeping: the last one to leave a stream starts its linger."""
        stream = subscription.stream
        stream.subscriptions.discard(subscription)
        if stream.subscriptions or stream.linger is not None or self.streams.get(stream.sid) is not stream:
            return
        linger = live_setting("LIVE_LINGER")
        stream.linger = asyncio.get_running_loop().call_later(linger, self._linger_over, stream)

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
            await _finish(stream.owner, f"stream {stream.sid}")
        async with self._membership:
            if stream.sid not in self.streams and self._channel is not None:
                try:
                    async with asyncio.timeout(_STOP_WAIT):
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
                if message["type"] == "live.frame":
                    await stream.deliver(Frame(message["seq"], message["event"], message["text"]))
                elif message["type"] == "live.status":
                    await stream.deliver(status_frame(message["status"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                if _cancelling():
                    raise
                logger.exception("live receiver failed on a message; continuing")
                await asyncio.sleep(0.1)  # a broken layer must not spin

    async def send(self, key: StreamKey, message: dict[str, Any]) -> None:
        await self.layer.group_send(key.group, message)

    async def aclose(self) -> None:
        """Stop every stream now (tests, shutdown): no linger."""
        for stream in list(self.streams.values()):
            if stream.linger is not None:
                stream.linger.cancel()
            self.streams.pop(stream.sid, None)
            await self._stop(stream)
        if self._stopping:
            await asyncio.wait(set(self._stopping), timeout=_STOP_WAIT)
        if self._receiver is not None:
            await _finish(self._receiver, "the live receiver")
        try:
            async with asyncio.timeout(_STOP_WAIT):
                await self.state.aclose()
        except Exception as exc:
            logger.warning("could not close the stream state store: %r", exc)


_STOP_WAIT = 5.0  # seconds a stopping task gets before it is logged and left behind
# Seconds between cancellations of a task that has not stopped: long enough for the cleanup of a
# task that did get the first one (releasing a lease in Redis) not to be cut short.
_CANCEL_AGAIN = 2.0


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _cancel(task: asyncio.Task[Any], what: str) -> None:
    """Cancel `task` and wait for it, boundedly. The cancellation is repeated every _CANCEL_AGAIN
    seconds: one can be lost in a library, and a task that missed it would run on for ever
    (Python 3.11's `asyncio.wait_for` returns the result and drops a cancellation that arrives in
    the same loop turn as the result; this module uses `asyncio.timeout` for that reason). A task
    that still has not stopped after _STOP_WAIT seconds is logged with its stack and left behind,
    rather than hanging a shutdown or a test run. A caller cancelled meanwhile (a stream owner
    stopping its reader while being stopped itself) still waits for `task` first, then raises."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _STOP_WAIT
    stopped: asyncio.CancelledError | None = None
    while not task.done() and loop.time() < deadline:
        task.cancel()
        try:
            await asyncio.wait({task}, timeout=min(_CANCEL_AGAIN, max(0.0, deadline - loop.time())))
        except asyncio.CancelledError as exc:  # the caller is being stopped too: stop `task` first
            stopped = exc
    if not task.done():
        stack = io.StringIO()
        task.print_stack(file=stack)
        logger.warning("%s did not stop within %g s; leaving it behind:\n%s", what, _STOP_WAIT, stack.getvalue())
    if stopped is not None:
        raise stopped


async def _finish(task: asyncio.Task[Any], what: str) -> None:
    """`_cancel`, then log what the task ended with if that was an error."""
    await _cancel(task, what)
    if task.done() and not task.cancelled() and task.exception() is not None:
        logger.warning("%s ended with %r", what, task.exception())


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay] = weakref.WeakKeyDictionary()


def get_relay() -> Relay:
    """The relay of the running event loop (daphne runs one; tests one per test)."""
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None:
        relay = _relays[loop] = Relay()
    return relay


async def aclose_relay() -> None:
    """Stop the running loop's relay, if any (tests' teardown, shutdown)."""
    relay = _relays.pop(asyncio.get_running_loop(), None)
    if relay is not None:
        await relay.aclose()
