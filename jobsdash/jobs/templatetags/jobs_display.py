"""Job URLs for whoever is looking, the job rules the page's scripts read, and filters for
showing times and durations of jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from jobsdash.jobs.display import SHORT_ID_KEEP, SHORT_ID_MAX
from jobsdash.jobs.family import CHILD_TYPES
from jobsdash.waylay.queries import FAILURE_EVENT, FINISHED_STATES, JOB_EVENTS

register = template.Library()


@register.simple_tag
def job_rules() -> SafeString:
    """`{% job_rules %}`: the rules the pages' scripts share with the server, as data
    (`<script id="job-rules" type="application/json">`, read by static/js/rules.js): the events
    that move a job, the one that says it failed, the states a job ends in, how a job id is
    shortened, and the types of the children a family tree shows."""
    rules = {
        "jobEvents": list(JOB_EVENTS),
        "failureEvent": FAILURE_EVENT,
        "finishedStates": list(FINISHED_STATES),
        "shortId": {"max": SHORT_ID_MAX, "keep": SHORT_ID_KEEP},
        "familyChildTypes": list(CHILD_TYPES),
    }
    return json_script(rules, "job-rules")


@register.simple_tag(takes_context=True)
def job_url(context: dict[str, Any], job_type: str, job_id: str) -> str:
    """`{% job_url row.type row.id as url %}`: the job's page for the context's `viewer`, "" when
    they cannot open it from here (then show the job unlinked)."""
    viewer = context.get("viewer")
    return viewer.job_url(job_type, job_id) if viewer is not None else ""


@register.filter
def ago(moment: datetime | None) -> str:
    """'3 min ago' style, coarse on purpose: the exact time is in the title."""
    if moment is None:
        return "—"
    seconds = (datetime.now(UTC) - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = f"{int(seconds // size)} {unit}"
            break
    else:
        return "just now"
    return f"in {amount}" if future else f"{amount} ago"


@register.filter
def utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


@register.filter
def iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else ""


@register.filter
def duration(seconds: float | None) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "—"
    if seconds < 1:
        return f"{int(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
