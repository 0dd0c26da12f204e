"""The official Waylay SDK (waylay-sdk-registry) against the simulator: if the real client can
list, get and stream from it without an error, the simulator speaks the real protocol."""

from __future__ import annotations

from typing import Any

import pytest
from waylay.sdk import WaylayClient
from waylay.sdk.api.exceptions import ApiError

from tests.fixtures.simulator import Simulator


def sdk_client(sim: Simulator, tenant: str = "acme", secret: str | None = None) -> WaylayClient:
    key, real_secret = sim.auth(tenant)
    return WaylayClient.from_client_credentials(key, secret or real_secret, gateway_url=sim.url)


def as_dict(model: Any) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_unset=True)


async def test_the_sdk_lists_jobs_with_every_filter(sim: Simulator) -> None:
    client = sdk_client(sim)
    query = {
        "limit": 50,
        "type": ["build", "deploy", "verify"],
        "state": ["completed", "failed"],
        "functionType": ["plugs", "webscripts", "kfserving"],
        "createdAfter": "P7D",
        "createdBefore": "1h",
    }
    response = await client.registry.jobs.list(query=query)
    listed = [as_dict(job) for job in response.jobs]
    assert listed
    assert {job["type"] for job in listed} <= {"build", "deploy", "verify"}
    assert {job["state"] for job in listed} <= {"completed", "failed"}
    # The SDK authenticated with a token from the simulator's accounts endpoint.
    assert sim.count("tokens", "acme") == 1 and sim.count("list", "acme") == 1


async def test_the_sdk_gets_jobs_of_every_type(sim: Simulator) -> None:
    client = sdk_client(sim)
    listed = [as_dict(job) for job in (await client.registry.jobs.list(query={"limit": 1000})).jobs]
    samples = {job["type"]: job for job in listed}
    assert set(samples) == {"build", "deploy", "verify", "undeploy", "scale", "batch"}
    for job_type, job in samples.items():
        document = as_dict(await client.registry.jobs.get(job_type, job["id"]))
        assert document["job"]["job"]["id"] == job["id"]
    huge = as_dict(await client.registry.jobs.get(*sim.huge_log_job))
    assert len(huge["job"]["result"]["log"]) > 10_000


async def test_the_sdk_streams_events_until_close(sim: Simulator) -> None:
    client = sdk_client(sim)
    job = sim.create_job("acme", "verify", children=True)
    names: list[tuple[str, str | None]] = []
    events = await client.registry.jobs.events(query={"type": "verify", "id": job["id"], "children": True})
    async for event in events:
        data = event.data if isinstance(event.data, str) else as_dict(event.data)
        names.append((event.event, None if isinstance(data, str) else data["job"]["type"]))
        if event.event == "ack":
            for _ in range(6):  # build and deploy: active, completed; verify: active, completed
                sim.advance("acme", "verify", job["id"])
        if event.event == "close":
            break
    assert names[0] == ("ack", None) and names[-1] == ("close", None)
    job_events = [name for name in names if name[1] is not None]
    assert job_events[-1] == ("completed", "verify")
    assert {job_type for _, job_type in job_events} == {"build", "deploy", "verify"}


async def test_the_sdk_sees_the_simulators_401(sim: Simulator) -> None:
    client = sdk_client(sim)
    await client.registry.jobs.list(query={"limit": 1})
    sim.revoke("acme")
    with pytest.raises(ApiError) as raised:
        await client.registry.jobs.list(query={"limit": 1})
    assert raised.value.response.status_code == 401
