"""Signed embed links on the websocket: live updates within the link's scope, nothing beyond it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from asgiref.sync import sync_to_async
from django.utils import timezone

from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.live import LIVE, closed, connected, events, frame, on_sim, open_socket

pytestmark = LIVE


@sync_to_async
def _token(tenant: Any, **scope: Any) -> str:
    return token_for(create_link(tenant, None, lifetime=timedelta(hours=1), **scope))


async def test_a_job_link_streams_that_job_and_refuses_other_scopes(sim: Any, acme: Any, globex: Any) -> None:
    job = await on_sim(sim.create_job, "acme", "build")
    token = await _token(acme, scope=EmbedLink.Scope.JOB, job_type="build", job_id=job["id"])
    for query, slug in [
        (f"token={token}", "acme"),  # the whole tenant
        (f"token={token}&type=build&id=other", "acme"),  # another job
        (f"token={token}&type=build&id={job['id']}", "globex"),  # another tenant
        (f"token={token[:-2]}xx&type=build&id={job['id']}", "acme"),  # tampered
    ]:
        socket, accepted = await open_socket(None, query, slug=slug)
        assert not accepted, query
    socket, accepted = await open_socket(None, f"token={token}&type=build&id={job['id']}&children=true")
    assert accepted
    assert (await frame(socket))["data"] == {"upstream": "connected"}
    await on_sim(sim.advance, "acme", "build", job["id"], to="active")
    (active,) = await events(socket, 1)
    assert (active["event"], active["data"]["job"]["id"]) == ("active", job["id"])
    await socket.disconnect()


async def test_a_list_link_gets_only_its_filters_jobs(sim: Any, acme: Any) -> None:
    token = await _token(acme, scope=EmbedLink.Scope.LIST, query=parse_list_query({"type": ["deploy"]}))
    _, accepted = await open_socket(None, f"token={token}&type=build")
    assert not accepted
    socket, accepted = await open_socket(None, f"token={token}")
    assert accepted
    await frame(socket)  # status
    build = await on_sim(sim.create_job, "acme", "build")
    deploy = await on_sim(sim.create_job, "acme", "deploy")
    await on_sim(sim.advance, "acme", "build", build["id"], to="active")
    await on_sim(sim.advance, "acme", "deploy", deploy["id"], to="active")
    (first,) = await events(socket, 1)
    assert first["data"]["job"] == {"type": "deploy", "id": deploy["id"]}
    await socket.disconnect()


async def test_an_expired_or_revoked_link_cannot_open_a_socket(sim: Any, acme: Any) -> None:
    token = await _token(acme, scope=EmbedLink.Scope.LIST, query=parse_list_query({}))
    await EmbedLink.objects.aupdate(revoked_at=timezone.now())
    assert not (await open_socket(None, f"token={token}"))[1]
    await EmbedLink.objects.aupdate(revoked_at=None, expires_at=timezone.now() - timedelta(seconds=1))
    assert not (await open_socket(None, f"token={token}"))[1]


async def test_revoking_or_expiring_a_link_closes_its_open_sockets(sim: Any, acme: Any, settings: Any) -> None:
    settings.ACCESS_RECHECK_SECONDS = 0.2
    token = await _token(acme, scope=EmbedLink.Scope.LIST, query=parse_list_query({}))
    socket, accepted = await open_socket(None, f"token={token}")
    assert accepted
    await frame(socket)  # status
    await EmbedLink.objects.aupdate(revoked_at=timezone.now())
    assert await closed(socket) == 4003

    settings.ACCESS_RECHECK_SECONDS = 60  # only the expiry can end the next one in time
    short = await sync_to_async(create_link)(acme, None, scope=EmbedLink.Scope.LIST, lifetime=timedelta(seconds=1))
    socket, accepted = await open_socket(None, f"token={await sync_to_async(token_for)(short)}")
    assert accepted
    assert await closed(socket) == 4003


async def test_a_list_link_with_a_state_filter_streams_only_that_state(sim: Any, acme: Any) -> None:
    token = await _token(acme, scope=EmbedLink.Scope.LIST, query=parse_list_query({"state": ["completed"]}))
    socket, accepted = await open_socket(None, f"token={token}")
    assert accepted
    await frame(socket)  # status
    job = await on_sim(sim.create_job, "acme", "build")
    await on_sim(sim.advance, "acme", "build", job["id"], to="active")
    await on_sim(sim.advance, "acme", "build", job["id"], to="completed")
    (first,) = await events(socket, 1)
    assert (first["event"], first["data"]["job"]["id"]) == ("completed", job["id"])  # not waiting, not active
    await socket.disconnect()


def _created_at(sim: Any, job: dict[str, Any]) -> datetime:
    answer = httpx.get(
        f"{sim.url}/registry/v2/jobs/{job['type']}/{quote(job['id'], safe='')}", auth=sim.auth("acme"), timeout=10
    )
    return datetime.fromisoformat(answer.json()["job"]["createdAt"].replace("Z", "+00:00"))


async def test_a_list_link_with_a_time_window_gets_no_event_of_a_job_created_before_it(
    sim: Any, acme: Any, member: bytes
) -> None:
    old = await on_sim(sim.create_job, "acme", "build")
    after = (await on_sim(_created_at, sim, old)) + timedelta(milliseconds=1)
    window = {"type": ["build"], "createdAfter": [after.isoformat(timespec="milliseconds").replace("+00:00", "Z")]}
    token = await _token(acme, scope=EmbedLink.Scope.LIST, query=parse_list_query(window))
    everything = await connected(member)  # the same stream, for a member: nothing is held back
    link, accepted = await open_socket(None, f"token={token}")
    assert accepted
    start = (await frame(link))["data"]["seq"]  # joining a stream that reads the upstream: where it stands
    new = await on_sim(sim.create_job, "acme", "build")
    assert await on_sim(_created_at, sim, new) >= after
    reads = await on_sim(sim.count, "get", "acme")
    await on_sim(sim.advance, "acme", "build", old["id"], to="active")
    await on_sim(sim.advance, "acme", "build", old["id"], to="completed")  # its build log in the event
    await on_sim(sim.advance, "acme", "build", new["id"], to="active")
    # A job the registry does not know: when it was created cannot be learnt, so it is not sent.
    ghost = {"job": {"type": "build", "id": "ghost$0"}, "data": {}, "function": {"functionType": "plugs"}}
    await on_sim(sim.emit_raw, "acme", f"event: active\ndata: {json.dumps(ghost)}\n\n")
    await on_sim(sim.advance, "acme", "build", new["id"], to="completed")

    seen = [(f["event"], f["data"]["job"]["id"]) for f in await events(everything, 6)]
    assert seen == [
        ("waiting", new["id"]),
        ("active", old["id"]),
        ("completed", old["id"]),
        ("active", new["id"]),
        ("active", "ghost$0"),
        ("completed", new["id"]),
    ]
    # The link's page would show the new job only: so its socket gets the new job's events only.
    assert [(f["event"], f["data"]["job"]["id"]) for f in await events(link, 3)] == [
        ("waiting", new["id"]),
        ("active", new["id"]),
        ("completed", new["id"]),
    ]
    # Catching up from the buffer keeps to the window too.
    again, accepted = await open_socket(None, f"token={token}&since={start}")
    assert accepted
    assert (await frame(again))["data"] == {"upstream": "connected"}
    assert [(f["event"], f["data"]["job"]["id"]) for f in await events(again, 3)] == [
        ("waiting", new["id"]),
        ("active", new["id"]),
        ("completed", new["id"]),
    ]
    # Dating the events cost one read per job, whatever their number and sockets (the ghost's: none found).
    assert await on_sim(sim.count, "get", "acme") == reads + 3
    for socket in (link, everything, again):
        await socket.disconnect()
