"""What the simulator's failures and build logs look like over a real port: failures that recur
across jobs with per-job details (so failure groups mean something), build logs with ANSI colours
and, for failed builds, BuildKit's error section."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from jobsdash.jobs.buildlog import error_line_numbers, plain, render
from jobsdash.jobs.grouping import failed_job, failed_job_from_event, group_failures
from tests.fixtures.simulator import JOBS, SSE, Simulator


def listed(sim: Simulator, tenant: str = "acme", **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(f"{sim.url}{JOBS}/", params={"limit": "1000", **params}, auth=sim.auth(tenant), timeout=10)
    assert response.status_code == 200
    return response.json()["jobs"]


def document(sim: Simulator, job_type: str, job_id: str, tenant: str = "acme") -> dict[str, Any]:
    url = f"{sim.url}{JOBS}/{job_type}/{quote(job_id, safe='')}"
    response = httpx.get(url, auth=sim.auth(tenant), timeout=30)
    assert response.status_code == 200
    return response.json()


def failed(sim: Simulator, tenant: str = "acme", **params: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(s, document(sim, s["type"], s["id"], tenant)) for s in listed(sim, tenant, state="failed", **params)]


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_failures_recur_across_jobs_with_details_of_their_own(sim: Simulator, tenant: str) -> None:
    jobs = failed(sim, tenant)
    groups = group_failures(failed_job(summary, doc) for summary, doc in jobs)
    assert len(jobs) >= 15 and len(groups) >= 8
    recurring = [group for group in groups if group.count >= 2]
    assert len(recurring) >= 4
    assert any(group.count >= 3 and len(group.functions) >= 3 for group in groups)
    reasons = {(s["type"], s["id"]): doc["job"]["job"]["failedReason"] for s, doc in jobs}
    for group in recurring:
        # One signature, yet the reasons differ: each carries its own job's details (a few say
        # nothing job-specific, like "Batch failed: 3 of 3 child jobs failed").
        texts = {reasons[job] for job in group.jobs}
        assert len(texts) > 1 or "<" not in group.signature, group.signature
    for kind in ("Build failed", "Deployment failed", "Scale failed", "Undeploy failed", "child ", "parent job"):
        assert any(group.signature.startswith(kind) for group in groups), kind


def test_a_live_failed_event_has_the_signature_of_its_document(sim: Simulator) -> None:
    kinds = ["build", "deploy", "verify", "undeploy", "scale", "build", "deploy", "verify"]
    with SSE(sim, timeout=15) as stream:
        assert stream.next()["event"] == "ack"
        created = {sim.create_job("acme", kind, auto_ms=5, outcome="failed")["id"] for kind in kinds}
        events: dict[str, dict[str, Any]] = {}
        while set(events) != created:
            event = stream.job_event()
            assert event is not None
            if event["event"] == "failed" and event["data"]["job"]["id"] in created:
                events[event["data"]["job"]["id"]] = event["data"]
    summaries = {s["id"]: s for s in listed(sim, state="failed", createdAfter="PT5M")}
    for job_id, data in events.items():
        summary = summaries[job_id]
        from_page = failed_job(summary, document(sim, summary["type"], job_id))
        assert failed_job_from_event(data).signature == from_page.signature
        assert from_page.reason == data["data"]["failedReason"]


def test_failed_builds_keep_a_coloured_log_that_ends_in_buildkits_error(sim: Simulator) -> None:
    builds = [(s, doc) for s, doc in failed(sim, type="build") if s["id"] != sim.xss_job[1]]
    assert len(builds) >= 3
    for _, doc in builds:
        result = doc["job"]["result"]
        assert result["status"] == "failed" and result["digest"] == ""
        log = result["log"]
        assert any("\x1b[31m" in line for line in log)  # errors in red
        last = plain(log[-1])
        assert last.startswith("ERROR: failed to solve:")
        assert error_line_numbers(log), "an error to jump to"
        if "exit code" in doc["job"]["job"]["failedReason"]:
            # The reason's exit code is the one BuildKit reports, in the section that shows the step.
            code = doc["job"]["job"]["failedReason"].rsplit("exit code: ", 1)[1].split()[0]
            assert last.endswith(f"exit code: {code}")
            assert any(plain(line).startswith("Dockerfile:") for line in log)
            assert any(">>> RUN" in plain(line) for line in log)


def test_completed_build_logs_are_coloured_and_have_no_error_lines(sim: Simulator) -> None:
    builds = [s for s in listed(sim, type="build", state="completed") if s["id"] != sim.huge_log_job[1]]
    assert builds
    for summary in builds:
        doc = document(sim, "build", summary["id"])
        log = [line for line in doc["job"]["result"]["log"] if not line.startswith("#99 echo")]  # the seeded XSS line
        assert error_line_numbers(log) == []
        rendered = render(log)
        assert any('<span class="ansi-fg-blue">' in line.html for line in rendered)  # BuildKit's step headers
        assert all("\x1b" not in line.html for line in rendered)
        assert plain(log[-1]).split()[1] == "DONE"
        assert f"naming to {doc['job']['request']['imageName']} done" in plain(log[-2])


def test_the_huge_log_renders_its_tail_with_the_colour_state_of_the_lines_before(sim: Simulator) -> None:
    log = document(sim, *sim.huge_log_job)["job"]["result"]["log"]
    assert sum(len(line) + 1 for line in log) > 3 * 1024 * 1024
    tail = render(log, range(len(log) - 199, len(log) + 1))
    assert len(tail) == 200 and tail[-1].text.startswith("#") and "DONE" in tail[-1].text
    assert any("ansi-" in line.html for line in tail)


def test_failures_and_logs_are_the_same_after_a_reset(sim: Simulator) -> None:
    def content() -> list[tuple[str, Any]]:
        return [(doc["job"]["job"]["failedReason"], doc["job"].get("result")) for _, doc in failed(sim, type="build")]

    before = content()
    sim.reset()
    assert content() == before
