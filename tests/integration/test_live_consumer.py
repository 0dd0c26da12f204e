"""The live websocket end to end in one process: jobsdash.asgi.application driven by Channels'
WebsocketCommunicator, the relay reading the simulator over a real port. What a browser sees
(frames, close codes) and what the upstream sees (streams counted at the simulator)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from jobsdash.asgi import application
from jobsdash.jobs import cache
from tests.fixtures.live import LIVE, closed, connected, events, eventually, frame, on_sim, open_socket

pytestmark = LIVE

# Refusals ---------------------------------------------------------------------------------------


async def test_it_refuses_anonymous_visitors(sim: Any, acme: Any) -> None:
    _, accepted = await open_socket(None)
    assert not accepted
    assert sim.count("events", "acme") == 0


async def test_it_refuses_a_session_from_before_a_password_change(
    sim: Any, acme: Any, make_user: Callable[..., User], login: Callable[[User], Any]
) -> None:
    user = await sync_to_async(make_user)("bea", acme)
    cookie = f"sessionid={(await sync_to_async(login)(user)).cookies['sessionid'].value}".encode()
    socket, accepted = await open_socket(cookie)
    assert accepted
    await socket.disconnect()

    def change_password() -> None:
        user.set_password("a-brand-new-password-7")
        user.save()

    await sync_to_async(change_password)()
    _, accepted = await open_socket(cookie)
    assert not accepted


async def test_it_refuses_a_foreign_origin_and_accepts_an_embedding_one(settings: Any, member: bytes) -> None:
    settings.FRAME_ANCESTORS = ["https://portal.example.com"]
    _, accepted = await open_socket(member, origin="https://evil.example.com")
    assert not accepted
    _, accepted = await open_socket(member, origin="null")
    assert not accepted
    socket, accepted = await open_socket(member, origin="https://portal.example.com")
    assert accepted
    await socket.disconnect()


async def test_it_refuses_other_tenants_and_unknown_ones(sim: Any, member: bytes, globex: Any) -> None:
    for slug in ("globex", "nope"):
        _, accepted = await open_socket(member, slug=slug)
        assert not accepted, slug
    assert sim.count("events", "globex") == 0


@pytest.mark.parametrize(
    "query", ["type=nope", "children=maybe", "since=-1", "since=abc", "type=build&type=deploy", "id=a%00b"]
)
async def test_it_refuses_bad_parameters(sim: Any, member: bytes, query: str) -> None:
    _, accepted = await open_socket(member, query)
    assert not accepted
    assert sim.count("events", "acme") == 0


# Fan-out and stream life ------------------------------------------------------------------------


async def test_many_sockets_share_one_upstream_stream(sim: Any, member: bytes) -> None:
    sockets = [await connected(member) for _ in range(5)]
    builds = await connected(member, "type=build")
    assert sim.open_streams("acme") == 2
    assert [(s["type"], s["id"], s["children"]) for s in sim.streams_opened("acme")] == [
        (None, None, False),
        ("build", None, False),
    ]
    job = await on_sim(sim.create_job, "acme", "build")
    received = [(await events(socket, 1))[0] for socket in [*sockets, builds]]
    assert {r["data"]["job"]["id"] for r in received} == {job["id"]}
    assert {r["event"] for r in received} == {"waiting"}
    assert len({r["seq"] for r in received[:5]}) == 1  # one stream, one numbering
    assert len(sim.streams_opened("acme")) == 2
    for socket in [*sockets, builds]:
        await socket.disconnect()


async def test_it_lingers_then_closes_the_upstream_stream(sim: Any, member: bytes, settings: Any) -> None:
    settings.LIVE_LINGER = 1.0
    socket = await connected(member)
    await socket.disconnect()
    again = await connected(member)  # back within the linger: the same upstream stream
    await again.disconnect()
    assert sim.open_streams("acme") == 1
    await eventually(lambda: sim.open_streams("acme") == 0, "the upstream stream to close")
    assert len(sim.streams_opened("acme")) == 1


async def test_it_forwards_close_then_closes_the_socket_normally(sim: Any, member: bytes) -> None:
    job = await on_sim(sim.create_job, "acme", "deploy")
    socket = await connected(member, f"type=deploy&id={job['id'].replace('$', '%24')}")
    await on_sim(sim.advance, "acme", "deploy", job["id"], to="active")
    await on_sim(sim.advance, "acme", "deploy", job["id"], to="completed")
    active, completed = await events(socket, 2)
    assert (active["event"], completed["event"]) == ("active", "completed")
    last = await frame(socket)
    assert last["event"] == "close" and isinstance(last["data"], str)
    assert last["seq"] == completed["seq"] + 1
    assert await closed(socket) == 1000


# Robustness -------------------------------------------------------------------------------------


async def test_it_reconnects_after_a_cut_with_last_event_id_and_loses_nothing(
    sim: Any, member: bytes, settings: Any
) -> None:
    settings.LIVE_BACKOFF_BASE = settings.LIVE_BACKOFF_MAX = 0.5  # the job below is created while the relay is away
    socket = await connected(member)
    first = await on_sim(sim.create_job, "acme", "build")
    (before,) = await events(socket, 1)
    assert await on_sim(sim.drop_streams, mid_event=True, tenant="acme") == 1
    second = await on_sim(sim.create_job, "acme", "scale")
    frames = [await frame(socket) for _ in range(4)]
    assert [f["event"] for f in frames] == ["status", "status", "ack", "waiting"]
    assert [f["data"]["upstream"] for f in frames[:2]] == ["reconnecting", "connected"]
    assert frames[3]["data"]["job"]["id"] == second["id"]
    assert [frames[2]["seq"], frames[3]["seq"]] == [before["seq"] + 1, before["seq"] + 2]
    resumed = sim.streams_opened("acme")[-1]
    assert resumed["last_event_id"] is not None
    assert before["data"]["job"]["id"] == first["id"]
    await socket.disconnect()


async def test_a_silent_upstream_is_reconnected_by_the_watchdog(sim: Any, member: bytes, settings: Any) -> None:
    settings.LIVE_WATCHDOG = 0.6
    await on_sim(sim.set_faults, keepalive=False)
    socket = await connected(member)
    statuses = []
    while len(statuses) < 2:
        received = await frame(socket)
        if received["event"] == "status":
            statuses.append(received["data"]["upstream"])
    assert statuses == ["reconnecting", "connected"]
    assert len(sim.streams_opened("acme")) >= 2
    await socket.disconnect()


async def test_rejected_credentials_are_reported_once_and_retried_slowly(sim: Any, member: bytes) -> None:
    await on_sim(sim.revoke, "acme")
    socket, accepted = await open_socket(member)
    assert accepted
    assert await frame(socket) == {"event": "status", "data": {"upstream": "unauthorized"}}
    await eventually(lambda: sim.count("events", "acme") >= 3, "three refused attempts")
    await on_sim(sim.restore, "acme")
    # The next frame is the recovery, not a repeated "unauthorized".
    assert await frame(socket) == {"event": "status", "data": {"upstream": "connected"}}
    assert (await frame(socket))["event"] == "ack"
    await socket.disconnect()


async def test_a_slow_socket_is_closed_with_4013_and_others_keep_going(sim: Any, member: bytes, settings: Any) -> None:
    settings.LIVE_QUEUE_SIZE = 3
    stuck = asyncio.Event()  # never set: this socket's transport takes nothing

    async def stalled(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # A server with backpressure (uvicorn, hypercorn) blocks the app's send on a slow peer;
        # daphne and the communicator buffer without limit, so that peer is simulated here.
        async def blocking_send(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.send":
                await stuck.wait()
            await send(message)

        await application(scope, receive, blocking_send)

    healthy = await connected(member)
    slow, accepted = await open_socket(member, app=stalled)
    assert accepted
    created = [await on_sim(sim.create_job, "acme", "verify", children=True) for _ in range(3)]
    assert await closed(slow) == 4013
    received = await events(healthy, 9)  # each verify job: waiting-children and two waiting children
    assert {r["data"]["job"]["id"] for r in received} >= {job["id"] for job in created}
    await healthy.disconnect()


async def test_a_message_from_the_browser_closes_only_that_socket(sim: Any, member: bytes) -> None:
    quiet = await connected(member)
    talker = await connected(member)
    await talker.send_to(text_data="{not json")
    assert await closed(talker) == 4008
    job = await on_sim(sim.create_job, "acme", "build")
    assert (await events(quiet, 1))[0]["data"]["job"]["id"] == job["id"]
    await quiet.disconnect()


# since= -----------------------------------------------------------------------------------------


async def test_a_socket_joining_a_running_stream_is_told_its_seq_and_can_resume_from_it(
    sim: Any, member: bytes
) -> None:
    watcher = await connected(member)
    await on_sim(sim.create_job, "acme", "build")
    (seen,) = await events(watcher, 1)
    joiner, accepted = await open_socket(member)
    assert accepted
    joined = await frame(joiner)
    assert joined == {"event": "status", "data": {"upstream": "connected", "seq": seen["seq"]}}
    await joiner.disconnect()  # the tab is hidden before any event reached it
    await on_sim(sim.create_job, "acme", "deploy")
    (missed,) = await events(watcher, 1)
    back, accepted = await open_socket(member, f"since={joined['data']['seq']}")
    assert accepted
    assert await frame(back) == {"event": "status", "data": {"upstream": "connected"}}
    assert await frame(back) == missed
    for socket in (watcher, back):
        await socket.disconnect()


async def test_since_catches_up_in_order_before_live_events(sim: Any, member: bytes) -> None:
    watcher = await connected(member)
    for _ in range(3):
        await on_sim(sim.create_job, "acme", "build")
    seen = await events(watcher, 3)
    late, accepted = await open_socket(member, f"since={seen[0]['seq']}")
    assert accepted
    assert await frame(late) == {"event": "status", "data": {"upstream": "connected"}}
    assert [await frame(late) for _ in range(2)] == seen[1:]
    live = await on_sim(sim.create_job, "acme", "deploy")
    following = await frame(late)
    assert following["seq"] == seen[-1]["seq"] + 1 and following["data"]["job"]["id"] == live["id"]
    for socket in (watcher, late):
        await socket.disconnect()


async def test_a_gap_older_than_the_buffer_asks_for_a_reload(sim: Any, member: bytes, settings: Any) -> None:
    settings.LIVE_BUFFER_SIZE = 3
    watcher = await connected(member)
    for _ in range(2):
        await on_sim(sim.create_job, "acme", "verify", children=True)
    seen = await events(watcher, 6)
    latest = seen[-1]["seq"]
    for since in (1, latest + 10):  # too old; ahead of the stream (a state that expired)
        late, accepted = await open_socket(member, f"since={since}")
        assert accepted
        assert (await frame(late))["event"] == "status"
        assert await frame(late) == {"event": "reload", "data": {"seq": latest}}
        await late.disconnect()
    up_to_date, _ = await open_socket(member, f"since={latest}")
    assert (await frame(up_to_date))["event"] == "status"
    job = await on_sim(sim.create_job, "acme", "build")
    following = await frame(up_to_date)
    assert following["seq"] == latest + 1 and following["data"]["job"]["id"] == job["id"]
    for socket in (watcher, up_to_date):
        await socket.disconnect()


# Cache ------------------------------------------------------------------------------------------


async def test_job_events_invalidate_the_cached_job(sim: Any, member: bytes, acme: Any) -> None:
    job = await on_sim(sim.create_job, "acme", "build")
    get_job = sync_to_async(cache.get_job)
    assert (await get_job(acme, "build", job["id"])).document["job"]["state"] == "waiting"
    await get_job(acme, "build", job["id"])
    assert sim.count("get", "acme") == 1  # fresh in the cache
    socket = await connected(member, "type=build")
    await on_sim(sim.advance, "acme", "build", job["id"], to="active")
    (active,) = await events(socket, 1)
    assert active["event"] == "active"
    # The relay invalidates before it relays: a page refetching on this frame sees the new state.
    assert (await get_job(acme, "build", job["id"])).document["job"]["state"] == "active"
    assert sim.count("get", "acme") == 2
    await socket.disconnect()


async def test_upstream_errors_are_retried_with_a_reconnecting_status(sim: Any, member: bytes) -> None:
    await on_sim(sim.set_faults, error_status=503, error_times=2, endpoints=["events"])
    socket, accepted = await open_socket(member)
    assert accepted
    assert await frame(socket) == {"event": "status", "data": {"upstream": "reconnecting"}}
    assert await frame(socket) == {"event": "status", "data": {"upstream": "connected"}}
    assert sim.count("events", "acme") == 3
    await socket.disconnect()


async def test_every_socket_watching_a_finished_job_gets_close(sim: Any, member: bytes, settings: Any) -> None:
    settings.LIVE_LINGER = 5.0  # the second socket finds the first one's finished stream
    job = await on_sim(sim.create_job, "acme", "batch")
    await on_sim(sim.advance, "acme", "batch", job["id"], to="active")
    await on_sim(sim.advance, "acme", "batch", job["id"], to="failed")
    query = f"type=batch&id={job['id'].replace('$', '%24')}"
    for _ in range(2):
        socket, accepted = await open_socket(member, query)
        assert accepted
        frames = []
        while not frames or frames[-1].get("event") != "close":
            frames.append(await frame(socket))
        assert [f["event"] for f in frames if "seq" in f] == ["ack", "close"]
        assert await closed(socket) == 1000
    assert len(sim.streams_opened("acme")) == 2
