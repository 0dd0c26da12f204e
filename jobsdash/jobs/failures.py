"""Failure groups of a list filter, as the failures page, its API and the list page show them.

For a filter (type, functionType, created window, limit; its state forced to failed), the failed
jobs the registry lists, most recent first; their details (list summaries carry no failedReason)
read through the per-tenant cache (`cache.get_jobs`: a few at a time per tenant across requests,
finished jobs fresh for CACHE_TTL_JOB_FINISHED), at most FAILURE_DETAILS_CAP of them per request,
so no page waits for more; grouped by failure signature (jobsdash.jobs.grouping). The groups are
partial when some listed failures were not grouped (beyond the cap, or unreadable), and say so.

`report_of` reads; `shown` puts a report in the words and links of whoever is looking (a member,
or the visitor of a signed list link, whose filter decides what is in reach).

What it must not do: compute signatures (signatures.py) or decide who sees what (the viewer does).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from jobsdash.jobs import cache
from jobsdash.jobs.display import code_span, markdown_text, parse_time, short_id
from jobsdash.jobs.grouping import Group, failed_job, failures_json, group_failures
from jobsdash.jobs.history import is_full
from jobsdash.jobs.viewers import Viewer
from jobsdash.waylay.errors import CredentialsRejected, WaylayError
from jobsdash.waylay.queries import FUNCTION_TYPES, LIST_JOB_TYPES, ListQuery, format_instant

logger = logging.getLogger(__name__)

SAMPLES = 3  # sample jobs linked per group
FUNCTIONS_SHOWN = 5  # functions named per group; the others are counted
LIST_SECTION_GROUPS = 5  # groups in the list page's section; the failures page has them all
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class GroupFacts:
    """A failure group, and the list of its failures as narrow as the registry's filters allow:
    failed, of its types and function types, created between its first and last job."""

    group: Group
    narrowed: ListQuery


@dataclass(frozen=True)
class FailureReport:
    """The failure groups of a filter. `query` is the failed jobs' filter (None: the filter's
    states leave out failed jobs); `listed` the failed jobs the registry listed for it, `read`
    the most recent of them whose details were asked for (the cap), `grouped` those whose details
    came and were grouped; `more_failed`: the registry has more than it listed
    (its page size: a `limit` shows more)."""

    query: ListQuery | None
    groups: list[GroupFacts] = field(default_factory=list)
    listed: int = 0
    read: int = 0
    grouped: int = 0
    more_failed: bool = False
    cached: cache.Cached | None = None

    @property
    def partial(self) -> bool:
        return self.grouped < self.listed

    @property
    def unreadable(self) -> int:
        return self.read - self.grouped

    def as_json(self) -> dict[str, Any]:
        """The failures JSON (DESIGN.md), with the counts behind `partial`."""
        document = failures_json([facts.group for facts in self.groups], self.partial)
        return {**document, "listed": self.listed, "grouped": self.grouped}


def failure_query(query: ListQuery) -> ListQuery | None:
    """The filter's failed jobs: its state forced to failed; None when its states leave them out."""
    if query.state and "failed" not in query.state:
        return None
    return dataclasses.replace(query, state=("failed",))


def report_of(tenant: Any, query: ListQuery) -> FailureReport:
    """The failure groups of `query`'s failed jobs. Raises what the list call raises; an
    unreadable detail is left out of the groups (the report is then partial), but rejected
    credentials raise CredentialsRejected."""
    failed = failure_query(query)
    if failed is None:
        return FailureReport(None)
    cached = cache.list_jobs(tenant, failed)
    jobs = cached.document.get("jobs")
    summaries = [job for job in jobs if isinstance(job, dict)] if isinstance(jobs, list) else []
    # The registry was asked for failed jobs only; anything else it sent is not grouped.
    summaries = [job for job in summaries if job.get("state") == "failed"]
    read = summaries[: settings.FAILURE_DETAILS_CAP]
    details = cache.get_jobs(tenant, [(str(job.get("type")), str(job.get("id"))) for job in read])
    grouped = []
    for summary, detail in zip(read, details, strict=True):
        if isinstance(detail, CredentialsRejected):
            raise detail
        if isinstance(detail, WaylayError):
            logger.info("failure groups: %s %s left out: %s", summary.get("type"), summary.get("id"), detail)
            continue
        grouped.append((summary, failed_job(summary, detail.document)))
    by_key = {(job.type, job.id): summary for summary, job in grouped}
    groups = group_failures(job for _, job in grouped)
    return FailureReport(
        failed,
        [GroupFacts(group, _narrowed(failed, group, by_key)) for group in groups],
        listed=len(summaries),
        read=len(read),
        grouped=len(grouped),
        more_failed=is_full(cached.document, summaries, failed),
        cached=cached,
    )


def _narrowed(failed: ListQuery, group: Group, summaries: dict[tuple[str, str], dict[str, Any]]) -> ListQuery:
    members = [summaries[job] for job in group.jobs if job in summaries]
    created = [moment for moment in (parse_time(job.get("createdAt")) for job in members) if moment]
    function_types = {(job.get("function") or {}).get("functionType") for job in members}
    return dataclasses.replace(
        failed,
        type=tuple(t for t in LIST_JOB_TYPES if t in group.types),
        function_type=tuple(t for t in FUNCTION_TYPES if t in function_types) if None not in function_types else (),
        created_after=format_instant(min(created) - _MS) if created else failed.created_after,
        created_before=format_instant(max(created) + _MS) if created else failed.created_before,
    )


# --- as shown to a viewer ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShownGroup:
    """A group as a page shows it: its facts, links for whoever is looking ("" when they cannot
    follow one), and its Markdown for an incident chat."""

    facts: GroupFacts
    list_url: str
    samples: list[tuple[str, str]]  # (label, URL or "")
    functions: list[str]
    more_functions: int
    markdown: str

    @property
    def group(self) -> Group:
        return self.facts.group


def shown(request: HttpRequest, viewer: Viewer, report: FailureReport, top: int | None) -> dict[str, Any]:
    """The context of the failure groups partial: the report's first `top` groups (None: all),
    with the viewer's links, and the URL that renders the partial alone for live updates."""
    groups = report.groups if top is None else report.groups[:top]
    query = report.query or ListQuery()
    return {
        "report": report,
        "groups": [_shown_group(request, viewer, facts) for facts in groups],
        "hidden_groups": len(report.groups) - len(groups),
        "groups_url": viewer.failure_groups_url(query, top),
        "failures_url": viewer.failures_url(query),
    }


def _shown_group(request: HttpRequest, viewer: Viewer, facts: GroupFacts) -> ShownGroup:
    group = facts.group
    picked = group.jobs[:SAMPLES]
    samples = [(f"{job_type} {short_id(job_id)}", viewer.job_url(job_type, job_id)) for job_type, job_id in picked]
    list_url = viewer.list_url(facts.narrowed) if viewer.member else ""
    chat_samples = [
        (label, request.build_absolute_uri(viewer.job_permalink(job_type, job_id)) if url else "")
        for (label, url), (job_type, job_id) in zip(samples, picked, strict=True)
    ]
    chat_list = request.build_absolute_uri(viewer.list_permalink(facts.narrowed)) if list_url else ""
    return ShownGroup(
        facts,
        list_url,
        samples,
        group.functions[:FUNCTIONS_SHOWN],
        max(0, len(group.functions) - FUNCTIONS_SHOWN),
        group_markdown(group, chat_list, chat_samples),
    )


def group_markdown(group: Group, list_url: str, samples: list[tuple[str, str]]) -> str:
    """A failure group for an incident chat, in Markdown: count and signature, what it hit and
    when (UTC: a chat has no time zone), and links to its list and a few of its jobs."""
    plural = "" if group.count == 1 else "s"
    what = [
        " ".join(markdown_text(job_type) for job_type in group.types),
        ", ".join(f"`{code_span(name)}`" for name in group.functions[:FUNCTIONS_SHOWN])
        + (f" and {len(group.functions) - FUNCTIONS_SHOWN} more" if len(group.functions) > FUNCTIONS_SHOWN else ""),
        group.first_seen and f"first seen {_utc(group.first_seen)}",
        group.last_seen and f"last seen {_utc(group.last_seen)}",
    ]
    linked = [f"[{markdown_text(label)}]({url})" if url else markdown_text(label) for label, url in samples]
    links = [list_url and f"[All {group.count} in jobsdash]({list_url})", linked and "samples: " + ", ".join(linked)]
    lines = [
        f"**{group.count} failure{plural}** · `{code_span(group.signature)}`",
        " · ".join(part for part in what if part),
        " · ".join(part for part in links if part),
    ]
    return "\n".join(line for line in lines if line)


def _utc(moment: datetime) -> str:
    return format_instant(moment)[:16].replace("T", " ") + " UTC"
