"""Failure groups: failed jobs gathered by failure signature (jobsdash.jobs.signatures), in the
shape of the failures JSON (DESIGN.md):

    {"groups": [{"signature", "count", "firstSeen", "lastSeen", "functions", "types",
                 "jobs": [{"type", "id"}, ...]}, ...], "partial": bool}

A failed job comes from its list summary and its get document (the summary has no failedReason),
or from a `failed` event, which carries both; the two give the same FailedJob, so a live event
joins the group the page computed.

Groups are ordered by their last failure, most recent first: during an incident the question is
what is failing now, and a large group that stopped failing days ago matters less than one that
failed a minute ago. Ties (same millisecond) go to the larger group. Within a group, jobs are
most recent first, so the first few are the samples worth showing.

What it must not do: fetch anything. Reading details through the cache, the cap and the partial
flag are the caller's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jobsdash.jobs.display import job_and_status, parse_time
from jobsdash.jobs.signatures import Subject, signature, subject_of
from jobsdash.waylay.queries import JOB_TYPES


@dataclass(frozen=True)
class FailedJob:
    """One failed job as grouping sees it. `function` is "name@version" ("" for a batch job)."""

    type: str
    id: str
    reason: str
    failed_at: datetime | None
    function: str
    subject: Subject = field(default_factory=Subject)

    @property
    def signature(self) -> str:
        return signature(self.reason, self.subject)


def failed_job(summary: dict[str, Any], document: dict[str, Any] | None) -> FailedJob:
    """A failed job from its list summary (AnyJobStatusSummary) and its get document
    (IJobResponse; None when it could not be read: the reason is then unknown)."""
    job, status = job_and_status(document)
    function = _dict(summary.get("function")) or _dict(job.get("function"))
    failed_at = (
        parse_time(summary.get("finishedAt"))
        or parse_time(job.get("finishedAt"))
        or parse_time(status.get("finishedOn"))
        or parse_time(summary.get("createdAt"))
    )
    found = subject_of(document) if document else Subject()
    subject = Subject(
        job_id=_text(summary.get("id")) or found.job_id,
        function_name=found.function_name or _text(function.get("name")),
        function_version=found.function_version or _text(function.get("version")),
        image=found.image,
    )
    return FailedJob(
        type=_text(summary.get("type")),
        id=subject.job_id,
        reason=_text(status.get("failedReason")),
        failed_at=failed_at,
        function=_function_label(function),
        subject=subject,
    )


def failed_job_from_event(data: dict[str, Any]) -> FailedJob:
    """A failed job from a `failed` event's data (IJobEventResponse: `job`, `data.failedReason`,
    `timestamp`, `function`)."""
    job = _dict(data.get("job"))
    function = _dict(data.get("function"))
    return FailedJob(
        type=_text(job.get("type")),
        id=_text(job.get("id")),
        reason=_text(_dict(data.get("data")).get("failedReason")),
        failed_at=parse_time(data.get("timestamp")),
        function=_function_label(function),
        subject=subject_of(data),
    )


@dataclass
class Group:
    signature: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    functions: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (type, id), most recent first

    def as_json(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "count": self.count,
            "firstSeen": _iso(self.first_seen),
            "lastSeen": _iso(self.last_seen),
            "functions": self.functions,
            "types": self.types,
            "jobs": [{"type": job_type, "id": job_id} for job_type, job_id in self.jobs],
        }


def group_failures(jobs: Iterable[FailedJob]) -> list[Group]:
    """The failure groups of `jobs` (a job listed twice counts once: its latest copy)."""
    unique: dict[tuple[str, str], FailedJob] = {}
    for job in jobs:
        unique[(job.type, job.id)] = job
    members: dict[str, list[FailedJob]] = {}
    for job in unique.values():
        members.setdefault(job.signature, []).append(job)
    groups = [_group(key, found) for key, found in members.items()]
    groups.sort(key=lambda g: (-_ms(g.last_seen), -g.count, g.signature))
    return groups


def failures_json(groups: list[Group], partial: bool) -> dict[str, Any]:
    """The failures JSON document: the groups, and whether some failed jobs could not be read."""
    return {"groups": [group.as_json() for group in groups], "partial": partial}


def _group(key: str, jobs: list[FailedJob]) -> Group:
    jobs = sorted(jobs, key=lambda job: (-_ms(job.failed_at), job.type, job.id))
    seen = [job.failed_at for job in jobs if job.failed_at is not None]
    functions = Counter(job.function for job in jobs if job.function)
    types = {job.type for job in jobs}
    return Group(
        signature=key,
        count=len(jobs),
        first_seen=min(seen, default=None),
        last_seen=max(seen, default=None),
        functions=sorted(functions, key=lambda name: (-functions[name], name)),
        types=[t for t in JOB_TYPES if t in types] + sorted(types - set(JOB_TYPES)),
        jobs=[(job.type, job.id) for job in jobs],
    )


def _function_label(function: dict[str, Any]) -> str:
    name, version = _text(function.get("name")), _text(function.get("version"))
    return f"{name}@{version}" if name and version else name


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else -(2**62)


def _iso(moment: datetime | None) -> str | None:
    """The registry's own format: UTC, milliseconds, Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)
