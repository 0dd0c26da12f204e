"""The live relay's metrics move with what the relay does (read from the process's registry,
which /metrics serves)."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from tests.fixtures.live import LIVE, connected, events, eventually, on_sim

pytestmark = LIVE


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_sockets_streams_events_and_reconnects_are_counted(sim: Any, member: bytes) -> None:
    sockets, streams = _value("jobsdash_open_websockets"), _value("jobsdash_open_upstream_streams")
    relayed, reconnects = (
        _value("jobsdash_events_relayed_total", event="active"),
        _value("jobsdash_relay_reconnects_total"),
    )
    socket = await connected(member)
    assert _value("jobsdash_open_websockets") == sockets + 1
    assert _value("jobsdash_open_upstream_streams") == streams + 1

    job = await on_sim(sim.create_job, "acme", "build")
    await on_sim(sim.advance, "acme", "build", job["id"], to="active")
    await events(socket, 2)  # waiting, active
    assert _value("jobsdash_events_relayed_total", event="active") == relayed + 1

    await on_sim(sim.drop_streams)
    await eventually(lambda: _value("jobsdash_relay_reconnects_total") == reconnects + 1, "a reconnect")

    await socket.disconnect()
    await eventually(lambda: _value("jobsdash_open_websockets") == sockets, "the socket to be uncounted")
    await eventually(lambda: _value("jobsdash_open_upstream_streams") == streams, "the stream to close after linger")
