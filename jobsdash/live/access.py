"""Rechecks of what let an open live socket in (a member's session and membership, a signed
link), every ACCESS_RECHECK_SECONDS, so a socket ends with the access and not only at the next
connect. The checks themselves are the consumer's; this paces them for the whole process:

    ended = await RECHECKS.run(check)    # why access ended, or None: holds, or not known now

- At most MAX_IN_FLIGHT checks wait on the database at once (they share one thread): when it is
  slow, a socket's round is skipped rather than queued behind a pile of others.
- A check that fails (the database is down) keeps the socket: it was checked when it opened, and
  live updates, which do not need the database, are most wanted during an outage. Logged once
  per outage, not once per socket.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 4


class Rechecks:
    def __init__(self, limit: int = MAX_IN_FLIGHT) -> None:
        self.limit = limit
        self.in_flight = 0
        self.failing = False

    async def run(self, check: Callable[[], Awaitable[str | None]]) -> str | None:
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
