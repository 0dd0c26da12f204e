"""What the pages show of an upstream job document: rows of the list, sections of the detail.

Upstream documents are read defensively: a missing or odd field shows as a dash, never an error.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from jobsdash.jobs import logs
from jobsdash.jobs.progress import ProgressView, progress_view
from jobsdash.waylay.queries import (
    FINISHED_STATES,
    JOB_TYPES,
    ListQuery,
    format_timestamp,
    is_absolute_timestamp,
    resolve_timestamp,
)

JSON_PREVIEW_CHARS = 20_000
# A job id longer than SHORT_ID_MAX characters is shown as its first SHORT_ID_KEEP and an ellipsis.
SHORT_ID_MAX = 12
SHORT_ID_KEEP = 8


def parse_time(value: Any) -> datetime | None:
    """An upstream timestamp (ISO 8601, `Z` or an offset; UTC when it names none), None when odd."""
    return _parse_time(value) if isinstance(value, str) and value else None


@lru_cache(maxsize=65_536)  # the same jobs' times, read again by every page that lists them
def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def short_id(job_id: str) -> str:
    """How a job id is shown where space is short (lists, titles, chat summaries and previews).

    >>> short_id("6ccc8843-d78d-49e8-84c4-3734a4af9929$IfM2FyNLQ8CEjQGA9w7Ht")
    '6ccc8843…'
    """
    return job_id if len(job_id) <= SHORT_ID_MAX else f"{job_id[:SHORT_ID_KEEP]}…"


@dataclass(frozen=True, slots=True)
class JobRow:
    """One job of the list (an AnyJobStatusSummary), or the head of the detail page."""

    id: str
    type: str
    state: str
    operation: str
    created_by: str
    created_at: datetime | None
    processed_at: datetime | None
    finished_at: datetime | None
    attempts: int | None
    function_name: str
    function_version: str
    function_type: str

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def duration_seconds(self) -> float | None:
        """Processing time: from processed (or created) to finished, or to now while it runs."""
        start = self.processed_at or self.created_at
        if start is None:
            return None
        end = self.finished_at or (None if self.finished else datetime.now(UTC))
        return None if end is None else max(0.0, (end - start).total_seconds())

    @property
    def duration_runs(self) -> bool:
        """Whether its duration grows with the clock (it has not finished)."""
        return self.finished_at is None and not self.finished and (self.processed_at or self.created_at) is not None

    @property
    def short_id(self) -> str:
        return short_id(self.id)


def job_row(summary: dict[str, Any]) -> JobRow:
    function = summary.get("function") if isinstance(summary.get("function"), dict) else {}
    attempts = summary.get("attemptsMade")
    return JobRow(
        id=_text(summary.get("id")),
        type=_text(summary.get("type")),
        state=_text(summary.get("state")) or "unknown",
        operation=_text(summary.get("operation")),
        created_by=_text(summary.get("createdBy")),
        created_at=parse_time(summary.get("createdAt")),
        processed_at=parse_time(summary.get("processedAt")),
        finished_at=parse_time(summary.get("finishedAt")),
        attempts=int(attempts) if isinstance(attempts, int | float) else None,
        function_name=_text(function.get("name")),
        function_version=_text(function.get("version")),
        function_type=_text(function.get("functionType")),
    )


@dataclass(frozen=True)
class JsonView:
    text: str
    total_chars: int

    @property
    def truncated(self) -> bool:
        return self.total_chars > len(self.text)


@dataclass
class JobDetail:
    row: JobRow
    failed_reason: str
    progress: ProgressView
    request: JsonView | None
    result: JsonView | None
    result_fields: list[tuple[str, Any]]
    log: logs.LogView | None  # the excerpt: head, tail and error lines of a long log
    parent: tuple[str, str] | None  # (type, id)
    related: list[tuple[str, str]] = field(default_factory=list)  # (type, id) of the jobs it links to
    function_links: list[tuple[str, str]] = field(default_factory=list)  # (kind, upstream href)


def job_and_status(document: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A get document's `job` (AnyJobStatus) and its technical `job.job` (JobStatus), {} when odd."""
    job = document.get("job") if isinstance(document, dict) and isinstance(document.get("job"), dict) else {}
    status = job.get("job") if isinstance(job.get("job"), dict) else {}
    return job, status


def job_head(document: dict[str, Any]) -> JobRow:
    """The facts of a get document that its list row would show."""
    job, status = job_and_status(document)
    summary = {
        **job,
        "id": job.get("id") or status.get("id") or "",
        "attemptsMade": job.get("attemptsMade", status.get("attemptsMade")),
    }
    return job_row(summary)


def job_detail(document: dict[str, Any]) -> JobDetail:
    job, status = job_and_status(document)
    row = job_head(document)
    result = job.get("result") if isinstance(job.get("result"), dict) else None
    log_lines = result.get("log") if result and isinstance(result.get("log"), list) else None
    return JobDetail(
        row=row,
        failed_reason=_text(status.get("failedReason")),
        progress=progress_view(status.get("progress")),
        request=_json_view(job.get("request")) if job.get("request") is not None else None,
        result=_json_view({k: v for k, v in result.items() if k != "log"}) if result else None,
        result_fields=_result_fields(row.type, result),
        log=logs.excerpt([_text(line) for line in log_lines]) if log_lines is not None else None,
        parent=parent_of(status),
        related=_related_jobs(document.get("_links"), row.id),
        function_links=_function_links(document.get("_links")),
    )


def full_log(document: dict[str, Any]) -> list[str] | None:
    """A get document's build log as the upstream sent it (escapes and all), None when it has none."""
    result = job_and_status(document)[0].get("result")
    log = result.get("log") if isinstance(result, dict) else None
    return [_text(line) for line in log] if isinstance(log, list) else None


def _result_fields(job_type: str, result: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """The few facts of a result worth reading at a glance, by job type."""
    if not result:
        return []
    picks = {
        "build": [("Image digest", "digest"), ("Build status", "status")],
        "verify": [("Healthy", "healthy"), ("Replicas", "replicas")],
        "undeploy": [
            ("Deployment removed", "deployment"),
            ("Assets removed", "assets"),
            ("Registration removed", "registration"),
            ("Image removed", "image"),
        ],
        "batch": [("Jobs started", "jobCount")],
        "notify": [("Operation", "operation")],
    }.get(job_type, [])
    # An empty value says nothing (a failed build has no digest).
    fields = [(label, result[key]) for label, key in picks if key in result and result[key] != ""]
    spec = result.get("deploySpec")
    if job_type == "deploy" and isinstance(spec, dict):
        fields += [("Service", spec.get("service")), ("Image", spec.get("image")), ("Namespace", spec.get("namespace"))]
    return fields


def _json_view(value: Any) -> JsonView:
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    return JsonView(text[:JSON_PREVIEW_CHARS], len(text))


def _links_of(links: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(links, dict):
        return []
    value = links.get(name)
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict) and isinstance(item.get("href"), str)]


def _related_jobs(links: Any, exclude: str) -> list[tuple[str, str]]:
    """The (type, id) of the HAL job links (…/registry/v2/jobs/{type}/{id}) but the job's own."""
    found = []
    for link in _links_of(links, "job"):
        path = urlsplit(link["href"]).path.rstrip("/").split("/")
        if len(path) >= 2 and path[-2] in JOB_TYPES:
            job_type, job_id = path[-2], unquote(path[-1])
            if job_id and job_id != exclude:
                found.append((job_type, job_id))
    return found


def parent_of(status: dict[str, Any]) -> tuple[str, str] | None:
    """(type, id) of a job's parent from its `job.parent`, if it has one. The spec's ParentKeys
    carry only the id; the registry adds BullMQ's `queueKey` ("bull:verify"), which names the
    parent's type. Without it: only verify jobs have children in the registry."""
    parent = status.get("parent") if isinstance(status.get("parent"), dict) else None
    if not parent or not isinstance(parent.get("id"), str) or not parent["id"]:
        return None
    queue = parent.get("queueKey")
    job_type = queue.rsplit(":", 1)[-1] if isinstance(queue, str) else "verify"
    return (job_type if job_type in JOB_TYPES else "verify"), parent["id"]


def _function_links(links: Any) -> list[tuple[str, str]]:
    return [(kind, link["href"]) for kind in ("plug", "webscript", "model") for link in _links_of(links, kind)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def frozen_query(query: ListQuery, now: datetime | None = None) -> ListQuery:
    """The same filter with ages (PT1H, 15m) turned into absolute times, so a link shows the same
    jobs tomorrow as today."""
    now = now or datetime.now(UTC)

    def freeze(spec: str | None) -> str | None:
        return spec if spec is None or is_absolute_timestamp(spec) else format_timestamp(resolve_timestamp(spec, now))

    return dataclasses.replace(
        query, created_after=freeze(query.created_after), created_before=freeze(query.created_before)
    )


@dataclass(frozen=True)
class Summary:
    text: str
    markdown: str


def summary(detail: JobDetail, permalink: str) -> Summary:
    """One line to paste into an incident chat: type, function@version, state, when, why, link."""
    row = detail.row
    function = row.function_name + (f"@{row.function_version}" if row.function_version else "")
    when = row.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if row.created_at else ""
    reason = " ".join(detail.failed_reason.split())
    reason = reason if len(reason) <= 200 else reason[:199] + "…"
    parts = [f"{row.type} job {row.short_id}", function, row.state, when and f"created {when}", reason]
    text = " · ".join(p for p in parts if p) + f" · {permalink}"
    md_parts = [
        f"**{markdown_text(row.type)}** job [`{code_span(row.short_id)}`]({permalink})",
        function and f"`{code_span(function)}`",
        f"**{markdown_text(row.state)}**",
        when and f"created {when}",
        reason and markdown_text(reason),
    ]
    return Summary(text, " · ".join(p for p in md_parts if p))


def markdown_text(text: str) -> str:
    """Text for a Markdown line: upstream text must not turn into links, emphasis or HTML in the
    chat that renders it."""
    return re.sub(r"([\\`*_\[\]()<>#!|~])", r"\\\1", text)


def code_span(text: str) -> str:
    """Text for inside a Markdown code span (`…`)."""
    return text.replace("`", "\u02bc")  # a modifier letter apostrophe: it cannot end the code span
