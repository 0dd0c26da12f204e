"""Stopping the relay before the server stops, so that its leases are released and another
process takes its streams over at once, not a lease TTL later.

daphne runs on Twisted's asyncio reactor and stops it on SIGTERM or SIGINT (Twisted's signal
handlers call `reactor.stop()`). The reactor then fires its "before shutdown" triggers and waits
for the Deferreds they return before it stops the loop: daphne's own trigger cancels the
applications (the sockets' consumers), and the one added here stops the relay, whose stream
owners release their leases and tell the other processes. Under another server, or in tests,
there is no running reactor and nothing is registered: a lease then ends with its TTL.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


def before_server_stops(stop: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `stop()` to its end before daphne's reactor stops, if this loop is that reactor's."""
    reactor = sys.modules.get("twisted.internet.reactor")  # never imported here: only if daphne did
    if reactor is None or not getattr(reactor, "running", False):
        return
    if getattr(reactor, "_asyncioEventloop", None) is not asyncio.get_running_loop():
        return
    from twisted.internet.defer import Deferred

    def trigger() -> Deferred[None]:
        logger.info("the server is stopping: releasing the live streams")
        return Deferred.fromFuture(asyncio.ensure_future(stop()))

    reactor.addSystemEventTrigger("before", "shutdown", trigger)
