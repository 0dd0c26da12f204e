"""The reconnecting reader of one upstream job event stream: its events over as many connections
as it takes, as an async iterator, saying whether each connection continued the one before. It
numbers, stores and publishes nothing: that is the relay's.

    reader = UpstreamReader(tenant, key, last_event_id=None)
    async with contextlib.aclosing(reader.items()) as items:
        async for item in items:
            if isinstance(item, Connected):      # item.continued: nothing can have been missed
                ...
            elif isinstance(item, Disconnected):  # item.status: "reconnecting" or "unauthorized"
                ...
            else:                                 # an Event (never a keep-alive); `close` comes last
                ...

- A connection counts as made at its first event (the registry's `ack`). It `continued` the one
  before only if it was opened with `Last-Event-ID` set to an id the upstream gave (for this
  stream, by this reader or the one of a process that held it before): an upstream that sends ids
  honours Last-Event-ID, as the SSE spec has it. The registry's spec documents no ids, so against
  the real registry every connection, the first included, may follow lost events.
- Any drop reconnects after a backoff with full jitter: LIVE_BACKOFF_BASE doubled per failed
  attempt, up to LIVE_BACKOFF_MAX; a connection that delivers a job event resets it (one that
  only acks then ends keeps backing off).
- The watchdog reconnects when neither an event nor a keep-alive came for LIVE_WATCHDOG seconds.
- Rejected credentials are `Disconnected("unauthorized")` (and every failure after it, until a
  connection is made) and are retried every LIVE_UNAUTHORIZED_RETRY seconds (jittered), with the
  tenant read anew first: its credentials may have been fixed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from jobsdash.live.frames import STATUS_RECONNECTING, STATUS_UNAUTHORIZED
from jobsdash.live.tasks import cancelling
from jobsdash.ops.metrics import RELAY_RECONNECTS
from jobsdash.waylay.client import Event, stream_events
from jobsdash.waylay.errors import CredentialsRejected

if TYPE_CHECKING:
    from jobsdash.live.relay import StreamKey
    from jobsdash.tenants.models import Tenant

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Connected:
    """A connection is made. `continued`: it resumed the previous one with an id the upstream
    gave, so no event can have been lost in between."""

    continued: bool


@dataclass(frozen=True)
class Disconnected:
    """A connection failed or ended; the next attempt follows after a backoff."""

    status: str  # STATUS_RECONNECTING or STATUS_UNAUTHORIZED
    reason: str


class UpstreamReader:
    def __init__(self, tenant: Tenant, key: StreamKey, last_event_id: str | None) -> None:
        self.tenant = tenant
        self.key = key
        self.last_event_id = last_event_id  # the last id the upstream gave: where to resume from

    async def items(self) -> AsyncIterator[Connected | Disconnected | Event]:
        """Connections and events until the upstream sends `close` (the last item)."""
        attempt = 0
        refused = False  # the last failure was a credentials refusal
        while True:
            connected = False
            resumed_from = self.last_event_id
            try:
                async with contextlib.aclosing(self._connect(resumed_from)) as events:
                    while True:
                        try:
                            async with asyncio.timeout(settings.LIVE_WATCHDOG):
                                event = await anext(events)
                        except StopAsyncIteration:
                            break
                        if not connected:
                            connected, refused = True, False
                            yield Connected(continued=resumed_from is not None)
                        if event.name != "ack":
                            attempt = 0
                        if event.name == "keep-alive":
                            continue
                        if event.id:
                            self.last_event_id = event.id
                        yield event
                        if event.name == "close":
                            return
                reason = "the upstream ended the stream"
            except TimeoutError:
                reason = f"no event or keep-alive for {settings.LIVE_WATCHDOG:g} s"
            except CredentialsRejected as exc:
                logger.warning("stream %s: %s; retrying slowly", self.key.sid, exc)
                refused = True
                yield Disconnected(STATUS_UNAUTHORIZED, str(exc))
                await asyncio.sleep(settings.LIVE_UNAUTHORIZED_RETRY * random.uniform(0.8, 1.2))
                await self._refresh_tenant()
                continue
            except Exception as exc:  # whatever the upstream does, the reader keeps going
                if cancelling():
                    raise
                reason = f"{type(exc).__name__}: {exc}"
            cap = min(settings.LIVE_BACKOFF_MAX, settings.LIVE_BACKOFF_BASE * 2**attempt)
            delay = random.uniform(cap / 2, cap)
            logger.info("stream %s: %s; reconnecting in %.2f s", self.key.sid, reason, delay)
            yield Disconnected(STATUS_UNAUTHORIZED if refused else STATUS_RECONNECTING, reason)
            attempt += 1
            RELAY_RECONNECTS.inc()
            await asyncio.sleep(delay)

    def _connect(self, last_event_id: str | None) -> AsyncIterator[Event]:
        return stream_events(
            self.tenant,
            job_type=self.key.job_type,
            job_id=self.key.job_id,
            children=self.key.children,
            last_event_id=last_event_id,
        )

    async def _refresh_tenant(self) -> None:
        from jobsdash.tenants.models import Tenant

        with contextlib.suppress(Exception):
            self.tenant = await Tenant.objects.aget(pk=self.tenant.pk)
