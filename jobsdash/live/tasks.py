"""Stopping the relay's tasks for sure, boundedly: a stream's owner, its upstream reader, the
receiver. Nothing here knows streams; it only makes sure a stopped task has stopped (or says so).
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

logger = logging.getLogger(__name__)

STOP_WAIT = 5.0  # seconds a stopping task gets before it is logged and left behind
# Seconds between cancellations of a task that has not stopped: long enough for the cleanup of a
# task that did get the first one (releasing a lease in Redis) not to be cut short.
CANCEL_AGAIN = 2.0


def cancelling() -> bool:
    """Whether the running task was asked to stop. Some libraries (redis-py's timeouts) turn a
    cancellation into their own exception; loops that retry on any exception check this."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def retrieve(task: asyncio.Task[Any]) -> None:
    """A done callback: mark the task's exception retrieved (a task cancelled mid-read may end with
    a library's error instead of CancelledError), so none is logged as never retrieved."""
    if not task.cancelled():
        task.exception()


async def cancel(task: asyncio.Task[Any], what: str) -> None:
    """Cancel `task` and wait for it, boundedly. The cancellation is repeated every CANCEL_AGAIN
    seconds: one can be lost in a library, and a task that missed it would run on for ever
    (Python 3.11's `asyncio.wait_for` returns the result and drops a cancellation that arrives in
    the same loop turn as the result; the relay uses `asyncio.timeout` for that reason). A task
    that still has not stopped after STOP_WAIT seconds is logged with its stack and left behind,
    rather than hanging a shutdown or a test run. A caller cancelled meanwhile (a stream owner
    stopping its reader while being stopped itself) still waits for `task` first, then raises."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_WAIT
    stopped: asyncio.CancelledError | None = None
    while not task.done() and loop.time() < deadline:
        task.cancel()
        try:
            await asyncio.wait({task}, timeout=min(CANCEL_AGAIN, max(0.0, deadline - loop.time())))
        except asyncio.CancelledError as exc:  # the caller is being stopped too: stop `task` first
            stopped = exc
    if not task.done():
        stack = io.StringIO()
        task.print_stack(file=stack)
        logger.warning("%s did not stop within %g s; leaving it behind:\n%s", what, STOP_WAIT, stack.getvalue())
    if stopped is not None:
        raise stopped


async def finish(task: asyncio.Task[Any], what: str) -> None:
    """`cancel`, then log what the task ended with if that was an error."""
    await cancel(task, what)
    if task.done() and not task.cancelled() and task.exception() is not None:
        logger.warning("%s ended with %r", what, task.exception())
