"""How the process paces live sockets' access rechecks: a bounded number wait on the database,
and an outage keeps the sockets and is logged once, not once per socket."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from jobsdash.live.access import Rechecks


async def test_at_most_the_limit_of_checks_wait_at_once_the_others_skip_their_round() -> None:
    rechecks = Rechecks(limit=2)
    database = asyncio.Event()
    started: list[int] = []

    def check(n: int) -> Callable[[], Awaitable[str | None]]:
        async def run() -> str | None:
            started.append(n)
            await database.wait()
            return None if n else "gone"

        return run

    waiting = [asyncio.create_task(rechecks.run(check(n))) for n in (0, 1)]
    await asyncio.sleep(0)  # both now wait on the database
    assert await rechecks.run(check(2)) is None  # skipped at once: not queued behind them
    assert started == [0, 1]
    database.set()
    assert await asyncio.gather(*waiting) == ["gone", None]
    assert rechecks.in_flight == 0


async def test_an_outage_keeps_every_socket_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    rechecks = Rechecks()

    async def down() -> str | None:
        raise ConnectionError("database down")

    async def back() -> str | None:
        return "membership removed"

    with caplog.at_level(logging.INFO, logger="jobsdash.live.access"):
        assert [await rechecks.run(down) for _ in range(5)] == [None] * 5
        assert await rechecks.run(back) == "membership removed"
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "could not recheck live sockets' access",
        "rechecking live sockets' access works again",
    ]
