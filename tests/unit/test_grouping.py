"""Failure groups from failed jobs' summaries and documents, and from live `failed` events."""

from __future__ import annotations

from typing import Any

from jobsdash.jobs.grouping import FailedJob, failed_job, failed_job_from_event, failures_json, group_failures
from jobsdash.jobs.signatures import NO_REASON

ETARGET = "Build failed: npm ERR! code ETARGET\nnpm ERR! notarget No matching version found for lodash@{wanted}."
PULL = 'Deployment failed: Back-off pulling image "registry.waylay.io/acme/plugs-{slug}:{version}"'


def _function(name: str, version: str) -> dict[str, Any]:
    return {"functionType": "plugs", "name": name, "version": version, "runtime": "plugs-node20"}


def _failed(
    job_type: str, job_id: str, reason: str, finished: str | None, function: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A failed job's list summary and get document, shaped as the registry sends them."""
    summary: dict[str, Any] = {
        "type": job_type,
        "id": job_id,
        "state": "failed",
        "createdAt": "2024-05-01T09:00:00.000Z",
    }
    status: dict[str, Any] = {"type": job_type, "state": "failed", "createdAt": summary["createdAt"], "request": {}}
    if finished:
        summary["finishedAt"] = status["finishedAt"] = finished
    if function:
        summary["function"] = status["function"] = function
        slug = function["name"]
        status["request"] = {"imageName": f"registry.waylay.io/acme/plugs-{slug}:{function['version']}"}
    status["job"] = {"id": job_id, "name": "create", "progress": 100, "failedReason": reason}
    return summary, {"job": status, "_links": {}}


TEMP, DOOR = _function("temperature-alert", "1.2.3"), _function("door-sensor", "0.4.1")
JOBS = [
    _failed("build", "b1$a", ETARGET.format(wanted="^9.0.0"), "2024-05-01T10:00:00.000Z", TEMP),
    _failed("build", "b2$a", ETARGET.format(wanted="~9.1.2"), "2024-05-01T11:30:00.000Z", DOOR),
    _failed("build", "b3$a", ETARGET.format(wanted="^9.0.0"), "2024-05-01T11:00:00.000Z", TEMP),
    _failed("deploy", "d1$a", PULL.format(slug="door-sensor", version="0.4.1"), "2024-05-01T12:00:00.000Z", DOOR),
    _failed("undeploy", "u1$a", "connect ETIMEDOUT 10.12.3.4:443", "2024-05-01T08:00:00.000Z", TEMP),
    _failed("scale", "s1$a", "connect ETIMEDOUT 10.12.9.7:443", "2024-05-01T08:30:00.000Z", TEMP),
    _failed("batch", "x1$a", "Batch failed: 2 of 3 child jobs failed", None, None),
]


def test_failed_jobs_group_by_signature_in_the_failures_json_shape() -> None:
    groups = group_failures(failed_job(summary, document) for summary, document in JOBS)
    assert failures_json(groups, partial=True) == {
        "groups": [
            {
                "signature": 'Deployment failed: Back-off pulling image "<image>"',
                "count": 1,
                "firstSeen": "2024-05-01T12:00:00.000Z",
                "lastSeen": "2024-05-01T12:00:00.000Z",
                "functions": ["door-sensor@0.4.1"],
                "types": ["deploy"],
                "jobs": [{"type": "deploy", "id": "d1$a"}],
            },
            {
                "signature": "Build failed: npm ERR! code ETARGET No matching version found for lodash@<version>",
                "count": 3,
                "firstSeen": "2024-05-01T10:00:00.000Z",
                "lastSeen": "2024-05-01T11:30:00.000Z",
                "functions": ["temperature-alert@1.2.3", "door-sensor@0.4.1"],  # the most affected first
                "types": ["build"],
                "jobs": [
                    {"type": "build", "id": "b2$a"},
                    {"type": "build", "id": "b3$a"},
                    {"type": "build", "id": "b1$a"},
                ],
            },
            {
                # No finishedAt: the failure is dated by its creation.
                "signature": "Batch failed: <n> of <n> child jobs failed",
                "count": 1,
                "firstSeen": "2024-05-01T09:00:00.000Z",
                "lastSeen": "2024-05-01T09:00:00.000Z",
                "functions": [],
                "types": ["batch"],
                "jobs": [{"type": "batch", "id": "x1$a"}],
            },
            {
                "signature": "connect ETIMEDOUT <ip>",
                "count": 2,
                "firstSeen": "2024-05-01T08:00:00.000Z",
                "lastSeen": "2024-05-01T08:30:00.000Z",
                "functions": ["temperature-alert@1.2.3"],
                "types": ["undeploy", "scale"],  # the spec's order of types
                "jobs": [{"type": "scale", "id": "s1$a"}, {"type": "undeploy", "id": "u1$a"}],
            },
        ],
        "partial": True,
    }


def test_groups_that_last_failed_together_put_the_bigger_first() -> None:
    same_time = "2024-05-01T12:00:00.000Z"
    jobs = [
        _failed("scale", "s1$a", "Scale failed: quota exceeded", same_time, TEMP),
        _failed("deploy", "d1$a", "connect ETIMEDOUT 10.0.0.1:443", same_time, TEMP),
        _failed("deploy", "d2$a", "connect ETIMEDOUT 10.0.0.2:443", "2024-05-01T11:00:00.000Z", DOOR),
    ]
    groups = group_failures(failed_job(*job) for job in jobs)
    assert [(g.signature, g.count) for g in groups] == [
        ("connect ETIMEDOUT <ip>", 2),
        ("Scale failed: quota exceeded", 1),
    ]


def test_a_live_failed_event_joins_the_group_of_its_document_and_counts_once() -> None:
    summary, document = JOBS[3]
    event = {  # the `failed` event of the same deploy job (IJobEventResponse_failed's data)
        "job": {"type": "deploy", "id": "d1$a"},
        "data": {"prev": "active", "failedReason": PULL.format(slug="door-sensor", version="0.4.1")},
        "timestamp": "2024-05-01T12:00:00.004Z",
        "function": DOOR,
        "_links": {},
    }
    from_page, from_event = failed_job(summary, document), failed_job_from_event(event)
    assert from_event.signature == from_page.signature
    assert (from_event.type, from_event.id, from_event.function) == ("deploy", "d1$a", "door-sensor@0.4.1")
    groups = group_failures([from_page, from_event])
    assert [(g.count, g.last_seen.isoformat() if g.last_seen else None) for g in groups] == [
        (1, "2024-05-01T12:00:00.004000+00:00")  # the latest copy of the job wins
    ]


def test_a_failed_job_whose_document_could_not_be_read_groups_as_no_reason() -> None:
    summary, _ = JOBS[0]
    job = failed_job(summary, None)
    assert job == FailedJob("build", "b1$a", "", job.failed_at, "temperature-alert@1.2.3", job.subject)
    assert [g.signature for g in group_failures([job])] == [NO_REASON]


def test_odd_documents_and_events_give_a_job_not_an_error() -> None:
    for summary, document in (({}, {}), ({"function": "x", "finishedAt": 3}, {"job": "odd"}), ({}, None)):
        job = failed_job(summary, document)
        assert (job.type, job.id, job.reason, job.failed_at, job.function) == ("", "", "", None, "")
    for event in ({}, {"job": "x", "data": None, "function": 3, "timestamp": "yesterday"}):
        job = failed_job_from_event(event)
        assert (job.type, job.id, job.reason, job.failed_at) == ("", "", "", None)
    assert failures_json(group_failures([]), partial=False) == {"groups": [], "partial": False}
