"""Who may watch a live socket: checked when it opens (`admit`) and rechecked while it is open
(`watch`), so a socket ends with the access that let it in, not only at the next connect. The
consumer closes it (4003) when told.

    viewer = await admit(scope, slug, token, job_type, job_id, children)   # None: refuse
    await watch(check_for(scope, slug, token), on_ended)   # a task per socket, until on_ended ran

- A member: a logged-in user who is a member of the tenant. Rechecked: the session is read anew
  (logged out, expired, invalidated by a password change), the user must be the same and active,
  and still a member of a tenant that still exists.
- A signed embed link (`token=`): one that resolves, for the socket's tenant, asking for nothing
  beyond the link's reach (`Viewer.allows_stream`). Rechecked: the link still resolves (not
  revoked, not expired; the consumer also has a timer for its expiry).
- Rechecks run every ACCESS_RECHECK_SECONDS, the first at a random point of the interval (sockets
  opened together do not check together), later ones jittered (a socket skipped because the
  rechecks were busy does not hit the same busy moment round after round).
- At most MAX_IN_FLIGHT checks wait on the database at once (they share one thread): when it is
  slow, a socket's round is skipped rather than queued behind a pile of others.
- A check that fails (the database is down) keeps the socket: it was checked when it opened, and
  live updates, which do not need the database, are most wanted during an outage. Logged once
  per outage, not once per socket.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from jobsdash.jobs.viewers import Viewer
from jobsdash.links.grants import LinkRefused, aresolve
from jobsdash.links.visitors import avisitor
from jobsdash.live.auth import session_user
from jobsdash.tenants.access import atenant_for_user

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 4

Check = Callable[[], Awaitable[str | None]]


async def admit(
    scope: dict[str, Any], slug: str, token: str | None, job_type: str | None, job_id: str | None, children: bool
) -> Viewer | None:
    """Who is looking on this socket (a member of the tenant, or the visitor of a signed link
    asking for nothing beyond its reach), or None: refuse it."""
    try:
        if token is not None:
            viewer: Viewer = await avisitor(token, slug)
        else:
            viewer = await Viewer.of_socket(scope.get("user") or AnonymousUser(), slug)
    except LinkRefused as refused:
        logger.info("refused a websocket with a signed link: %s", refused.reason)
        return None
    except Http404:
        return None
    if not viewer.allows_stream(job_type, job_id, children):
        logger.info("refused a websocket outside its signed link's scope")
        return None
    return viewer


def check_for(scope: dict[str, Any], slug: str, token: str | None) -> Check:
    """The recheck of what let the socket of `scope` in: it says why that ended, or None."""
    if token is not None:
        return lambda: _link_ended(token)
    return lambda: _membership_ended(scope, slug)


async def _link_ended(token: str) -> str | None:
    try:
        await aresolve(token)
    except LinkRefused as refused:
        return f"its signed link: {refused.reason}"
    return None


async def _membership_ended(scope: dict[str, Any], slug: str) -> str | None:
    _, user = await session_user(scope["session"].session_key)
    if not user.is_authenticated or user.pk != scope["user"].pk:
        return "its session ended"
    try:
        await atenant_for_user(user, slug)
    except Http404:
        return "its user is no longer a member of the tenant"
    return None


class Rechecks:
    def __init__(self, limit: int = MAX_IN_FLIGHT) -> None:
        self.limit = limit
        self.in_flight = 0
        self.failing = False

    async def run(self, check: Check) -> str | None:
        if self.in_flight >= self.limit:
            return None
        self.in_flight += 1
        try:
            ended = await check()
        except Exception as exc:
            if not self.failing:
                self.failing = True
                logger.warning("could not recheck live sockets' access (%r); they stay open meanwhile", exc)
            return None
        finally:
            self.in_flight -= 1
        if self.failing:
            self.failing = False
            logger.info("rechecking live sockets' access works again")
        return ended


# The process's: it holds no loop-bound object, only counts.
RECHECKS = Rechecks()


async def watch(check: Check, on_ended: Callable[[str], Awaitable[None]]) -> None:
    """Recheck until `check` says why the access ended, then `on_ended(reason)`; otherwise until
    cancelled (the socket went)."""
    recheck = float(settings.ACCESS_RECHECK_SECONDS)
    await asyncio.sleep(random.uniform(0.0, recheck))
    while True:
        ended = await RECHECKS.run(check)
        if ended is not None:
            await on_ended(ended)
            return
        await asyncio.sleep(recheck * random.uniform(0.8, 1.2))
