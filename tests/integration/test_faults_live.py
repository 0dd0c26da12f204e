"""Upstream faults seen through the websocket: down at start, flapping, silent (slower than the
watchdog), garbage events, a stream cut mid-event or aborted, credentials revoked while streaming.

The relay keeps every socket open, says what is happening (`reconnecting`, `unauthorized` once),
recovers within its backoff bound once the upstream is back (bounded waits, no timing asserted
beyond "the configured bound plus slack"), and a browser resuming with `since=` gets every event
the buffer holds: the same seqs and the same jobs as the simulator emitted, none lost, none twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from tests.fixtures.live import LIVE, connected, events, eventually, frame, on_sim, open_socket
from tests.fixtures.processes import free_port, stop_process
from tests.fixtures.simulator import start_simulator

pytestmark = LIVE

SLACK = 3.0  # seconds on top of a configured bound: a loaded CI machine, the simulator's own pace


def status(received: dict[str, Any]) -> str | None:
    return received["data"]["upstream"] if received.get("event") == "status" else None


async def statuses_until(socket: Any, wanted: str, within: float) -> list[str]:
    """Every status frame up to and including `wanted`, which must come within `within` seconds;
    other frames in between are not expected (nothing happens upstream meanwhile)."""
    seen: list[str] = []
    async with asyncio.timeout(within):
        while True:
            received = json.loads(await socket.receive_from(timeout=within))
            if received.get("event") == "ack":
                continue
            assert status(received) is not None, received
            seen.append(status(received))
            if seen[-1] == wanted:
                return seen


async def until_job_frames(socket: Any, count: int) -> list[dict[str, Any]]:
    """The next `count` job-event frames, skipping statuses and acks."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        received = await frame(socket)
        if "seq" in received and received["event"] not in ("ack", "close"):
            found.append(received)
    return found


def ids(frames: list[dict[str, Any]]) -> list[str]:
    return [f["data"]["job"]["id"] for f in frames]


# Down at start ----------------------------------------------------------------------------------


async def test_a_socket_opened_while_the_upstream_is_down_reconnects_once_it_is_up(
    make_tenant: Callable[..., Any],
    make_user: Callable[..., User],
    login: Callable[[User], Client],
    tmp_path: Path,
    settings: Any,
) -> None:
    port = free_port()
    tenant = await sync_to_async(make_tenant)(
        "acme", gateway_url=f"http://127.0.0.1:{port}", api_key="acme-key", api_secret="acme-secret"
    )
    user = await sync_to_async(make_user)("ann", tenant)
    cookie = f"sessionid={(await sync_to_async(login)(user)).cookies['sessionid'].value}".encode()

    socket, accepted = await open_socket(cookie)
    assert accepted  # the dashboard takes the socket and says what it is doing
    assert await frame(socket) == {"event": "status", "data": {"upstream": "reconnecting"}}

    process, url = await asyncio.to_thread(start_simulator, tmp_path / "late.log", "--port", str(port))
    try:
        bound = settings.LIVE_BACKOFF_MAX + SLACK
        assert await statuses_until(socket, "connected", bound) == ["connected"]
        await asyncio.to_thread(_create_job, url)
        (created,) = await until_job_frames(socket, 1)
        assert created["event"] == "waiting" and created["seq"] >= 1
        await socket.disconnect()
    finally:
        await asyncio.to_thread(stop_process, process)


def _create_job(url: str) -> None:
    import httpx

    httpx.post(f"{url}/_sim/jobs", json={"tenant": "acme", "type": "build"}, timeout=5).raise_for_status()


# Flapping, silence, garbage ---------------------------------------------------------------------


async def test_a_flapping_stream_is_reconnected_within_the_backoff_bound(
    sim: Any, member: bytes, settings: Any
) -> None:
    await on_sim(sim.set_faults, error_status=503, error_times=4, endpoints=["events"])
    socket, accepted = await open_socket(member)
    assert accepted
    # Four refused attempts with a capped backoff, then the stream: well within 4 caps + slack.
    seen = await statuses_until(socket, "connected", 4 * settings.LIVE_BACKOFF_MAX + SLACK)
    assert seen == ["reconnecting", "connected"]  # one status per change, not one per attempt
    assert sim.count("events", "acme") == 5
    job = await on_sim(sim.create_job, "acme", "build")
    assert ids(await until_job_frames(socket, 1)) == [job["id"]]
    await socket.disconnect()


async def test_a_stream_slower_than_the_watchdog_is_retried_until_it_answers(
    sim: Any, member: bytes, settings: Any
) -> None:
    settings.LIVE_WATCHDOG = 0.5
    await on_sim(sim.set_faults, latency_ms=1500, endpoints=["events"])
    socket, accepted = await open_socket(member)
    assert accepted
    assert await frame(socket) == {"event": "status", "data": {"upstream": "reconnecting"}}
    await on_sim(sim.clear_faults)
    # A pending slow attempt may still be under way: one watchdog period, a backoff, slack.
    bound = settings.LIVE_WATCHDOG + settings.LIVE_BACKOFF_MAX + SLACK
    assert await statuses_until(socket, "connected", bound) == ["connected"]
    await socket.disconnect()


async def test_a_garbled_event_is_skipped_and_the_stream_goes_on(sim: Any, member: bytes) -> None:
    await on_sim(sim.set_faults, garbage="json", endpoints=["events"])
    socket = await connected(member)
    job = await on_sim(sim.create_job, "acme", "deploy")
    (received,) = await until_job_frames(socket, 1)
    assert received["data"]["job"]["id"] == job["id"]
    assert received["seq"] == 2  # 1 is the ack: the garbled event took no number
    await socket.disconnect()


# Cuts and since= --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["mid_event", "abort", "end"])
async def test_a_browser_resuming_with_since_after_a_cut_loses_no_event(
    sim: Any, member: bytes, settings: Any, how: str
) -> None:
    settings.LIVE_LINGER = 5.0
    settings.LIVE_BACKOFF_BASE = settings.LIVE_BACKOFF_MAX = 0.4  # jobs below are created while it is away
    watcher = await connected(member)
    leaver = await connected(member)
    first = await on_sim(sim.create_job, "acme", "build")
    (seen,) = await until_job_frames(leaver, 1)
    assert seen["data"]["job"]["id"] == first["id"]
    assert await until_job_frames(watcher, 1) == [seen]
    await leaver.disconnect()  # the browser goes away (a laptop lid, a flaky network)

    dropped = await on_sim(sim.drop_streams, mid_event=how == "mid_event", abort=how == "abort", tenant="acme")
    assert dropped == 1
    created = [await on_sim(sim.create_job, "acme", kind) for kind in ("scale", "notify", "deploy")]
    live = await until_job_frames(watcher, 3)
    assert ids(live) == [job["id"] for job in created]
    assert sim.streams_opened("acme")[-1]["last_event_id"] is not None  # resumed, not restarted

    resumed, accepted = await open_socket(member, f"since={seen['seq']}")
    assert accepted
    assert status(await frame(resumed)) == "connected"
    caught_up = [await frame(resumed) for _ in range(live[-1]["seq"] - seen["seq"])]
    # Everything after `since` in order, one seq each, the same frames the watcher got.
    assert [f["seq"] for f in caught_up] == list(range(seen["seq"] + 1, live[-1]["seq"] + 1))
    assert [f for f in caught_up if f["event"] != "ack"] == live
    assert len({f["data"]["job"]["id"] for f in caught_up if f["event"] != "ack"}) == 3
    for socket in (watcher, resumed):
        await socket.disconnect()


async def test_revoked_credentials_while_streaming_report_once_then_recover_without_loss(
    sim: Any, member: bytes, settings: Any
) -> None:
    settings.LIVE_UNAUTHORIZED_RETRY = 0.3
    socket = await connected(member)
    before = await on_sim(sim.create_job, "acme", "build")
    (seen,) = await events(socket, 1)
    await on_sim(sim.revoke, "acme")
    await on_sim(sim.drop_streams, tenant="acme")  # the gateway ends streams of revoked credentials
    assert await statuses_until(socket, "unauthorized", settings.LIVE_BACKOFF_MAX + SLACK) in (
        ["unauthorized"],
        ["reconnecting", "unauthorized"],
    )
    during = await on_sim(sim.create_job, "acme", "verify")
    refused = await on_sim(sim.count, "events", "acme")
    # Retried, slowly, and not reported again.
    await eventually(lambda: sim.count("events", "acme") >= refused + 2, "two more refused attempts")

    await on_sim(sim.restore, "acme")
    bound = settings.LIVE_UNAUTHORIZED_RETRY * 1.2 + SLACK
    assert await statuses_until(socket, "connected", bound) == ["connected"]
    (after,) = await until_job_frames(socket, 1)
    # The job created while refused arrives (Last-Event-ID replay), right after the last one seen.
    assert after["data"]["job"]["id"] == during["id"] and after["seq"] > seen["seq"]
    assert seen["data"]["job"]["id"] == before["id"]
    await socket.disconnect()
