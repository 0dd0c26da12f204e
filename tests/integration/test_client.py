"""The Waylay client against the simulator on a real port: every list filter, every error class,
token mode, and the event stream (ack, keep-alives, close, cuts, Last-Event-ID, U+2028)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobsdash.waylay import auth, client
from jobsdash.waylay.client import Event, get_job, list_jobs, stream_events
from jobsdash.waylay.errors import BadResponse, CredentialsRejected, InvalidQuery, NotFound, UpstreamUnavailable
from jobsdash.waylay.queries import ListQuery, parse_list_query

WAIT = 10.0  # bound on any single await of the simulator


@pytest.fixture
def wrong_secret(sim: Any, make_tenant: Callable[..., Any]) -> Any:
    """acme's key with a wrong secret."""
    return make_tenant("acme-wrong", gateway_url=sim.url, api_key="acme-key", api_secret="wrong")


@pytest.fixture
def nowhere(make_tenant: Callable[..., Any]) -> Any:
    """A tenant whose gateway refuses connections."""
    return make_tenant("nowhere", gateway_url="http://127.0.0.1:9")


@pytest.fixture(autouse=True)
async def _fresh_client(settings: Any) -> AsyncIterator[None]:
    settings.UPSTREAM_RETRY_DELAYS = (0.01, 0.01)
    auth.forget_all_tokens()
    yield
    await client.aclose_clients()
    auth.forget_all_tokens()


def query(**params: str | list[str]) -> ListQuery:
    return parse_list_query({name: [v] if isinstance(v, str) else v for name, v in params.items()})


def created(job: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(job["createdAt"].replace("Z", "+00:00"))


def function_type(job: dict[str, Any]) -> str | None:
    return job["_functionType"]


async def add_function_types(tenant: Any, jobs: list[dict[str, Any]]) -> None:
    """Note each job's function type: from its summary's function, else (batch jobs) from the
    request of its full document, which the simulator's filter also looks at."""
    for job in jobs:
        job["_functionType"] = (job.get("function") or {}).get("functionType")
        if job["_functionType"] is None:
            detail = (await get_job(tenant, job["type"], job["id"]))["job"]
            job["_functionType"] = detail.get("request", {}).get("functionType")


async def next_event(events: AsyncIterator[Event], skip: tuple[str, ...] = ("keep-alive",)) -> Event:
    async with asyncio.timeout(WAIT):
        while True:
            event = await anext(events)
            if event.name not in skip:
                return event


async def drain(events: AsyncIterator[Event]) -> list[Event]:
    seen = []
    async with asyncio.timeout(WAIT):
        async for event in events:
            if event.name != "keep-alive":
                seen.append(event)
    return seen


# --- list and get ---------------------------------------------------------------------------

NOW = datetime.now(UTC)

FILTERS: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
    ({"type": ["build", "deploy"]}, lambda j: j["type"] in ("build", "deploy")),
    ({"type": "scale"}, lambda j: j["type"] == "scale"),
    ({"state": "failed"}, lambda j: j["state"] == "failed"),
    ({"state": ["active", "waiting", "delayed"]}, lambda j: j["state"] in ("active", "waiting", "delayed")),
    ({"functionType": "webscripts"}, lambda j: function_type(j) == "webscripts"),
    ({"functionType": ["plugs", "kfserving"]}, lambda j: function_type(j) in ("plugs", "kfserving")),
    ({"createdAfter": "P2D"}, lambda j: created(j) > NOW - timedelta(days=2)),
    ({"createdBefore": "72h"}, lambda j: created(j) < NOW - timedelta(hours=72)),
    (
        {"createdAfter": (NOW - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"), "createdBefore": "1d"},
        lambda j: NOW - timedelta(days=5) < created(j) < NOW - timedelta(days=1),
    ),
    ({"type": "build", "state": "completed"}, lambda j: j["type"] == "build" and j["state"] == "completed"),
]


@pytest.mark.parametrize(("params", "matches"), FILTERS, ids=[json.dumps(f[0]) for f in FILTERS])
async def test_each_list_filter_reaches_the_simulator_and_selects_its_jobs(
    acme: Any, params: dict[str, Any], matches: Callable[[dict[str, Any]], bool]
) -> None:
    everything = (await list_jobs(acme, query(limit="1000")))["jobs"]
    chosen = (await list_jobs(acme, query(limit="1000", **params)))["jobs"]
    if "functionType" in params:
        await add_function_types(acme, everything)

    expected = [job["id"] for job in everything if matches(job)]
    assert 0 < len(expected) < len(everything)  # the filter selects something, not everything
    assert [job["id"] for job in chosen] == expected


async def test_limit_returns_the_newest_jobs(acme: Any) -> None:
    everything = (await list_jobs(acme, query(limit="1000")))["jobs"]
    document = await list_jobs(acme, query(limit="5"))

    assert document["limit"] == 5
    assert [job["id"] for job in document["jobs"]] == [job["id"] for job in everything[:5]]


async def test_each_tenant_sees_its_own_jobs(acme: Any, globex: Any, sim: Any) -> None:
    ours = {job["id"] for job in (await list_jobs(acme, ListQuery()))["jobs"]}
    theirs = {job["id"] for job in (await list_jobs(globex, ListQuery()))["jobs"]}

    assert len(ours) > 10 and len(theirs) > 10
    assert ours & theirs == {sim.xss_job[1], sim.huge_log_job[1]}  # the known jobs every tenant has


async def test_get_returns_the_job_of_a_listed_id_with_a_dollar(acme: Any, sim: Any) -> None:
    listed = (await list_jobs(acme, query(type="deploy", limit="3")))["jobs"]
    for summary in listed:
        assert "$" in summary["id"]
        document = await get_job(acme, "deploy", summary["id"])
        assert document["job"]["type"] == "deploy"
        assert document["job"]["createdAt"] == summary["createdAt"]
        assert document["_links"]
    assert sim.count("get", "acme") == 3


async def test_get_of_an_unknown_job_is_not_found(acme: Any) -> None:
    with pytest.raises(NotFound):
        await get_job(acme, "build", "no-such-job$x")
    with pytest.raises(NotFound):
        await get_job(acme, "build", "../../jobs")  # encoded: never reaches another route


async def test_an_upstream_400_names_the_parameter(acme: Any) -> None:
    with pytest.raises(InvalidQuery) as caught:
        await list_jobs(acme, ListQuery(limit="-1"))  # bypasses parse_list_query on purpose
    assert caught.value.parameter == "limit"


async def test_a_wrong_secret_is_credentials_rejected_without_retry(wrong_secret: Any, sim: Any) -> None:
    with pytest.raises(CredentialsRejected) as caught:
        await list_jobs(wrong_secret, ListQuery())
    assert caught.value.status == 401
    assert sim.count("list", "acme") == 1


async def test_revoked_credentials_are_credentials_rejected(acme: Any, sim: Any) -> None:
    sim.revoke("acme")

    with pytest.raises(CredentialsRejected):
        await get_job(acme, *sim.xss_job)


async def test_a_5xx_is_retried_twice_then_upstream_unavailable(acme: Any, sim: Any) -> None:
    sim.set_faults(error_status=503, endpoints=["list"])

    with pytest.raises(UpstreamUnavailable, match="503"):
        await list_jobs(acme, ListQuery())
    assert sim.count("list", "acme") == 3


async def test_a_passing_5xx_is_absorbed_by_the_retries(acme: Any, sim: Any) -> None:
    sim.set_faults(error_status=502, error_times=2, endpoints=["get"])

    document = await get_job(acme, *sim.xss_job)
    assert document["job"]["type"] == "build"
    assert sim.count("get", "acme") == 3


async def test_a_slow_upstream_times_out_as_upstream_unavailable(acme: Any, sim: Any, settings: Any) -> None:
    settings.UPSTREAM_REQUEST_TIMEOUT = 0.2
    sim.set_faults(latency_ms=1500, endpoints=["list"])

    with pytest.raises(UpstreamUnavailable, match="ReadTimeout"):
        await list_jobs(acme, ListQuery())
    assert sim.count("list", "acme") == 3


async def test_an_unreachable_gateway_is_upstream_unavailable(nowhere: Any) -> None:
    with pytest.raises(UpstreamUnavailable, match="ConnectError"):
        await list_jobs(nowhere, ListQuery())


@pytest.mark.parametrize("garbage", ["json", "shape"])
async def test_garbage_is_bad_response_without_retry(acme: Any, sim: Any, garbage: str) -> None:
    sim.set_faults(garbage=garbage, endpoints=["list", "get"])

    with pytest.raises(BadResponse):
        await list_jobs(acme, ListQuery())
    with pytest.raises(BadResponse):
        await get_job(acme, *sim.xss_job)
    assert sim.count("list", "acme") == 1
    assert sim.count("get", "acme") == 1


# --- token mode -----------------------------------------------------------------------------


async def test_token_mode_fetches_one_token_and_reuses_it(acme_token: Any, sim: Any) -> None:
    await list_jobs(acme_token, ListQuery())
    await list_jobs(acme_token, query(type="build"))
    await get_job(acme_token, *sim.xss_job)

    assert sim.count("tokens", "acme") == 1
    assert sim.count("list", "acme") == 2


async def test_concurrent_requests_share_one_token_fetch(acme_token: Any, sim: Any) -> None:
    documents = await asyncio.gather(*(list_jobs(acme_token, query(limit="2")) for _ in range(8)))

    assert all(len(document["jobs"]) == 2 for document in documents)
    assert sim.count("tokens", "acme") == 1


async def test_a_rejected_token_is_replaced_once(acme_token: Any, sim: Any) -> None:
    await list_jobs(acme_token, ListQuery())
    sim.expire_tokens("acme")

    assert (await list_jobs(acme_token, ListQuery()))["jobs"]
    assert sim.count("tokens", "acme") == 2
    assert sim.count("list", "acme") == 3  # the first, the refused one, its retry


async def test_a_token_near_its_expiry_is_replaced_before_use(
    acme_token: Any, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await list_jobs(acme_token, ListQuery())
    monkeypatch.setattr(auth, "clock", lambda: time.time() + 3600 - 30)  # tokens live 3600 s

    await list_jobs(acme_token, ListQuery())
    assert sim.count("tokens", "acme") == 2
    assert sim.count("list", "acme") == 2  # no 401 on the way


async def test_tokens_refused_twice_are_credentials_rejected(acme_token: Any, sim: Any) -> None:
    sim.set_faults(token_lifetime=-10)  # every token arrives expired

    with pytest.raises(CredentialsRejected):
        await list_jobs(acme_token, ListQuery())
    assert sim.count("tokens", "acme") == 2
    assert sim.count("list", "acme") == 2


async def test_a_refused_token_request_is_credentials_rejected(acme_token: Any, sim: Any) -> None:
    sim.revoke("acme")

    with pytest.raises(CredentialsRejected):
        await list_jobs(acme_token, ListQuery())
    assert sim.count("tokens", "acme") == 1
    assert sim.count("list", "acme") == 0


async def test_an_accounts_service_down_is_upstream_unavailable(acme_token: Any, sim: Any) -> None:
    sim.set_faults(error_status=503, endpoints=["tokens"])

    with pytest.raises(UpstreamUnavailable):
        await list_jobs(acme_token, ListQuery())
    assert sim.count("tokens", "acme") == 3


# --- event stream ---------------------------------------------------------------------------


async def test_a_stream_yields_ack_keep_alives_and_job_events(acme: Any, sim: Any) -> None:
    async with contextlib.aclosing(stream_events(acme, job_type="deploy")) as events:
        assert (await next_event(events, skip=())).name == "ack"
        assert (await next_event(events, skip=())).name == "keep-alive"  # every 0.5 s at the simulator
        sim.create_job("acme", "build")  # filtered out
        job = sim.create_job("acme", "deploy")
        event = await next_event(events)

    assert event.name == "waiting"
    assert event.data["job"]["id"] == job["id"]
    assert event.id and event.id.isdigit()


async def test_an_id_filtered_stream_ends_with_close(acme: Any, sim: Any) -> None:
    job = sim.create_job("acme", "build")
    async with contextlib.aclosing(stream_events(acme, job_type="build", job_id=job["id"])) as events:
        assert (await next_event(events)).name == "ack"
        sim.advance("acme", "build", job["id"])
        sim.advance("acme", "build", job["id"])
        rest = await drain(events)

    assert [event.name for event in rest] == ["active", "completed", "close"]
    assert {event.data["job"]["id"] for event in rest[:2]} == {job["id"]}
    assert sim.streams_opened("acme")[-1]["id"] == job["id"]  # the `$` id arrived intact


async def test_children_adds_the_events_of_child_jobs(acme: Any, sim: Any) -> None:
    job = sim.create_job("acme", "verify", children=True)
    child_ids = {child["id"] for child in job["children"]}
    async with contextlib.aclosing(stream_events(acme, job_type="verify", job_id=job["id"], children=True)) as events:
        assert (await next_event(events)).name == "ack"
        sim.advance("acme", "verify", job["id"])  # moves the first child
        event = await next_event(events)

    assert event.data["job"]["id"] in child_ids


async def test_reconnecting_with_last_event_id_replays_what_was_missed(acme: Any, sim: Any) -> None:
    async with contextlib.aclosing(stream_events(acme)) as events:
        assert (await next_event(events)).name == "ack"
        sim.create_job("acme", "build")
        seen = await next_event(events)
    missed = sim.create_job("acme", "deploy")  # while disconnected

    async with contextlib.aclosing(stream_events(acme, last_event_id=seen.id)) as events:
        assert (await next_event(events)).name == "ack"
        replayed = await next_event(events)

    assert sim.streams_opened("acme")[-1]["last_event_id"] == seen.id
    assert replayed.data["job"]["id"] == missed["id"]
    assert int(replayed.id) > int(seen.id)


async def test_a_line_separator_inside_an_events_json_survives(acme: Any, sim: Any) -> None:
    reason = "first line\u2028second line\u2029third\u0085fourth"
    document = {"job": {"type": "build", "id": "x$y", "state": "failed", "failedReason": reason}, "data": {}}
    async with contextlib.aclosing(stream_events(acme)) as events:
        assert (await next_event(events)).name == "ack"
        sim.emit_raw("acme", f"id: 900\nevent: failed\ndata: {json.dumps(document, ensure_ascii=False)}\n\n")
        event = await next_event(events)

    assert event == Event("failed", document, "900")


async def test_a_stream_cut_mid_event_is_upstream_unavailable(acme: Any, sim: Any) -> None:
    names = []
    with pytest.raises(UpstreamUnavailable, match="cut"):
        async with contextlib.aclosing(stream_events(acme)) as events:
            names.append((await next_event(events)).name)
            assert sim.drop_streams(mid_event=True) == 1
            while True:
                names.append((await next_event(events)).name)
    assert names == ["ack"]  # the half event was not yielded


async def test_an_aborted_stream_is_upstream_unavailable(acme: Any, sim: Any) -> None:
    with pytest.raises(UpstreamUnavailable):
        async with contextlib.aclosing(stream_events(acme)) as events:
            await next_event(events)
            sim.drop_streams(abort=True)
            await drain(events)


async def test_a_clean_end_of_stream_ends_the_iterator(acme: Any, sim: Any) -> None:
    async with contextlib.aclosing(stream_events(acme)) as events:
        await next_event(events)
        sim.drop_streams()
        assert await drain(events) == []


async def test_a_silent_stream_is_upstream_unavailable(acme: Any, sim: Any) -> None:
    sim.set_faults(keepalive=False)

    with pytest.raises(UpstreamUnavailable, match="silent"):
        async with contextlib.aclosing(stream_events(acme, read_timeout=0.3)) as events:
            assert (await next_event(events)).name == "ack"
            await next_event(events)


async def test_an_undecodable_event_is_skipped(acme: Any, sim: Any, caplog: pytest.LogCaptureFixture) -> None:
    sim.set_faults(garbage="json", endpoints=["events"])
    async with contextlib.aclosing(stream_events(acme)) as events:
        assert (await next_event(events)).name == "ack"
        job = sim.create_job("acme", "build")
        event = await next_event(events)

    assert (event.name, event.data["job"]["id"]) == ("waiting", job["id"])
    assert "skipped a completed event" in caplog.text


@pytest.mark.parametrize(
    ("fault", "error"),
    [({"error_status": 503}, UpstreamUnavailable), ({"error_status": 404}, NotFound)],
)
async def test_a_stream_checks_the_status_and_does_not_retry(
    acme: Any, sim: Any, fault: dict[str, Any], error: type
) -> None:
    sim.set_faults(endpoints=["events"], **fault)

    with pytest.raises(error):
        await drain(stream_events(acme))
    assert sim.count("events", "acme") == 1


async def test_a_stream_with_wrong_credentials_is_credentials_rejected(wrong_secret: Any, sim: Any) -> None:
    with pytest.raises(CredentialsRejected):
        await drain(stream_events(wrong_secret))
    assert sim.count("events", "acme") == 1


async def test_a_token_mode_stream_replaces_a_rejected_token(acme_token: Any, sim: Any) -> None:
    await list_jobs(acme_token, ListQuery())
    sim.expire_tokens("acme")

    async with contextlib.aclosing(stream_events(acme_token)) as events:
        assert (await next_event(events)).name == "ack"
    assert sim.count("tokens", "acme") == 2
    assert sim.count("events", "acme") == 2
