"""One upstream stream as this process sees it (`Stream`): its local subscriptions, and its owner
task, which contends for the stream's lease and, while it holds it, reads the upstream, numbers
the events, stores and publishes them. Publishing goes through `Relay.send` (relay.py, the only
caller of `group_send`), and every process hands what it receives to `Stream.deliver`.

- Lease: without Redis every process holds its own leases; with REDIS_URL the lease is in Redis,
  renewed every third of LIVE_LEASE_TTL, so one process of the deployment reads the upstream.
  A holder that stops (its last socket left, or SIGTERM: `shutdown.py`) releases the lease and
  says so, and the others try at once; one that dies is taken over within about LIVE_LEASE_TTL.
  Every write of the holder is fenced by its lease token (`state.py`).
- Numbering continues the stored sequence, never backwards in a process.
- Gaps. Events are hints, the registry's documents the truth. A connection that cannot prove it
  missed nothing (`Connected(continued=False)`: a stream's first connection, a reconnect or a
  takeover without an upstream event id) begins a new run of the stream: the holder first marks
  the tenant's cached lists and unfinished jobs out of date (`jobs.cache.on_stream_gap`), then
  records the run (number, wall-clock start, seq) and announces it with the status. Every frame
  and status message carries the current run, and contenders read it from the state, so a
  process that misses the announcement still learns of the run; its subscriptions whose pages
  are older than the run reload (`delivery.py`). A numbering gap (the channel layer drops
  messages when a channel is full) is filled from the ring buffer, or is a reload too.
- Job events invalidate the job's cached copy and the tenant's lists before they are published,
  so a page refetching on a frame never gets a copy from before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings

from jobsdash.jobs import cache as job_cache
from jobsdash.live.delivery import Subscription, each
from jobsdash.live.frames import STATUS_CONNECTED, Frame, event_frame, reload_frame, stored_frame
from jobsdash.live.state import Run
from jobsdash.live.tasks import STOP_WAIT, cancel, cancelling, retrieve
from jobsdash.live.upstream import Connected, Disconnected, UpstreamReader
from jobsdash.ops.metrics import EVENTS_RELAYED, OPEN_UPSTREAM_STREAMS, RELAY_GAPS
from jobsdash.waylay.client import Event
from jobsdash.waylay.queries import JOB_EVENTS

if TYPE_CHECKING:
    from jobsdash.live.relay import Relay, StreamKey
    from jobsdash.tenants.models import Tenant

logger = logging.getLogger(__name__)


def _wire(run: Run | None) -> list[Any] | None:
    return run.to_wire() if run is not None else None


class _LeaseLost(Exception):
    """A fenced write was refused: another process holds the stream now."""


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
        self.run: Run | None = None  # the newest run this process knows of
        self.finished = False  # upstream sent `close`: do not reconnect until someone subscribes anew
        self.token = ""  # the lease token of the running owner (see _own)
        self._released = asyncio.Event()  # a holder gave the lease up: contend now
        # Holder-only state.
        self._seq = 0
        self._status: str | None = None
        self._run: Run | None = None

    # Local delivery -----------------------------------------------------------------------------

    async def deliver(self, frame: Frame, run: Run | None) -> None:
        """A frame from the channel layer, with the run its holder was in."""
        if frame.seq is not None:
            if self.last_seq is not None and frame.seq <= self.last_seq:
                return
            if self.last_seq is not None and frame.seq > self.last_seq + 1:
                await self._fill_gap(self.last_seq, frame.seq)
            self.last_seq = frame.seq
        if run is not None:
            await self.learn(run)
        if self.needs_dates:
            frame = await self.dated(frame)
        await each(list(self.subscriptions), Subscription.put, frame)
        if frame.event == "close":
            self.finish()

    async def learn(self, run: Run | None) -> None:
        """`run` may be one this process has not seen: its subscriptions decide whether to reload."""
        if run is None or (self.run is not None and run.number <= self.run.number):
            return
        self.run = run
        await each(list(self.subscriptions), Subscription.on_run, run)

    async def _fill_gap(self, after: int, before: int) -> None:
        texts = await self.relay.state.since(self.sid, after)
        if texts is None:
            logger.warning("stream %s: frames %d..%d lost and no longer buffered", self.sid, after + 1, before - 1)
            await each(list(self.subscriptions), Subscription.put, reload_frame(before - 1))
            return
        logger.info("stream %s: refilled frames %d..%d from the buffer", self.sid, after + 1, before - 1)
        for frame in (stored_frame(text) for text in texts):
            if frame.seq is not None and frame.seq < before:
                if self.needs_dates:
                    frame = await self.dated(frame)
                await each(list(self.subscriptions), Subscription.put, frame)

    @property
    def needs_dates(self) -> bool:
        """Whether a subscription here must know when each event's job was created (a signed
        link whose filter has a time window)."""
        return any(subscription.dated for subscription in self.subscriptions)

    async def dated(self, frame: Frame) -> Frame:
        """`frame` with its job's creation time, if it is a job event: from the job's cached
        document (each job once per process), waiting at most LIVE_DATE_TIMEOUT, so an upstream
        that does not answer holds the stream's other sockets up no longer. None when unknown:
        a windowed reach then refuses the event (its page could not show the job either)."""
        if frame.seq is None or frame.event not in JOB_EVENTS:
            return frame
        data = frame.data()
        job = data.get("job") if isinstance(data, dict) else None
        if not isinstance(job, dict) or not isinstance(job.get("type"), str) or not isinstance(job.get("id"), str):
            return frame
        try:
            async with asyncio.timeout(settings.LIVE_DATE_TIMEOUT):
                created = await job_cache.ajob_created_at(self.tenant, job["type"], job["id"])
        except Exception as exc:  # the cache or the upstream failing: not known
            if cancelling():
                raise
            logger.info("stream %s: no creation time for a job event: %r", self.sid, exc)
            created = None
        return dataclasses.replace(frame, created_at=created)

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
            self.owner.add_done_callback(retrieve)

    def lease_released(self) -> None:
        self._released.set()

    # Lease ---------------------------------------------------------------------------------------

    async def _own(self) -> None:
        state = self.relay.state
        # A token per owner run: a cancelled run releasing late cannot release its successor's lease.
        token = self.token = f"{self.relay.token}:{uuid.uuid4().hex[:12]}"
        while not self.finished:
            ttl = settings.LIVE_LEASE_TTL
            try:
                held = await state.acquire(self.sid, token, ttl)
                if not held:  # another process reads the upstream: has it begun a run we missed?
                    await self.learn((await state.position(self.sid)).run)
            except Exception as exc:  # Redis down: keep trying, quietly (no traceback every few seconds)
                if cancelling():
                    raise
                logger.warning("stream %s: could not ask for the lease: %s", self.sid, exc)
                held = False
            if not held:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(ttl / 3):
                        await self._released.wait()
                self._released.clear()
                continue
            try:
                closed = await self._hold(ttl)
            except Exception:
                if cancelling():
                    raise
                logger.exception("stream %s: holding the lease failed", self.sid)
                closed = False
                await asyncio.sleep(ttl / 3)
            finally:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(STOP_WAIT):
                        await state.release(self.sid, token)
                        await self.relay.send(self.key, {"type": "live.released", "sid": self.sid})
            if closed:
                return

    async def _hold(self, ttl: float) -> bool:
        """Read the upstream while renewing the lease. True when the upstream sent `close`."""
        position = await self.relay.state.position(self.sid)
        # Never number backwards in this process, even if the shared state was lost (Redis flushed).
        self._seq = max(position.seq, self._seq, self.last_seq or 0)
        self._status = position.status
        self._run = max((run for run in (position.run, self.run) if run), key=lambda run: run.number, default=None)
        logger.info("stream %s: holding the lease from seq %d", self.sid, self._seq)
        reader = asyncio.create_task(self._read(position.last_event_id), name=f"live-upstream-{self.sid}")
        reader.add_done_callback(retrieve)
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
                    if cancelling():
                        raise
                    logger.warning("stream %s: could not renew the lease: %s", self.sid, exc)
                    renewed = False
                if not renewed:
                    logger.warning("stream %s: lost the lease; stopping the upstream connection", self.sid)
                    return False
        finally:
            await cancel(reader, f"the upstream reader of stream {self.sid}")

    # Holding: read, number, publish ----------------------------------------------------------------

    async def _read(self, last_event_id: str | None) -> None:
        """Read the upstream until `close`, reconnecting on anything else. Returns after `close`."""
        OPEN_UPSTREAM_STREAMS.inc()
        reader = UpstreamReader(self.tenant, self.key, last_event_id)
        try:
            async with contextlib.aclosing(reader.items()) as items:
                async for item in items:
                    if isinstance(item, Connected):
                        if not item.continued:
                            await self._begin_run()
                        await self._set_status(STATUS_CONNECTED, announce=not item.continued)
                    elif isinstance(item, Disconnected):
                        await self._set_status(item.status)
                    elif item.name == "close":
                        # Before the browsers hear of it (they leave, and the stream may be
                        # cancelled): a later connection for this finished job starts afresh.
                        await self.relay.state.forget_event_id(self.sid, self.token)
                        await self._publish(item, None)
                        return
                    else:
                        await self._publish(item, reader.last_event_id)
        finally:
            self.tenant = reader.tenant  # read anew after a credentials refusal
            OPEN_UPSTREAM_STREAMS.dec()

    async def _begin_run(self) -> None:
        """A connection that may follow lost events: pages must converge on the documents again."""
        at = time.time()
        RELAY_GAPS.inc()
        try:
            # Before the browsers hear of it, so the pages they refetch are not served from old copies.
            await job_cache.on_stream_gap(self.tenant)
        except Exception:  # a cache outage must not stop live updates
            logger.exception("stream %s: cache invalidation failed", self.sid)
        run = Run((self._run.number if self._run else 0) + 1, at, self._seq)
        if not await self.relay.state.begin_run(self.sid, self.token, run):
            raise _LeaseLost(self.sid)
        self._run = run
        logger.info("stream %s: run %d begins after seq %d: its pages refetch", self.sid, run.number, run.seq)

    async def _publish(self, event: Event, event_id: str | None) -> None:
        if event.name in JOB_EVENTS:
            # Before the browsers hear of it, so a page they reload is not served from stale cache.
            await self._invalidate(event)
        frame = event_frame(self._seq + 1, event.name, event.data)
        if not await self.relay.state.append(self.sid, self.token, self._seq + 1, frame.text, event_id):
            raise _LeaseLost(self.sid)
        self._seq += 1
        EVENTS_RELAYED.labels(event.name).inc()
        message = {"sid": self.sid, "seq": frame.seq, "event": event.name, "text": frame.text, "run": _wire(self._run)}
        await self.relay.send(self.key, {"type": "live.frame", **message})

    async def _set_status(self, status: str, announce: bool = False) -> None:
        """Record and send `status` if it changed (or, with `announce`, a new run, anyway)."""
        if status == self._status and not announce:
            return
        self._status = status
        if not await self.relay.state.set_status(self.sid, self.token, status):
            raise _LeaseLost(self.sid)
        message = {"type": "live.status", "sid": self.sid, "status": status, "run": _wire(self._run)}
        await self.relay.send(self.key, message)

    async def _invalidate(self, event: Event) -> None:
        job = event.data.get("job") if isinstance(event.data, dict) else None
        job = job if isinstance(job, dict) else {}
        try:
            await job_cache.on_job_event(self.tenant, job.get("type"), job.get("id"))
        except Exception:  # a cache outage must not stop live updates
            logger.exception("stream %s: cache invalidation failed", self.sid)
