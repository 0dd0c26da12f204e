"""When the relay tells a page to refetch (`reload`), and when not. Against the simulator without
event ids (as the registry's spec), every upstream connection may follow lost events: it begins
a new run of the stream, the tenant's cached lists and unfinished jobs are marked out of date
first, and sockets whose page data is older than the run get one reload, after which frames
follow on. Against the simulator with ids, a reconnect that resumed with Last-Event-ID is no gap.
A page's socket says how old its data is (`asof=`) and catches up on what was published since."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from jobsdash.jobs import cache
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.live import LIVE, connected, events, frame, on_sim, open_socket

pytestmark = LIVE


@pytest.fixture
def plain(sim_without_ids: Any, make_tenant: Callable[..., Any]) -> Any:
    """Tenant acme on the simulator without event ids."""
    return make_tenant("acme", gateway_url=sim_without_ids.url, api_key="acme-key", api_secret="acme-secret")


@pytest.fixture
def reader(plain: Any, make_user: Callable[..., User], login: Callable[[User], Client]) -> bytes:
    return f"sessionid={login(make_user('ann', plain)).cookies['sessionid'].value}".encode()


@pytest.fixture(autouse=True)
def long_cache(settings: Any) -> None:
    # Cached copies stay fresh for the whole test, unless something marks them out of date.
    settings.CACHE_TTL_LIST = settings.CACHE_TTL_JOB_ACTIVE = 3600


def ms(seconds: float) -> int:
    return math.ceil(seconds * 1000)  # not before the moment: asof= has whole ms


async def frames_until(socket: Any, event: str) -> list[dict[str, Any]]:
    """Every frame up to and including the first `event` frame."""
    found = [await frame(socket)]
    while found[-1]["event"] != event:
        found.append(await frame(socket))
    return found


get_job = sync_to_async(cache.get_job)
list_jobs = sync_to_async(cache.list_jobs)


async def test_a_cut_without_ids_reloads_its_sockets_once_with_the_cache_marked_first(
    sim_without_ids: Any, plain: Any, reader: bytes
) -> None:
    sim = sim_without_ids
    socket = await connected(reader)
    job = await on_sim(sim.create_job, "acme", "build")
    done = await on_sim(sim.create_job, "acme", "scale")
    await on_sim(sim.advance, "acme", "scale", done["id"], to="active")
    await on_sim(sim.advance, "acme", "scale", done["id"], to="completed")
    seen = (await events(socket, 4))[-1]
    everything = parse_list_query({})
    for _ in range(2):  # the second reads are cache hits
        assert (await get_job(plain, "build", job["id"])).document["job"]["state"] == "waiting"
        await get_job(plain, "scale", done["id"])
        await list_jobs(plain, everything)
    gets, lists = sim.count("get", "acme"), sim.count("list", "acme")

    assert await on_sim(sim.drop_streams, abort=True, tenant="acme") == 1
    await on_sim(sim.advance, "acme", "build", job["id"], to="active", silent=True)  # a lost event
    received = await frames_until(socket, "ack")
    # Told as the new connection is announced: before its status and its first frame.
    assert [f["event"] for f in received] == ["status", "reload", "status", "ack"]
    assert [received[0]["data"]["upstream"], received[2]["data"]["upstream"]] == ["reconnecting", "connected"]
    assert received[1]["data"] == {"seq": seen["seq"]}
    assert received[3]["seq"] == seen["seq"] + 1  # frames follow the reload's seq

    # The page refetching now gets the registry's documents, not the copies from before the gap;
    # the finished job's copy stays (a finished job does not change).
    assert (await get_job(plain, "build", job["id"])).document["job"]["state"] == "active"
    await get_job(plain, "scale", done["id"])
    await list_jobs(plain, everything)
    assert (sim.count("get", "acme"), sim.count("list", "acme")) == (gets + 1, lists + 1)

    later = await on_sim(sim.create_job, "acme", "deploy")
    (after,) = await events(socket, 1)
    assert after["data"]["job"]["id"] == later["id"]  # one reload, then live as before
    await socket.disconnect()


async def test_a_cut_that_resumes_with_an_honoured_last_event_id_is_no_gap(sim: Any, member: bytes, acme: Any) -> None:
    socket = await connected(member)
    await on_sim(sim.create_job, "acme", "build")
    await events(socket, 1)
    everything = parse_list_query({})
    await list_jobs(acme, everything)
    lists = sim.count("list", "acme")
    assert await on_sim(sim.drop_streams, abort=True, tenant="acme") == 1
    received = await frames_until(socket, "ack")
    assert [f["event"] for f in received] == ["status", "status", "ack"]  # no reload
    await list_jobs(acme, everything)
    assert sim.count("list", "acme") == lists  # and the cached list is still good
    assert sim.streams_opened("acme")[-1]["last_event_id"] is not None
    await socket.disconnect()


async def test_a_page_older_than_the_streams_first_connection_reloads_once_it_is_made(
    sim_without_ids: Any, reader: bytes
) -> None:
    await on_sim(sim_without_ids.set_faults, latency_ms=300, endpoints=["events"])  # so both sockets wait for it
    page, accepted = await open_socket(reader, f"asof={ms(time.time() - 5)}")  # its data is 5 s old
    assert accepted
    bare, accepted = await open_socket(reader)
    assert accepted
    assert [f["event"] for f in await frames_until(page, "ack")] == ["reload", "status", "ack"]
    # A socket without page data has nothing to refetch.
    assert [f["event"] for f in await frames_until(bare, "ack")] == ["status", "ack"]
    for socket in (page, bare):
        await socket.disconnect()


async def test_a_page_newer_than_the_run_catches_up_on_what_was_published_after_its_data(
    sim_without_ids: Any, reader: bytes, settings: Any
) -> None:
    settings.LIVE_CLOCK_MARGIN = 0.0
    watcher = await connected(reader)
    assert (await frame(watcher))["event"] == "ack"
    rendered = time.time()  # a page's data fetched now: after the run began, before the job
    job = await on_sim(sim_without_ids.create_job, "acme", "build")
    (created,) = await events(watcher, 1)
    page, accepted = await open_socket(reader, f"asof={ms(rendered)}")
    assert accepted
    status = await frame(page)
    assert status == {"event": "status", "data": {"upstream": "connected", "seq": created["seq"] - 1}}
    assert await frame(page) == created  # published between the page's data and its socket
    later, accepted = await open_socket(reader, f"asof={ms(time.time())}")
    assert accepted
    assert await frame(later) == {"event": "status", "data": {"upstream": "connected", "seq": created["seq"]}}
    assert await later.receive_nothing(timeout=0.2)  # nothing to catch up on, nothing to reload
    assert created["data"]["job"]["id"] == job["id"]
    for socket in (watcher, page, later):
        await socket.disconnect()


async def test_a_page_older_than_what_the_buffer_holds_reloads(
    sim_without_ids: Any, reader: bytes, settings: Any
) -> None:
    settings.LIVE_CLOCK_MARGIN = 0.0
    settings.LIVE_BUFFER_SIZE = 3
    watcher = await connected(reader)
    assert (await frame(watcher))["event"] == "ack"
    rendered = time.time()
    for _ in range(2):
        await on_sim(sim_without_ids.create_job, "acme", "verify", children=True)
    seen = await events(watcher, 6)
    page, accepted = await open_socket(reader, f"asof={ms(rendered)}")
    assert accepted
    # Told before it hears the stream is connected, so that it never says "Live" in between.
    assert await frame(page) == {"event": "reload", "data": {"seq": seen[-1]["seq"]}}
    assert (await frame(page))["event"] == "status"
    for socket in (watcher, page):
        await socket.disconnect()


async def test_since_from_before_the_current_run_reloads(sim_without_ids: Any, reader: bytes) -> None:
    sim = sim_without_ids
    socket = await connected(reader)
    await on_sim(sim.create_job, "acme", "build")
    (old,) = await events(socket, 1)
    await on_sim(sim.drop_streams, tenant="acme")
    received = await frames_until(socket, "ack")  # the new run begins after old["seq"]
    assert received[-3] == {"event": "reload", "data": {"seq": old["seq"]}}
    for since in (old["seq"] - 1, old["seq"]):  # a tab that saw only frames from before the gap
        back, accepted = await open_socket(reader, f"since={since}")
        assert accepted
        assert (await frame(back))["event"] == "status"
        assert await frame(back) == {"event": "reload", "data": {"seq": received[-1]["seq"]}}
        await back.disconnect()
    fresh, accepted = await open_socket(reader, f"since={received[-1]['seq']}")  # saw the new run's ack
    assert accepted
    assert await frame(fresh) == {"event": "status", "data": {"upstream": "connected"}}
    job = await on_sim(sim.create_job, "acme", "deploy")
    (following,) = await events(fresh, 1)
    assert following["data"]["job"]["id"] == job["id"]
    for each in (socket, fresh):
        await each.disconnect()
