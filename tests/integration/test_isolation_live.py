"""Tenant isolation at the websocket: one tenant's events never reach another's sockets, even for
a job id both tenants have, and a signed link opens sockets of its own tenant only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.live import LIVE, connected, events, frame, is_connected, on_sim, open_socket

pytestmark = LIVE


@pytest.fixture
def cookies(
    acme: Any, globex: Any, make_user: Callable[..., User], login: Callable[[User], Client]
) -> dict[str, bytes]:
    """Session cookies of ann (acme only) and gus (globex only)."""
    found = {}
    for name, tenant in (("ann", acme), ("gus", globex)):
        found[name] = f"sessionid={login(make_user(name, tenant)).cookies['sessionid'].value}".encode()
    return found


async def test_a_tenants_sockets_get_only_its_own_events(sim: Any, cookies: dict[str, bytes]) -> None:
    shared = "same-id$in-both"
    ann_all = await connected(cookies["ann"])
    ann_job = await connected(cookies["ann"], f"type=build&id={quote(shared, safe='')}")
    gus_all, accepted = await open_socket(cookies["gus"], slug="globex")
    assert accepted and is_connected(await frame(gus_all))
    for tenant in ("globex", "acme"):
        await on_sim(sim.create_job, tenant, "build", id=shared)
    await on_sim(sim.advance, "globex", "build", shared, to="failed")  # globex's job of that id only
    await on_sim(sim.advance, "acme", "build", shared, to="active")
    ann_seen = await events(ann_all, 2)
    assert [f["event"] for f in ann_seen] == ["waiting", "active"]
    assert [f["event"] for f in await events(ann_job, 2)] == ["waiting", "active"]
    assert [f["event"] for f in await events(gus_all, 2)] == ["waiting", "failed"]
    # Two upstream streams per tenant account: nothing of one was read with the other's credentials.
    assert len(sim.streams_opened("acme")) == 2 and len(sim.streams_opened("globex")) == 1
    for socket in (ann_all, ann_job, gus_all):
        await socket.disconnect()


async def test_a_signed_link_opens_sockets_of_its_own_tenant_only(
    sim: Any, acme: Any, globex: Any, cookies: dict[str, bytes]
) -> None:
    link = await sync_to_async(create_link)(
        acme, None, scope=EmbedLink.Scope.LIST, lifetime=timedelta(hours=1), query=parse_list_query({})
    )
    token = await sync_to_async(token_for)(link)
    for cookie in (None, cookies["gus"], cookies["ann"]):
        _, accepted = await open_socket(cookie, f"token={token}", slug="globex")
        assert not accepted
    assert sim.count("events", "globex") == 0
    # A member of globex holding acme's link sees acme's list through it, as anyone holding it.
    socket, accepted = await open_socket(cookies["gus"], f"token={token}", slug="acme")
    assert accepted
    await socket.disconnect()


async def test_members_cannot_open_another_tenants_socket_with_any_query(sim: Any, cookies: dict[str, bytes]) -> None:
    for query in ("", "type=build", "type=build&id=x&children=true", "since=0"):
        _, accepted = await open_socket(cookies["ann"], query, slug="globex")
        assert not accepted, query
    assert sim.count("events", "globex") == 0
