"""The simulator over a real socket, with plain httpx: what a client of the real API would see."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.fixtures.processes import ROOT, stop_process
from tests.fixtures.simulator import JOBS, SSE, Simulator, start_simulator


def get(sim: Simulator, path: str, tenant: str | None = "acme", **kwargs: Any) -> httpx.Response:
    auth = sim.auth(tenant) if tenant else None
    return httpx.get(f"{sim.url}{path}", auth=auth, timeout=10, **kwargs)


def jobs(sim: Simulator, params: Any = None, tenant: str = "acme") -> list[dict[str, Any]]:
    response = get(sim, f"{JOBS}/", tenant, params=params)
    assert response.status_code == 200, response.text
    return response.json()["jobs"]


def job_path(job_type: str, job_id: str) -> str:
    return f"{JOBS}/{job_type}/{quote(job_id, safe='')}"


def created(job: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(job["createdAt"].replace("Z", "+00:00"))


# --- list and filters --------------------------------------------------------------------------


def test_it_lists_the_seeded_history_newest_first(sim: Simulator) -> None:
    listed = jobs(sim)
    assert len(listed) > 60
    assert [created(j) for j in listed] == sorted((created(j) for j in listed), reverse=True)
    assert {j["type"] for j in listed} == {"build", "deploy", "verify", "undeploy", "scale", "batch"}
    assert {j["state"] for j in listed} >= {"completed", "failed", "active", "delayed", "waiting", "waiting-children"}
    assert all("$" in j["id"] for j in listed)


def test_no_job_is_processed_before_it_was_created_nor_finished_before_it_was_processed(sim: Simulator) -> None:
    job = sim.create_job("acme", "build", outcome="failed")
    sim.advance("acme", "build", job["id"], to="failed")  # at once: a job failing as soon as it is picked up
    listed = jobs(sim, {"limit": "1000"})
    assert job["id"] in {j["id"] for j in listed}

    def at(j: dict[str, Any], field: str) -> datetime:
        return datetime.fromisoformat(j[field].replace("Z", "+00:00"))

    for j in listed:
        if "processedAt" in j:
            assert at(j, "createdAt") <= at(j, "processedAt"), j
        if "finishedAt" in j and "processedAt" in j:
            assert at(j, "processedAt") <= at(j, "finishedAt"), j


def test_it_is_deterministic_for_a_seed(sim: Simulator) -> None:
    first = [j["id"] for j in jobs(sim)]
    sim.reset()
    assert [j["id"] for j in jobs(sim)] == first


@pytest.mark.parametrize("params", [{"type": "scale"}, [("type", "scale"), ("type", "batch")]])
def test_it_filters_on_type(sim: Simulator, params: Any) -> None:
    wanted = {value for _, value in (params.items() if isinstance(params, dict) else params)}
    listed = jobs(sim, params)
    assert listed and {j["type"] for j in listed} == wanted


def test_it_filters_on_state_and_function_type(sim: Simulator) -> None:
    failed = jobs(sim, [("state", "failed"), ("state", "delayed")])
    assert failed and {j["state"] for j in failed} == {"failed", "delayed"}
    models = jobs(sim, {"functionType": "kfserving"})
    assert models and {j["function"]["functionType"] for j in models} == {"kfserving"}


def test_it_lists_no_notify_jobs_as_the_spec_has_no_summary_for_them(sim: Simulator) -> None:
    assert jobs(sim, {"type": "notify"}) == []


def test_it_limits(sim: Simulator) -> None:
    response = get(sim, f"{JOBS}/", params={"limit": "3"})
    assert response.json()["limit"] == 3 and len(response.json()["jobs"]) == 3
    assert jobs(sim, {"limit": "0"}) == []


@pytest.mark.parametrize(
    ("spec", "age"),
    [
        ("P1D", timedelta(days=1)),
        ("PT1H", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
        ("3600000", timedelta(hours=1)),
        ("P2DT12H", timedelta(days=2, hours=12)),
    ],
)
def test_it_filters_on_age(sim: Simulator, spec: str, age: timedelta) -> None:
    now = datetime.now(UTC)
    recent = jobs(sim, {"createdAfter": spec})
    older = jobs(sim, {"createdBefore": spec})
    assert recent and older
    assert all(created(j) > now - age - timedelta(seconds=5) for j in recent)
    assert all(created(j) < now - age + timedelta(seconds=5) for j in older)
    assert len(recent) + len(older) == len(jobs(sim))


def test_it_filters_on_absolute_timestamps(sim: Simulator) -> None:
    listed = jobs(sim)
    middle = created(listed[len(listed) // 2])
    stamp = middle.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    before = jobs(sim, {"createdBefore": stamp})
    assert before and all(created(j) < middle for j in before)
    day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    since_day = jobs(sim, {"createdAfter": day})
    assert since_day and all(created(j).date().isoformat() >= day for j in since_day)
    both = jobs(sim, {"createdAfter": "2000-01-01T00:00", "createdBefore": "2000-01-02 00:00:00+02:00"})
    assert both == []


def test_jobs_created_in_one_millisecond_tie_and_the_bounds_are_strict(sim: Simulator) -> None:
    stamp = "2020-03-04T05:06:07.089Z"
    made = {sim.create_job("acme", "scale", created_at=stamp)["id"] for _ in range(3)}
    flow = sim.create_job("acme", "verify", children=True, created_at="2020-03-04T05:06:07.089123+00:00")
    tied = made | {flow["id"], *(child["id"] for child in flow["children"])}
    listed = jobs(sim, {"createdAfter": "2020-03-04T05:06:07.088Z", "createdBefore": "2020-03-04T05:06:07.090Z"})
    assert {j["id"] for j in listed} == tied and {j["createdAt"] for j in listed} == {stamp}
    assert jobs(sim, {"createdBefore": stamp, "createdAfter": "2020-01-01"}) == []
    assert jobs(sim, {"createdAfter": stamp, "createdBefore": "2020-04-01"}) == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"type": "cleanup"}, "type"),
        ({"type": "build,deploy"}, "type"),
        ({"state": "done"}, "state"),
        ({"functionType": "lambda"}, "functionType"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"createdBefore": "yesterday"}, "createdBefore"),
        ({"createdAfter": "1 day"}, "createdAfter"),
        ({"createdAfter": "P"}, "createdAfter"),
    ],
)
def test_it_rejects_invalid_filters_with_400_naming_the_parameter(sim: Simulator, params: Any, parameter: str) -> None:
    response = get(sim, f"{JOBS}/", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert parameter in response.json()["message"]


# --- get -----------------------------------------------------------------------------------------


def test_it_gets_a_job_by_its_percent_encoded_id(sim: Simulator) -> None:
    listed = jobs(sim, {"type": "deploy", "state": "completed", "limit": 1})[0]
    response = get(sim, job_path("deploy", listed["id"]))
    assert response.status_code == 200
    document = response.json()
    assert document["job"]["job"]["id"] == listed["id"]
    assert document["job"]["result"]["deploySpec"]["image"] == document["job"]["request"]["imageName"]
    # A raw `$` reaches the same job.
    assert get(sim, f"{JOBS}/deploy/{listed['id']}").json() == document


def test_its_links_point_at_itself(sim: Simulator) -> None:
    summary = jobs(sim, {"type": "build", "limit": 1})[0]
    assert summary["_links"]["job"]["href"].startswith(f"{sim.url}{JOBS}/build/")
    assert httpx.get(summary["_links"]["job"]["href"], auth=sim.auth("acme")).status_code == 200


def test_it_answers_404_for_unknown_jobs_and_400_for_unknown_types(sim: Simulator) -> None:
    response = get(sim, job_path("build", "no-such$job"))
    assert response.status_code == 404 and response.json()["statusCode"] == 404
    assert get(sim, job_path("cleanup", "no-such$job")).status_code == 404
    assert get(sim, job_path("compile", "x")).status_code == 400


def test_children_carry_their_parent(sim: Simulator) -> None:
    waiting = jobs(sim, {"type": "verify", "state": "waiting-children"})[0]
    build = next(j for j in jobs(sim, {"type": "build", "state": "active"}) if j["createdAt"] == waiting["createdAt"])
    document = get(sim, job_path("build", build["id"])).json()
    assert document["job"]["job"]["parent"]["id"] == waiting["id"]


def test_it_serves_the_known_jobs(sim: Simulator) -> None:
    huge = get(sim, job_path(*sim.huge_log_job))
    assert huge.status_code == 200 and len(huge.content) > 3 * 1024 * 1024
    assert len(huge.json()["job"]["result"]["log"]) > 10_000
    xss = get(sim, job_path(*sim.xss_job)).json()
    assert "<script>alert(1)</script>" in xss["job"]["job"]["failedReason"]
    assert xss["job"]["createdBy"] == "<script>alert(1)</script>"


# --- auth and isolation --------------------------------------------------------------------------


def test_it_rejects_wrong_or_missing_credentials(sim: Simulator) -> None:
    assert get(sim, f"{JOBS}/", tenant=None).status_code == 401
    wrong = httpx.get(f"{sim.url}{JOBS}/", auth=("acme-key", "nope"))
    assert wrong.status_code == 401 and wrong.json()["statusCode"] == 401
    assert httpx.get(f"{sim.url}{JOBS}/", auth=("acme-key", "globex-secret")).status_code == 401
    bad_bearer = httpx.get(f"{sim.url}{JOBS}/", headers={"Authorization": "Bearer a.b.c"})
    assert bad_bearer.status_code == 401


def token(sim: Simulator, tenant: str = "acme") -> str:
    key, secret = sim.auth(tenant)
    response = httpx.post(f"{sim.url}/accounts/v1/tokens", json={"clientId": key, "clientSecret": secret})
    assert response.status_code == 200
    return response.json()["token"]


def claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_it_issues_tokens_that_authenticate(sim: Simulator) -> None:
    jwt = token(sim)
    assert claims(jwt)["tenant"] == "acme" and claims(jwt)["exp"] > time.time() + 60
    response = httpx.get(f"{sim.url}{JOBS}/", headers={"Authorization": f"Bearer {jwt}"})
    assert response.status_code == 200 and response.json()["jobs"]
    assert sim.count("tokens", "acme") == 1 and sim.count("list", "acme") == 1
    refused = httpx.post(f"{sim.url}/accounts/v1/tokens", json={"clientId": "acme-key", "clientSecret": "x"})
    assert refused.status_code == 401


def test_it_rejects_expired_tokens(sim: Simulator) -> None:
    sim.set_faults(token_lifetime=-5)
    expired = token(sim)
    response = httpx.get(f"{sim.url}{JOBS}/", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["message"]
    sim.clear_faults()
    fresh = token(sim)
    assert httpx.get(f"{sim.url}{JOBS}/", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    sim.expire_tokens("acme")
    assert httpx.get(f"{sim.url}{JOBS}/", headers={"Authorization": f"Bearer {fresh}"}).status_code == 401
    assert httpx.get(f"{sim.url}{JOBS}/", headers={"Authorization": f"Bearer {token(sim)}"}).status_code == 200


def test_revoked_credentials_and_tokens_are_refused_until_restored(sim: Simulator) -> None:
    jwt = token(sim)
    sim.revoke("acme")
    assert get(sim, f"{JOBS}/").status_code == 401
    assert httpx.get(f"{sim.url}{JOBS}/", headers={"Authorization": f"Bearer {jwt}"}).status_code == 401
    assert get(sim, f"{JOBS}/", tenant="globex").status_code == 200
    sim.restore("acme")
    assert get(sim, f"{JOBS}/").status_code == 200


def test_a_tenant_never_sees_another_tenants_jobs(sim: Simulator) -> None:
    acme_ids = {j["id"] for j in jobs(sim, tenant="acme")}
    globex_ids = {j["id"] for j in jobs(sim, tenant="globex")}
    shared = {sim.huge_log_job[1], sim.xss_job[1]}  # the known jobs exist in every tenant
    assert acme_ids & globex_ids == shared
    only_acme = next(iter(acme_ids - shared))
    job_type = next(j["type"] for j in jobs(sim) if j["id"] == only_acme)
    assert get(sim, job_path(job_type, only_acme), tenant="globex").status_code == 404
    created_job = sim.create_job("globex", "scale")
    assert get(sim, job_path("scale", created_job["id"]), tenant="acme").status_code == 404
    assert get(sim, job_path("scale", created_job["id"]), tenant="globex").status_code == 200


# --- the event stream ----------------------------------------------------------------------------


def test_the_stream_acks_then_keeps_alive(sim: Simulator) -> None:
    with SSE(sim) as stream:
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.next()["event"] == "ack"
        assert stream.next()["event"] == "keep-alive"
        assert sim.open_streams("acme") == 1
    sim.wait_for_streams(0)


def test_the_stream_sends_job_events_as_they_happen(sim: Simulator) -> None:
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        job = sim.create_job("acme", "scale", outcome="failed")
        waiting = stream.job_event()
        assert waiting["event"] == "waiting" and waiting["data"]["job"] == {"type": "scale", "id": job["id"]}
        assert waiting["id"].isdigit()
        sim.advance("acme", "scale", job["id"])
        active = stream.job_event()
        assert active["event"] == "active" and active["data"]["data"]["prev"] == "waiting"
        sim.advance("acme", "scale", job["id"])
        failed = stream.job_event()
        assert failed["event"] == "failed" and failed["data"]["data"]["failedReason"]
        assert int(failed["id"]) > int(active["id"]) > int(waiting["id"])
    assert get(sim, job_path("scale", job["id"])).json()["job"]["state"] == "failed"


def test_an_id_filtered_stream_closes_after_its_job_finished(sim: Simulator) -> None:
    job = sim.create_job("acme", "build")
    other = sim.create_job("acme", "build")
    with SSE(sim, type="build", id=job["id"]) as stream:
        assert stream.next()["event"] == "ack"
        sim.advance("acme", "build", other["id"], to="completed")
        sim.advance("acme", "build", job["id"])
        assert stream.job_event()["event"] == "active"
        sim.advance("acme", "build", job["id"])
        completed = stream.job_event()
        assert completed["event"] == "completed"
        assert completed["data"]["data"]["returnvalue"]["digest"].startswith("sha256:")
        assert stream.job_event()["event"] == "close"
        assert stream.next() is None


def test_a_stream_on_a_finished_job_closes_at_once(sim: Simulator) -> None:
    finished = jobs(sim, {"type": "scale", "state": "completed", "limit": 1})[0]
    with SSE(sim, type="scale", id=finished["id"]) as stream:
        assert [stream.next()["event"], stream.next()["event"], stream.next()] == ["ack", "close", None]


def test_children_true_includes_the_child_jobs_events(sim: Simulator) -> None:
    flow = sim.create_job("acme", "verify", children=True)
    build, deploy = flow["children"]
    with (
        SSE(sim, type="verify", id=flow["id"], children="true") as with_children,
        SSE(sim, type="verify", id=flow["id"]) as alone,
    ):
        assert with_children.next()["event"] == "ack" and alone.next()["event"] == "ack"
        steps = 0
        while sim.advance("acme", "verify", flow["id"])["state"] not in ("completed", "failed"):
            steps += 1
            assert steps < 20
        seen = []
        while (event := with_children.job_event())["event"] != "close":
            seen.append((event["data"]["job"]["type"], event["event"]))
        assert seen == [
            ("build", "active"),
            ("build", "completed"),
            ("deploy", "active"),
            ("deploy", "completed"),
            ("verify", "waiting"),
            ("verify", "active"),
            ("verify", "completed"),
        ]
        alone_seen = []
        while (event := alone.job_event())["event"] != "close":
            alone_seen.append(event["data"]["job"]["type"])
        assert set(alone_seen) == {"verify"}
    assert get(sim, job_path("build", build["id"])).json()["job"]["job"]["parent"]["id"] == flow["id"]
    assert get(sim, job_path("deploy", deploy["id"])).json()["job"]["state"] == "completed"


def test_a_failing_child_fails_its_parent(sim: Simulator) -> None:
    flow = sim.create_job("acme", "verify", children=True, outcome="failed")
    with SSE(sim, id=flow["id"], children="true") as stream:
        assert stream.next()["event"] == "ack"
        sim.advance("acme", "verify", flow["id"], to=None)  # build active
        sim.advance("acme", "verify", flow["id"])  # build completed
        sim.advance("acme", "verify", flow["id"])  # deploy active
        sim.advance("acme", "verify", flow["id"])  # deploy fails, so does the verify
        events = []
        while (event := stream.job_event())["event"] != "close":
            events.append((event["data"]["job"]["type"], event["event"]))
        assert events[-2:] == [("deploy", "failed"), ("verify", "failed")]
    verify = get(sim, job_path("verify", flow["id"])).json()
    assert verify["job"]["state"] == "failed" and "deploy" in verify["job"]["job"]["failedReason"]


def test_streams_only_carry_their_tenants_events(sim: Simulator) -> None:
    with SSE(sim, tenant="globex") as globex:
        assert globex.next()["event"] == "ack"
        sim.create_job("acme", "scale")
        mine = sim.create_job("globex", "scale")
        event = globex.job_event()
        assert event["data"]["job"]["id"] == mine["id"]


def test_auto_advancing_jobs_run_to_their_end(sim: Simulator) -> None:
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        job = sim.create_job("acme", "undeploy", auto_ms=20, outcome="retry")
        names = []
        while (event := stream.job_event())["event"] not in ("completed", "failed"):
            names.append(event["event"])
        assert names == ["waiting", "active", "delayed", "waiting", "active"]
        assert event["event"] == "completed"
    assert get(sim, job_path("undeploy", job["id"])).json()["job"]["attemptsMade"] == 2


def test_last_event_id_replays_what_was_missed(sim: Simulator) -> None:
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        job = sim.create_job("acme", "scale")
        last = stream.job_event()["id"]
    sim.advance("acme", "scale", job["id"])
    sim.advance("acme", "scale", job["id"])
    with SSE(sim, headers={"Last-Event-ID": last}) as resumed:
        assert resumed.next()["event"] == "ack"
        assert [resumed.job_event()["event"], resumed.job_event()["event"]] == ["active", "completed"]
    assert sim.streams_opened("acme")[-1]["last_event_id"] == last


def test_without_event_ids_events_carry_no_id_and_nothing_is_replayed(sim_without_ids: Simulator) -> None:
    sim = sim_without_ids
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        job = sim.create_job("acme", "scale")
        raw = stream.raw_event()
        assert raw is not None and raw.startswith(b"event: waiting\n")  # no `id:` line, as the spec
    sim.advance("acme", "scale", job["id"])
    with SSE(sim, headers={"Last-Event-ID": "1"}) as resumed:
        assert resumed.next()["event"] == "ack"
        sim.advance("acme", "scale", job["id"])  # completed: the first event it gets is this one
        event = resumed.job_event()
        assert (event["event"], event["id"]) == ("completed", None)


def test_a_silent_change_changes_the_job_and_sends_no_event(sim: Simulator) -> None:
    job = sim.create_job("acme", "deploy")
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        moved = sim.advance("acme", "deploy", job["id"], to="active", silent=True)
        assert moved["state"] == "active"
        marker = sim.create_job("acme", "scale")  # the next event on the stream is this one's
        last = stream.job_event()
        assert last["data"]["job"]["id"] == marker["id"]
    assert get(sim, job_path("deploy", job["id"])).json()["job"]["state"] == "active"
    before = sim.stats()["events_emitted"]["acme"]
    sim.advance("acme", "deploy", job["id"], to="failed", silent=True)
    assert sim.stats()["events_emitted"]["acme"] == before
    # Nothing kept for replay either: a reconnect from before the change gets only what follows.
    with SSE(sim, headers={"Last-Event-ID": last["id"]}) as resumed:
        assert resumed.next()["event"] == "ack"
        follower = sim.create_job("acme", "scale")
        assert resumed.job_event()["data"]["job"]["id"] == follower["id"]
    assert get(sim, job_path("deploy", job["id"])).json()["job"]["state"] == "failed"
    response = httpx.post(
        f"{sim.url}/_sim/jobs/advance", json={"tenant": "acme", "type": "scale", "id": follower["id"], "silent": "yes"}
    )
    assert response.status_code == 400 and "silent" in response.json()["message"]


def test_the_stream_rejects_bad_parameters_and_credentials(sim: Simulator) -> None:
    assert get(sim, f"{JOBS}/events", params={"type": "compile"}).status_code == 400
    assert get(sim, f"{JOBS}/events", params={"children": "maybe"}).status_code == 400
    response = httpx.get(f"{sim.url}{JOBS}/events", auth=("acme-key", "wrong"))
    assert response.status_code == 401 and response.headers["content-type"].startswith("application/json")


# --- faults ------------------------------------------------------------------------------------


def test_latency_fault_delays_answers_of_the_chosen_endpoints(sim: Simulator) -> None:
    sim.set_faults(latency_ms=3000, endpoints=["get"])
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{sim.url}{job_path(*sim.xss_job)}", auth=sim.auth("acme"), timeout=0.5)
    assert httpx.get(f"{sim.url}{JOBS}/", auth=sim.auth("acme"), timeout=2.5).status_code == 200


def test_error_fault_answers_the_status_a_given_number_of_times(sim: Simulator) -> None:
    sim.set_faults(error_status=503, error_times=2, endpoints=["list"])
    assert [get(sim, f"{JOBS}/").status_code for _ in range(3)] == [503, 503, 200]
    assert sim.count("list", "acme") == 3
    sim.set_faults(error_status=500, error_times=None, tenant="globex")
    assert get(sim, f"{JOBS}/").status_code == 200
    assert get(sim, f"{JOBS}/", tenant="globex").status_code == 500


def test_garbage_fault_sends_invalid_json_with_200(sim: Simulator) -> None:
    sim.set_faults(garbage="json")
    response = get(sim, f"{JOBS}/")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    sim.set_faults(garbage="shape")
    assert isinstance(get(sim, f"{JOBS}/").json(), list)
    sim.clear_faults()
    assert get(sim, f"{JOBS}/").json()["jobs"]


def test_garbage_fault_on_the_stream_sends_an_undecodable_event(sim: Simulator) -> None:
    sim.set_faults(garbage="json", endpoints=["events"])
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        with pytest.raises(json.JSONDecodeError):
            stream.next()


def test_dropping_streams_ends_them_cleanly(sim: Simulator) -> None:
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        assert sim.drop_streams() == 1
        assert stream.job_event() is None
    assert sim.open_streams() == 0


def test_dropping_streams_mid_event_cuts_the_connection(sim: Simulator) -> None:
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        sim.drop_streams(mid_event=True)
        with pytest.raises(httpx.RemoteProtocolError):
            stream.job_event()


def test_aborting_streams_cuts_the_connection(sim: Simulator) -> None:
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        sim.drop_streams(abort=True)
        with pytest.raises(httpx.RemoteProtocolError):
            stream.job_event()


def test_keepalives_can_be_stopped(sim: Simulator) -> None:
    sim.set_faults(keepalive=False)
    with SSE(sim, timeout=sim.keepalive * 3) as stream:
        assert stream.next()["event"] == "ack"
        with pytest.raises(httpx.ReadTimeout):
            stream.next()


def test_raw_chunks_reach_open_streams_verbatim(sim: Simulator) -> None:
    text = 'id: 999999\nevent: completed\ndata: {"note": "line\u2028separator"}\n\n'
    with SSE(sim) as stream:
        assert stream.next()["event"] == "ack"
        assert sim.emit_raw("acme", text) == 1
        raw = stream.raw_event()
        while raw.startswith(b"event: keep-alive"):
            raw = stream.raw_event()
        assert raw + b"\n\n" == text.encode()


def test_reset_restores_the_seeded_state(sim: Simulator) -> None:
    before = [(j["id"], j["state"]) for j in jobs(sim)]
    sim.create_job("acme", "scale")
    sim.set_faults(error_status=503)
    sim.revoke("acme")
    sim.reset()
    assert [(j["id"], j["state"]) for j in jobs(sim)] == before
    assert sim.count("list", "acme") == 1


# --- every document against the spec ------------------------------------------------------------

SPEC = ROOT / "jobsdash" / "waylay" / "spec" / "registry-jobs.openapi.yaml"
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_EVENT_SCHEMAS = {
    "active": "ActiveEventSSE",
    "completed": "CompletedEventSSE",
    "failed": "FailedEventSSE",
    "delayed": "DelayedEventSSE",
    "waiting": "WaitingEventSSE",
    "waiting-children": "WaitingChildrenEventSSE",
    "keep-alive": "KeepAliveEventSSE",
}


@pytest.fixture(scope="module")
def validate() -> Callable[[str, Any], None]:
    """validate(schema_name, document): jsonschema (2020-12, as OpenAPI 3.1) against the spec."""
    spec = yaml.safe_load(SPEC.read_text())
    registry = Registry().with_resource("urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012))
    validators: dict[str, Draft202012Validator] = {}
    formats = FormatChecker()
    # jsonschema checks date-time only with an optional package; the spec's timestamps are RFC 3339.
    formats.checks("date-time")(lambda value: not isinstance(value, str) or bool(_RFC3339.fullmatch(value)))

    def check(name: str, document: Any) -> None:
        if name not in validators:
            schema = {"$ref": f"urn:spec#/components/schemas/{name}"}
            validators[name] = Draft202012Validator(schema, registry=registry, format_checker=formats)
        errors = list(validators[name].iter_errors(document))
        assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"

    return check


def test_the_validator_can_fail(validate: Callable[[str, Any], None]) -> None:
    with pytest.raises(AssertionError):
        validate("IJobResponse", {"job": {"type": "build", "state": "completed"}, "_links": {}})
    with pytest.raises(AssertionError):
        validate("JobStatus", {"id": "x", "name": "n", "progress": 1, "attemptsMade": 0, "finishedOn": "yesterday"})
    with pytest.raises(AssertionError):
        validate("CompletedEventSSE", {"event": "completed", "data": {"job": {"type": "build"}}})


def test_every_list_and_get_document_validates(sim: Simulator, validate: Callable[[str, Any], None]) -> None:
    sim.create_job("acme", "batch", children=True)
    sim.create_job("acme", "verify", children=True)
    seen_types, seen_states = set(), set()
    for tenant in ("acme", "globex"):
        response = get(sim, f"{JOBS}/", tenant, params={"limit": "1000"})
        validate("IJobsResponse", response.json())
        for summary in response.json()["jobs"]:
            seen_types.add(summary["type"])
            seen_states.add(summary["state"])
            if tenant == "globex":
                continue  # the same generator made them; getting acme's is sample enough
            document = get(sim, job_path(summary["type"], summary["id"]), tenant).json()
            validate("IJobResponse", document)
    assert seen_types == {"build", "deploy", "verify", "undeploy", "scale", "batch"}
    assert seen_states == {
        "completed", "failed", "active", "delayed", "waiting", "waiting-children", "prioritized", "unknown"
    }  # fmt: skip


def test_a_progress_set_by_the_jobs_code_is_a_number_or_an_object_and_validates(
    sim: Simulator, validate: Callable[[str, Any], None]
) -> None:
    job = sim.create_job("acme", "build")
    for progress in (42, 12.5, {"step": "push", "layers": {"done": 3, "of": 7}}):
        sim.set_progress("acme", "build", job["id"], progress)
        document = get(sim, job_path("build", job["id"])).json()
        validate("IJobResponse", document)
        assert document["job"]["job"]["progress"] == progress
    for refused in ("half", True, None, [1]):
        with pytest.raises(AssertionError, match="400"):
            sim.set_progress("acme", "build", job["id"], refused)
    with pytest.raises(AssertionError, match="404"):
        sim.set_progress("acme", "build", "no-such-job", 1)


def test_every_event_validates(sim: Simulator, validate: Callable[[str, Any], None]) -> None:
    with SSE(sim, children="true") as stream:
        ack = stream.next()
        validate("EventWithCloseSSE", ack)
        created = [
            sim.create_job("acme", "verify", children=True, auto_ms=5, notify=True),
            sim.create_job("acme", "verify", children=True, auto_ms=5, outcome="failed"),
            sim.create_job("acme", "batch", children=True, auto_ms=5, outcome="retry"),
        ]
        for job_type in ("build", "deploy", "undeploy", "scale", "cleanup", "notify"):
            for outcome in ("completed", "failed", "retry"):
                created.append(sim.create_job("acme", job_type, auto_ms=5, outcome=outcome))
        pending = {job["id"] for job in created} | {c["id"] for job in created for c in job["children"]}
        names, types = set(), set()
        while pending:
            event = stream.next()
            names.add(event["event"])
            if event["event"] == "keep-alive":
                validate("EventWithCloseSSE", event)
                validate("KeepAliveEventSSE", event)
                continue
            validate(_EVENT_SCHEMAS[event["event"]], event)
            validate("EventWithCloseSSE", event)
            types.add(event["data"]["job"]["type"])
            if event["event"] in ("completed", "failed"):
                pending.discard(event["data"]["job"]["id"])
    finished = jobs(sim, {"state": "completed", "limit": 1})[0]
    with SSE(sim, type=finished["type"], id=finished["id"]) as closing:
        closing.next()
        close = closing.next()
        validate("EventWithCloseSSE", close)
        assert close["event"] == "close"
    assert names >= {"waiting", "waiting-children", "active", "delayed", "completed", "failed"}
    assert types == {"build", "deploy", "verify", "undeploy", "scale", "batch", "cleanup", "notify"}


def test_with_a_rate_new_jobs_keep_arriving(tmp_path: Path) -> None:
    process, url = start_simulator(tmp_path / "simulator.log", "--rate", "600")
    try:
        with SSE(Simulator(url)) as stream:
            assert stream.next()["event"] == "ack"
            first = stream.job_event()
            assert first["event"] in ("waiting", "waiting-children")
            assert stream.job_event()["data"]["job"]["id"]
    finally:
        stop_process(process)


def test_control_requests_that_cannot_be_honoured_say_why(sim: Simulator) -> None:
    finished = jobs(sim, {"type": "scale", "state": "completed", "limit": 1})[0]
    for path, body, status in [
        ("jobs/advance", {"tenant": "acme", "type": "scale", "id": finished["id"]}, 409),
        ("jobs/advance", {"tenant": "acme", "type": "scale", "id": "nope"}, 404),
        ("jobs", {"tenant": "initech", "type": "scale"}, 404),
        ("jobs", {"tenant": "acme", "type": "compile"}, 400),
        ("jobs", {"tenant": "acme", "type": "scale", "created_at": "2020-03-04T05:06:07"}, 400),
        ("jobs", {"tenant": "acme", "type": "scale", "created_at": "yesterday"}, 400),
        ("faults", {"lateness": 3}, 400),
        ("faults", {"latency_ms": "3"}, 400),
        ("faults", {"error_status": 200}, 400),
        ("faults", {"endpoints": ["everything"]}, 400),
        ("streams/drop", {"how": "gently"}, 400),
    ]:
        response = httpx.post(f"{sim.url}/_sim/{path}", json=body)
        assert response.status_code == status, (path, body, response.text)
        assert response.json()["message"]
