"""The websocket consumer of `/ws/t/<slug>/jobs/?type=&id=&children=&since=`: live job events.

Only logged-in members of the tenant connect, or holders of a signed embed link (`token=`) asking
for nothing beyond the link's tenant and scope (a list link's sockets get only its filter's jobs);
bad parameters are refused too (both before accept, so the handshake fails: the browser sees a
403). Query parameters, each optional (empty = absent):
`type` (EJobType), `id` (a job id), `children` (`true`/`false`), `since` (a `seq` the browser has).

Frames, server to browser, JSON text (DESIGN.md, "Websocket frames"):
- `{"seq": 12, "event": "completed", "data": {...}}`: an upstream event; `seq` grows by one per
  event of the stream; `ack` and `close` carry their text. Keep-alives are not forwarded.
- `{"event": "status", "data": {"upstream": "connected" | "reconnecting" | "unauthorized"}}`: sent
  on connect when the stream's state is known, then on every change. On connect without `since`,
  `data` also has `"seq": N`, the stream's last seq: the socket's frames are those after N, so a
  browser that has seen none yet can still resume with `since=N`.
- `{"event": "reload", "data": {"seq": 40}}`: the `since=` gap is older than the buffer (or from a
  stream state that has expired): what the page shows may be out of date, so it should refetch it.
  Live frames follow on the same socket from `seq` + 1.
- After relaying `close`, the server closes the socket with code 1000. A socket too slow to take
  the frames is closed with 4013 (under a server whose send waits for the peer; daphne's never
  does, and its ping timeout drops a peer that stops reading); a socket whose access ended with
  4003 (as HTTP's 403): a signed link that expired or was revoked, or a member who logged out, was
  deactivated or removed from the tenant (checked every ACCESS_RECHECK_SECONDS, default 30); one
  that could not be subscribed with 4011.

The socket is one-way: a message from the browser closes it with 4008 (see `receive`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http import Http404
from django.utils import timezone

from jobsdash.links.grants import Grant, LinkRefused, aresolve
from jobsdash.live.access import RECHECKS
from jobsdash.live.auth import session_user
from jobsdash.live.relay import CLOSE_TOO_SLOW, Frame, StreamKey, Subscription, get_relay
from jobsdash.ops.metrics import OPEN_WEBSOCKETS, SOCKETS_OVERFLOWED
from jobsdash.tenants.access import atenant_for_user
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.errors import InvalidQuery
from jobsdash.waylay.queries import validate_job_id, validate_job_type

logger = logging.getLogger(__name__)

# Besides 1000, close codes are 3000-4999 (see CLOSE_TOO_SLOW).
CLOSE_ONE_WAY = 4008  # 1008 "policy": the browser sent a message; this socket only goes to it
CLOSE_ACCESS_ENDED = 4003  # as HTTP 403: the link or the membership that let it in has ended
CLOSE_FAILED = 4011  # 1011 "internal error": the socket could not be subscribed
_MAX_SINCE_DIGITS = 18


class JobEventsConsumer(AsyncWebsocketConsumer):
    # Not on the channel layer: the relay receives for all sockets of the process on one channel,
    # which spares a channel (and, with Redis, a receive) per socket.
    channel_layer_alias = "jobsdash.live.none"

    subscription: Subscription | None = None
    grant: Grant | None = None
    watcher: asyncio.Task[None] | None = None
    expiry: asyncio.TimerHandle | None = None
    counted = False  # whether OPEN_WEBSOCKETS counts this socket
    finished = False  # closing, or the peer is gone: nothing more is sent
    closing: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        try:
            job_type, job_id, children, since = parse_query(self.scope.get("query_string", b""))
            token = parse_token(self.scope.get("query_string", b""))
        except InvalidQuery as exc:
            logger.info("refused a websocket: %s", exc)
            await self.close()
            return
        slug = self.scope["url_route"]["kwargs"]["slug"]
        if token is not None:
            tenant = await self._tenant_of_link(token, slug, job_type, job_id, children)
        else:
            tenant = await self._tenant_of_member(slug)
        if tenant is None:
            await self.close()
            return
        await self.accept()
        self.counted = True
        OPEN_WEBSOCKETS.inc()
        try:
            self.subscription = await get_relay().subscribe(
                tenant,
                StreamKey.of(tenant, job_type, job_id, children),
                self._send_frame,
                since,
                on_overflow=self._too_slow,
            )
        except Exception:
            logger.exception("could not subscribe a websocket of tenant %s", tenant.slug)
            await self.close(code=CLOSE_FAILED)
            return
        self.watcher = asyncio.create_task(self._watch_access(token, slug))
        if self.grant is not None:
            left = (self.grant.expires_at - timezone.now()).total_seconds()
            self.expiry = asyncio.get_running_loop().call_later(max(0.0, left), self._link_expired)

    async def _tenant_of_member(self, slug: str) -> Tenant | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        try:
            return await atenant_for_user(user, slug)
        except Http404:
            return None

    async def _tenant_of_link(
        self, token: str, slug: str, job_type: str | None, job_id: str | None, children: bool
    ) -> Tenant | None:
        """A signed embed link: its tenant, if the socket asks for nothing beyond the link's scope."""
        try:
            grant = await aresolve(token)
        except LinkRefused as refused:
            logger.info("refused a websocket with a signed link: %s", refused.reason)
            return None
        if grant.tenant.slug != slug or not grant.allows_stream(job_type, job_id, children):
            logger.info("refused a websocket outside its signed link's scope")
            return None
        self.grant = grant
        return grant.tenant

    async def _send_frame(self, frame: Frame) -> None:
        """The relay's `send` for this socket, called once per frame, in order."""
        if self.finished:
            return
        grant = self.grant
        if grant is not None and frame.seq is not None and not grant.allows_event(frame.event, _data_of(frame)):
            return  # a job outside the signed link's filter
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

    def _stop_frames(self) -> None:
        self.finished = True
        if self.subscription is not None:
            get_relay().unsubscribe(self.subscription)
            self.subscription = None

    async def _end(self, code: int) -> None:
        """Close the socket from our side; its frames stop first (none may follow the close)."""
        self._stop_frames()
        try:
            await self.close(code=code)
        except Exception as exc:  # the peer is gone already
            logger.info("could not close a websocket (%r)", exc)

    def _end_soon(self, code: int) -> None:
        """`_end` from a callback (a timer, the relay's overflow)."""
        if not self.finished:
            self.closing = asyncio.get_running_loop().create_task(self._end(code))

    def _link_expired(self) -> None:
        logger.info("closing a websocket: its signed link expired")
        self._end_soon(CLOSE_ACCESS_ENDED)

    async def _watch_access(self, token: str | None, slug: str) -> None:
        """End the socket when what let it in ends, not only at the next connect: checked every
        ACCESS_RECHECK_SECONDS, the first time at a random point of that interval, so sockets
        opened together do not check together (a signed link's expiry has a timer of its own)."""
        recheck = float(settings.ACCESS_RECHECK_SECONDS)
        await asyncio.sleep(random.uniform(0.0, recheck))
        while not self.finished:
            ended = await RECHECKS.run(
                (lambda: self._link_ended(token)) if token is not None else (lambda: self._membership_ended(slug))
            )
            if ended is not None and not self.finished:
                logger.info("closing a websocket: %s", ended)
                await self._end(CLOSE_ACCESS_ENDED)
                return
            # Jittered: a socket skipped (the rechecks were busy) must not hit the same busy moment
            # round after round.
            await asyncio.sleep(recheck * random.uniform(0.8, 1.2))

    @staticmethod
    async def _link_ended(token: str) -> str | None:
        try:
            await aresolve(token)
        except LinkRefused as refused:
            return f"its signed link: {refused.reason}"
        return None

    async def _membership_ended(self, slug: str) -> str | None:
        """Why the socket's user may no longer watch `slug` (None while they still may): the
        session was logged out, expired or invalidated by a password change (read anew, as a
        request would), the user was deactivated, or the membership or tenant removed."""
        _, user = await session_user(self.scope["session"].session_key)
        if not user.is_authenticated or user.pk != self.scope["user"].pk:
            return "its session ended"
        try:
            await atenant_for_user(user, slug)
        except Http404:
            return "its user is no longer a member of the tenant"
        return None

    def _too_slow(self) -> None:
        SOCKETS_OVERFLOWED.inc()
        self._end_soon(CLOSE_TOO_SLOW)

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


def parse_token(raw: bytes) -> str | None:
    """The signed embed link token of a websocket URL (`token=`), if any."""
    values = parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=10).get("token", [])
    if len(values) > 1:
        raise InvalidQuery("token", "given more than once")
    return values[0] if values else None


def _data_of(frame: Frame) -> Any:
    try:
        return json.loads(frame.text).get("data")
    except (ValueError, AttributeError):
        return None


def parse_query(raw: bytes) -> tuple[str | None, str | None, bool, int | None]:
    """(type, id, children, since) of a websocket URL's query string; InvalidQuery naming the
    parameter otherwise. Empty values count as absent; a parameter given twice is refused."""
    try:
        params = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=10, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidQuery("query", "not a valid query string") from None

    def single(name: str) -> str | None:
        values = params.get(name, [])
        if len(values) > 1:
            raise InvalidQuery(name, "given more than once")
        return values[0] if values and values[0] != "" else None

    job_type = single("type")
    if job_type is not None:
        validate_job_type(job_type)
    job_id = single("id")
    if job_id is not None:
        validate_job_id(job_id)
    children_raw = single("children")
    if children_raw not in (None, "true", "false"):
        raise InvalidQuery("children", "must be true or false")
    since_raw = single("since")
    since = None
    if since_raw is not None:
        if not since_raw.isascii() or not since_raw.isdigit() or len(since_raw) > _MAX_SINCE_DIGITS:
            raise InvalidQuery("since", "must be a whole number >= 0")
        since = int(since_raw)
    return job_type, job_id, children_raw == "true", since
