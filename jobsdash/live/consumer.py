"""The websocket consumer of `/ws/t/<slug>/jobs/`: authenticate, subscribe, forward, unsubscribe.

A socket is refused before accept (the browser sees a 403) for bad parameters (`query.py`) and
unless `access.py` admits it (a member of the tenant, or a signed link asking for nothing beyond
its scope). Then it is subscribed to the relay, which decides every frame (`frames.py` has their
shape and the close codes); its access is rechecked while it is open, and closed with 4003 when
it ends. The socket is one-way: a message from the browser closes it with 4008.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from jobsdash.jobs.viewers import Viewer
from jobsdash.live.access import admit, check_for, watch
from jobsdash.live.delivery import Subscription
from jobsdash.live.frames import CLOSE_ACCESS_ENDED, CLOSE_FAILED, CLOSE_ONE_WAY, CLOSE_TOO_SLOW, Frame
from jobsdash.live.query import parse_asof, parse_query, parse_token
from jobsdash.live.relay import StreamKey, get_relay
from jobsdash.ops.metrics import OPEN_WEBSOCKETS, SOCKETS_OVERFLOWED
from jobsdash.waylay.errors import InvalidQuery

logger = logging.getLogger(__name__)


class JobEventsConsumer(AsyncWebsocketConsumer):
    # Not on the channel layer: the relay receives for all sockets of the process on one channel,
    # which spares a channel (and, with Redis, a receive) per socket.
    channel_layer_alias = "jobsdash.live.none"

    subscription: Subscription | None = None
    viewer: Viewer | None = None  # who is looking: a member, or a signed link's visitor
    watcher: asyncio.Task[None] | None = None
    expiry: asyncio.TimerHandle | None = None
    counted = False  # whether OPEN_WEBSOCKETS counts this socket
    finished = False  # closing, or the peer is gone: nothing more is sent
    closing: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        raw, slug = self.scope.get("query_string", b""), self.scope["url_route"]["kwargs"]["slug"]
        try:
            job_type, job_id, children, since = parse_query(raw)
            token, asof = parse_token(raw), parse_asof(raw)
        except InvalidQuery as exc:
            logger.info("refused a websocket: %s", exc)
            await self.close()
            return
        self.viewer = viewer = await admit(self.scope, slug, token, job_type, job_id, children)
        if viewer is None:
            await self.close()
            return
        tenant = viewer.tenant
        await self.accept()
        self.counted = True
        OPEN_WEBSOCKETS.inc()
        key = StreamKey.of(tenant, job_type, job_id, children)
        try:
            self.subscription = await get_relay().subscribe(
                tenant, key, self._send_frame, since, asof, self._too_slow, dated=viewer.reach.windowed
            )
        except Exception:
            logger.exception("could not subscribe a websocket of tenant %s", tenant.slug)
            await self.close(code=CLOSE_FAILED)
            return
        self.watcher = asyncio.create_task(watch(check_for(self.scope, slug, token), self._access_ended))
        if viewer.expires_at is not None:
            left = (viewer.expires_at - timezone.now()).total_seconds()
            self.expiry = asyncio.get_running_loop().call_later(max(0.0, left), self._link_expired)

    async def _send_frame(self, frame: Frame) -> None:
        """The relay's `send` for this socket, called once per frame, in order."""
        if self.finished:
            return
        reach = self.viewer.reach if self.viewer is not None else None
        if reach is not None and not reach.everything and frame.seq is not None:
            if not reach.allows_event(frame.event, frame.data(), frame.created_at):
                return  # a job outside the signed link's filter (its time window included)
        try:
            # The server's send itself: this runs for every socket on every event, and the
            # consumer's `send(text_data=)` only wraps it in two more coroutines.
            await self.base_send({"type": "websocket.send", "text": frame.text})
        except Exception as exc:  # the peer is gone: the server refuses sends once it is closing
            logger.info("a websocket could not take a frame (%r); sending it no more", exc)
            self._stop_frames()
            return
        if frame.event == "close":
            await self._end(1000)

    async def _access_ended(self, reason: str) -> None:
        if not self.finished:
            logger.info("closing a websocket: %s", reason)
            await self._end(CLOSE_ACCESS_ENDED)

    def _link_expired(self) -> None:
        logger.info("closing a websocket: its signed link expired")
        self._end_soon(CLOSE_ACCESS_ENDED)

    def _too_slow(self) -> None:
        SOCKETS_OVERFLOWED.inc()
        self._end_soon(CLOSE_TOO_SLOW)

    def _end_soon(self, code: int) -> None:
        """`_end` from a callback (a timer, the relay)."""
        if not self.finished:
            self.closing = asyncio.get_running_loop().create_task(self._end(code))

    async def _end(self, code: int) -> None:
        """Close the socket from our side; its frames stop first (none may follow the close)."""
        self._stop_frames()
        try:
            await self.close(code=code)
        except Exception as exc:  # the peer is gone already
            logger.info("could not close a websocket (%r)", exc)

    def _stop_frames(self) -> None:
        self.finished = True
        if self.subscription is not None:
            get_relay().unsubscribe(self.subscription)
            self.subscription = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The socket is one-way, and a message would also count as a sign of life to daphne's
        # keep-alive (it resets the ping timer): a peer that kept sending but never read could
        # have frames queued for it without end. Closed, every peer that stops reading misses a
        # ping and is dropped (README, Production).
        logger.info("closing a websocket that sent a message")
        await self._end(CLOSE_ONE_WAY)

    async def disconnect(self, code: int) -> None:
        self._forget()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._forget()  # however the consumer ends: an error in a handler skips disconnect()

    def _forget(self) -> None:
        if self.counted:
            self.counted = False
            OPEN_WEBSOCKETS.dec()
        if self.watcher is not None:
            self.watcher.cancel()
        if self.expiry is not None:
            self.expiry.cancel()
        self._stop_frames()
