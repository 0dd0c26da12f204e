"""The relay across processes, as deployed: two daphne processes sharing Redis (channel layer,
leases, ring buffer) and a SQLite file, browsers connected with the `websockets` library, the
simulator on a real port. One upstream stream for the deployment; events reach the sockets of
both processes; when the holder dies, the other takes over and nothing is lost or renumbered."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.fixtures.dashboard import wait_until_serving
from tests.fixtures.live import eventually, is_connected, lease_holder
from tests.fixtures.processes import ROOT, free_port, stop_process

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set"),
]

TIMEOUT = 15.0
SETUP = """
from django.core.management import call_command
call_command("migrate", verbosity=0)

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from jobsdash.tenants.models import Membership, Tenant

tenant = Tenant(slug="acme", name="Acme", gateway_url="{url}", api_key="acme-key", auth_mode="basic")
tenant.set_api_secret("acme-secret")
tenant.save()
user = User.objects.create_user("ann", password="not used")
Membership.objects.create(user=user, tenant=tenant)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


@dataclass
class Daphne:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def running_deployment(sim_url: str, tmp_path: Path, **env_extra: str) -> Iterator[tuple[list[Daphne], str]]:
    """Two daphne processes of one deployment on the simulator at `sim_url`, with `env_extra` in
    their environment; (servers, session cookie of a member of acme)."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": REDIS_URL,
        "DJANGO_DEBUG": "true",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "JOBSDASH_LOG_LEVEL": "INFO",
        **env_extra,
    }
    manage = [sys.executable, "manage.py"]
    done = subprocess.run(
        [*manage, "shell", "-c", SETUP.format(url=sim_url)], cwd=ROOT, env=env, check=True, capture_output=True
    )
    cookie = f"sessionid={done.stdout.decode().split()[-1]}"
    servers = []
    for index in range(2):
        port, log = free_port(), tmp_path / f"daphne-{index}.log"
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "jobsdash.asgi:application"]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        servers.append(Daphne(port, process, log))
    try:
        for server in servers:
            wait_until_serving(f"http://127.0.0.1:{server.port}", server.process, server.log)
        yield servers, cookie
    finally:
        for server in servers:
            stop_process(server.process)


@pytest.fixture
def deployment(sim: Any, tmp_path: Path) -> Iterator[tuple[list[Daphne], str]]:
    """Two daphne processes of one deployment; (servers, session cookie of a member of acme)."""
    with running_deployment(sim.url, tmp_path) as deployed:
        yield deployed


@pytest.fixture
async def open_socket() -> AsyncIterator[Callable[[Daphne, str], Any]]:
    sockets: list[ClientConnection] = []

    async def make(server: Daphne, cookie: str) -> ClientConnection:
        uri = f"ws://127.0.0.1:{server.port}/ws/t/acme/jobs/"
        ws = await connect(uri, origin="http://127.0.0.1", additional_headers={"Cookie": cookie}, open_timeout=TIMEOUT)
        sockets.append(ws)
        return ws

    yield make
    for ws in sockets:
        await ws.close()


async def frame(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def event(ws: ClientConnection) -> dict[str, Any]:
    """The next upstream job event (skipping status frames and acks)."""
    while True:
        received = await frame(ws)
        if received.get("seq") is not None and received["event"] != "ack":
            return received


def _job_id(received: dict[str, Any]) -> str | None:
    data = received.get("data")
    return data["job"]["id"] if isinstance(data, dict) and "job" in data else None


async def test_one_upstream_stream_serves_both_processes_and_survives_the_holder(
    sim: Any, deployment: tuple[list[Daphne], str], open_socket: Callable[[Daphne, str], Any]
) -> None:
    servers, cookie = deployment
    sockets = [await open_socket(server, cookie) for server in servers]
    for ws in sockets:
        assert is_connected(await frame(ws))
    assert sim.open_streams("acme") == 1

    job = await asyncio.to_thread(sim.create_job, "acme", "build")
    first = [await event(ws) for ws in sockets]
    assert [f["data"]["job"]["id"] for f in first] == [job["id"]] * 2
    assert first[0]["seq"] == first[1]["seq"]
    assert len(sim.streams_opened("acme")) == 1

    holder_pid = lease_holder(REDIS_URL)
    holder = next(i for i, server in enumerate(servers) if server.process.pid == holder_pid)
    survivor = sockets[1 - holder]
    servers[holder].process.send_signal(signal.SIGKILL)
    # Created while nobody reads the upstream: the new holder must fetch it (Last-Event-ID).
    while_away = await asyncio.to_thread(sim.create_job, "acme", "deploy")
    await eventually(lambda: len(sim.streams_opened("acme")) == 2, "the other process to take over", within=TIMEOUT)
    resumed = sim.streams_opened("acme")[-1]
    assert resumed["last_event_id"] is not None

    after = await asyncio.to_thread(sim.create_job, "acme", "scale")
    numbered: list[dict[str, Any]] = []
    while not numbered or _job_id(numbered[-1]) != after["id"]:
        received = await frame(survivor)
        if "seq" in received:
            numbered.append(received)
    # Numbering continues where the dead holder stopped, with no gap and no repeat.
    assert [f["seq"] for f in numbered] == list(range(first[0]["seq"] + 1, first[0]["seq"] + 1 + len(numbered)))
    assert [_job_id(f) for f in numbered if f["event"] != "ack"] == [while_away["id"], after["id"]]
    await eventually(lambda: sim.open_streams("acme") == 1, "one open stream after the takeover", within=TIMEOUT)
    assert lease_holder(REDIS_URL) == servers[1 - holder].process.pid


async def _holder_and_survivor(
    servers: list[Daphne], sockets: list[ClientConnection]
) -> tuple[Daphne, ClientConnection]:
    holder_pid = await asyncio.to_thread(lease_holder, REDIS_URL)
    holder = next(i for i, server in enumerate(servers) if server.process.pid == holder_pid)
    return servers[holder], sockets[1 - holder]


async def test_a_holder_stopped_with_sigterm_hands_its_stream_over_at_once(
    sim: Any, tmp_path: Path, open_socket: Callable[[Daphne, str], Any]
) -> None:
    # A lease that would outlive the test: the other process can only take over if it is released.
    with running_deployment(sim.url, tmp_path, JOBSDASH_LIVE_LEASE_TTL="600") as (servers, cookie):
        sockets = [await open_socket(server, cookie) for server in servers]
        for ws in sockets:
            assert is_connected(await frame(ws))
        first = await asyncio.to_thread(sim.create_job, "acme", "build")
        assert [_job_id(await event(ws)) for ws in sockets] == [first["id"]] * 2
        holder, survivor = await _holder_and_survivor(servers, sockets)

        holder.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(holder.process.wait, TIMEOUT) == 0  # a clean stop
        await eventually(lambda: len(sim.streams_opened("acme")) == 2, "the other process to take over", within=TIMEOUT)
        after = await asyncio.to_thread(sim.create_job, "acme", "scale")
        assert _job_id(await event(survivor)) == after["id"]
        survivor_server = next(server for server in servers if server is not holder)
        assert await asyncio.to_thread(lease_holder, REDIS_URL) == survivor_server.process.pid
        assert "releasing the live streams" in holder.log.read_text()


@pytest.mark.parametrize("event_ids", [True, False], ids=["with-ids", "without-ids"])
async def test_a_takeover_reloads_the_other_processes_pages_only_without_event_ids(
    event_ids: bool, request: pytest.FixtureRequest, tmp_path: Path, open_socket: Callable[[Daphne, str], Any]
) -> None:
    sim = request.getfixturevalue("sim" if event_ids else "sim_without_ids")
    with running_deployment(sim.url, tmp_path) as (servers, cookie):
        sockets = [await open_socket(server, cookie) for server in servers]
        for ws in sockets:
            assert is_connected(await frame(ws))
        first = await asyncio.to_thread(sim.create_job, "acme", "build")
        seen = [await event(ws) for ws in sockets]
        holder, survivor = await _holder_and_survivor(servers, sockets)
        holder.process.send_signal(signal.SIGKILL)
        await eventually(lambda: len(sim.streams_opened("acme")) == 2, "the other process to take over", within=TIMEOUT)
        after = await asyncio.to_thread(sim.create_job, "acme", "scale")
        received = [await frame(survivor)]
        while _job_id(received[-1]) != after["id"]:
            received.append(await frame(survivor))
        reloads = [f for f in received if f["event"] == "reload"]
        if event_ids:
            assert reloads == []  # resumed with Last-Event-ID: nothing can have been missed
        else:
            assert reloads == [{"event": "reload", "data": {"seq": seen[0]["seq"]}}]  # after what it saw
            assert received.index(reloads[0]) < len(received) - 1  # before the next job's event
        assert _job_id(seen[0]) == first["id"]
