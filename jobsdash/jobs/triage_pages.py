"""The triage pages of a tenant, shown to viewers as the job pages are (jobsdash.jobs.pages): its
failure groups for a list filter (`/t/<slug>/failures/`, and alone for live updates), and finding
a job from what was pasted (`/t/<slug>/find/?q=`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from jobsdash.jobs import failures, find
from jobsdash.jobs.pages import shown_to_viewers
from jobsdash.jobs.viewers import Viewer
from jobsdash.waylay.errors import BadResponse, InvalidQuery, UpstreamUnavailable

MAX_TOP = 100


@shown_to_viewers
def failures_page(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """Every failure group of the page's filter (the list's parameters; state is failed)."""
    viewer.check_page_params(request.GET)
    context: dict[str, Any] = {"viewer": viewer, "tenant": viewer.tenant}
    try:
        query = viewer.list_query(request.GET)
    except InvalidQuery as exc:
        return render(request, "jobs/failures.html", {**context, "error": exc}, status=400)
    report = failures.report_of(viewer.tenant, query)
    return render(
        request,
        "jobs/failures.html",
        {
            **context,
            "query": query,
            "cached": report.cached,
            "list_url": viewer.list_url(query),
            "ws_url": viewer.ws_url(),
            "failures": failures.shown(request, viewer, report, top=None),
        },
    )


@shown_to_viewers
def failure_groups(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """The failure groups of the filter (its first `top`, all without), alone: the list page
    fetches its section with it, and live updates replace a page's with it. When the registry
    does not answer, a section that says so (503), for a page whose groups have not come yet."""
    query, top = viewer.list_query(request.GET), _top(request.GET)
    try:
        shown = failures.shown(request, viewer, failures.report_of(viewer.tenant, query), top)
    except (UpstreamUnavailable, BadResponse):
        unavailable = {"unavailable": True, "groups_url": viewer.failure_groups_url(query, top)}
        return render(request, "jobs/partials/failure_groups.html", {"failures": unavailable}, status=503)
    return render(request, "jobs/partials/failure_groups.html", {"viewer": viewer, "failures": shown})


def _top(params: Mapping[str, Any]) -> int | None:
    value = str(params.get("top") or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_TOP:
        raise InvalidQuery("top", f"{value[:20]!r} is not a number of groups from 1 to {MAX_TOP}")
    return int(value)


@shown_to_viewers
def find_job(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """The page of the job that `q` names (302), the jobs when several types have its id, or a
    page that says there is none (404) or what is wrong with `q` (400), keeping what was typed."""
    typed = str(request.GET.get("q", ""))
    context: dict[str, Any] = {"viewer": viewer, "tenant": viewer.tenant, "find_q": typed}
    try:
        wanted = find.parse(typed, viewer.tenant.slug)
    except InvalidQuery as exc:
        return render(request, "jobs/find.html", {**context, "error": exc}, status=400)
    found = [
        (job_type, job_id, viewer.job_url(job_type, job_id)) for job_type, job_id in find.look_up(viewer.tenant, wanted)
    ]
    if len(found) == 1 and found[0][2]:
        return redirect(found[0][2])
    return render(
        request, "jobs/find.html", {**context, "wanted": wanted, "found": found}, status=200 if found else 404
    )
