"""The job pages, rendered for whoever is looking: the list, its overview and rows, a job, its log.

Each page takes the request and its `Viewer` (jobsdash.jobs.viewers), resolved by the route that
serves it: `jobsdash.jobs.views` for members (`/t/<slug>/jobs/…`), `jobsdash.links.views` for the
visitors of a signed link (`/e/<token>/…`). The viewer decides the links, the scope and the chrome;
nothing here asks how the page was reached. What the upstream did (or a bad parameter) becomes a
readable page with the right status (`shown_to_viewers`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.http import content_disposition_header

from jobsdash.jobs import cache, display, failures, fragments, history, logs
from jobsdash.jobs.error_meanings import ErrorMeaning, meaning_of
from jobsdash.jobs.family import family_of
from jobsdash.jobs.forms import TIME_PRESETS
from jobsdash.jobs.timezones import validate_tz
from jobsdash.jobs.viewers import Viewer
from jobsdash.tenants.crypto import SecretUnreadable
from jobsdash.waylay.errors import InvalidQuery, WaylayError
from jobsdash.waylay.queries import ListQuery

Page = Callable[..., HttpResponse]


def shown_to_viewers(page: Page) -> Page:
    """A page of a viewer (`page(request, viewer, ...)`): what the upstream did becomes a readable
    page with the right status, in the viewer's chrome."""

    @wraps(page)
    def wrapper(request: HttpRequest, viewer: Viewer, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return page(request, viewer, *args, **kwargs)
        except (WaylayError, SecretUnreadable) as exc:
            meaning = meaning_of(exc)
            if meaning is None:
                raise
            if meaning.status == 404:
                raise Http404(meaning.message) from None
            return _error_page(request, viewer, meaning)

    return wrapper


def _error_page(request: HttpRequest, viewer: Viewer, meaning: ErrorMeaning) -> HttpResponse:
    message = f"{meaning.parameter}: {meaning.message}" if meaning.parameter else meaning.message
    context = {
        "title": meaning.title,
        "message": message,
        "retry": meaning.retry_after is not None,
        "status": meaning.status,
        "viewer": viewer,
        "tenant": viewer.tenant,
    }
    response = render(request, "jobs/upstream_error.html", context, status=meaning.status)
    if meaning.retry_after is not None:
        response["Retry-After"] = str(meaning.retry_after)
    return response


@shown_to_viewers
def job_list(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    viewer.check_page_params(request.GET)
    context: dict[str, Any] = {"viewer": viewer, "tenant": viewer.tenant, "presets": TIME_PRESETS}
    try:
        query = viewer.list_query(request.GET)
        after = viewer.history_after(request.GET)
    except InvalidQuery as exc:
        grid = fragments.filter_grid_html(request.GET, exc)
        return render(request, "jobs/list.html", {**context, "error": exc, "filter_grid": grid}, status=400)
    page = _list_page(viewer, query, after)
    permalink = viewer.list_permalink(display.frozen_query(query))
    return render(
        request,
        "jobs/list.html",
        {
            **context,
            "query": query,
            "filter_grid": fragments.filter_grid_html(request.GET, None) if viewer.member else "",
            "rows": fragments.rows_html(viewer, page.rows),
            "row_count": len(page.rows),
            "cached": page.cached,
            "overview": _overview_of(request, viewer, page),
            "permalink": request.build_absolute_uri(_with_after(permalink, after)),
            "preset_links": [(label, viewer.list_url(query, createdAfter=spec)) for label, spec in TIME_PRESETS],
            "ws_url": viewer.ws_url(),
            "row_url": viewer.row_url_template(page.window),
            "history": _history_links(viewer, query, page) if viewer.walks_history else None,
            "failures": _failure_section(viewer, page.window),
        },
    )


def _overview_of(request: HttpRequest, viewer: Viewer, page: history.HistoryPage) -> str:
    """The overview of a list page's rows, rendered (the page's `tz` for its times, and kept in
    its URL for live updates only when the page was asked for one)."""
    zone = _zone(request.GET)
    url = viewer.overview_url(page.window, tz=zone if request.GET.get("tz") else None)
    return fragments.overview_html(viewer, page.rows, page.window, zone, page.cut, url)


def _failure_section(viewer: Viewer, query: ListQuery) -> dict[str, str] | None:
    """Where the list page's failure groups come from (their first few, for the jobs of the page's
    window), or None when its states leave out failed jobs. The page does not wait for them: they
    need the failed jobs' details, which a fresh filter has not read yet, so the page's script
    fetches them alone, and without scripts a link leads to them."""
    failed = failures.failure_query(query)
    if failed is None:
        return None
    return {
        "groups_url": viewer.failure_groups_url(failed, failures.LIST_SECTION_GROUPS),
        "failures_url": viewer.failures_url(failed),
    }


def _list_page(viewer: Viewer, query: ListQuery, after: str | None) -> history.HistoryPage:
    if not viewer.walks_history:
        return history.as_listed(viewer.tenant, query)
    return history.history_page(viewer.tenant, query, after)


def _history_links(viewer: Viewer, query: ListQuery, page: history.HistoryPage) -> dict[str, Any]:
    """The list page's history navigation (jobsdash.jobs.history says where each page starts)."""
    from_newest = dataclasses.replace(query, created_before=None)
    return {
        "older": viewer.list_url(query, createdBefore=page.older) if page.older else "",
        "newer": viewer.list_url(from_newest, after=page.newer) if page.newer else "",
        "newest": viewer.list_url(from_newest) if page.newer else "",
        "since": query.created_after,
        "crowded": page.crowded,
        "cut_short": page.cut_short,
    }


def _with_after(url: str, after: str | None) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode([('after', after)])}" if after else url


@shown_to_viewers
def list_overview(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """The overview above a list (counts, histogram and durations of the jobs its page shows for
    its filter, the page's parameters for a member; times in the zone `tz`), alone: live updates
    replace the page's with it, and the page asks for it in the reader's zone."""
    viewer.check_page_params(request.GET)
    page = _list_page(viewer, viewer.list_query(request.GET), viewer.history_after(request.GET))
    return HttpResponse(_overview_of(request, viewer, page))


def _zone(params: QueryDict) -> str:
    """The page's time zone for what the server draws in one (the overview's chart), UTC by default.
    A member's bad `tz` was refused already (check_page_params); a signed link's page, which takes
    no parameter from its URL to heart, keeps UTC."""
    try:
        return validate_tz(params.get("tz")) or "UTC"
    except InvalidQuery:
        return "UTC"


@shown_to_viewers
def job_detail(request: HttpRequest, viewer: Viewer, job_type: str, job_id: str) -> HttpResponse:
    viewer.check_page_params(request.GET)
    cached = cache.get_job(viewer.tenant, job_type, job_id)
    detail = display.job_detail(cached.document)
    permalink = request.build_absolute_uri(viewer.job_permalink(job_type, job_id))
    return render(
        request,
        "jobs/detail.html",
        {
            "viewer": viewer,
            "tenant": viewer.tenant,
            "detail": detail,
            "job": detail.row,
            "cached": cached,
            "permalink": permalink,
            "all_jobs_url": viewer.list_url(ListQuery()),
            "summary": display.summary(detail, permalink),
            # Other jobs only for a viewer who may see them (a signed job link shows its job alone).
            "family": family_of(viewer.tenant, cached.document) if viewer.reach.everything else None,
            "ws_url": viewer.ws_url(type=job_type, id=job_id, children="true"),
            "progress_url": viewer.progress_url(job_type, job_id),
            **_log_links(viewer, job_type, job_id),
        },
    )


@shown_to_viewers
def job_row(request: HttpRequest, viewer: Viewer, job_type: str, job_id: str) -> HttpResponse:
    """One row of a list, for its live updates to insert a job the page has not seen yet: the row,
    or 204 when the job is not in the list's filter (the page's parameters, for a member)."""
    query = viewer.list_query(request.GET)
    row = display.job_detail(cache.get_job(viewer.tenant, job_type, job_id).document).row
    if not viewer.reach.allows_job(row.type, row.id, row.function_type, row.state, row.created_at):
        raise Http404("No such job")
    if not query.matches(row.type, row.function_type, row.state, row.created_at):
        return HttpResponse(status=204)  # not in this filter
    return HttpResponse(fragments.row_html(viewer, row))


@shown_to_viewers
def job_log(request: HttpRequest, viewer: Viewer, job_type: str, job_id: str) -> HttpResponse:
    """The whole build log, rendered as on the job page (lines with `q` marked); with `download=1`
    the raw log, escapes and all, as a file."""
    viewer.check_page_params(request.GET)
    download = _download_param(request.GET.get("download"))
    needle = logs.validate_needle(request.GET.get("q"))
    cached = cache.get_job(viewer.tenant, job_type, job_id)
    lines = display.full_log(cached.document)
    if lines is None:
        raise Http404("This job has no build log")
    if download:
        return _log_file(job_type, job_id, lines)
    matches = logs.search(lines, needle)
    context = {
        "viewer": viewer,
        "tenant": viewer.tenant,
        "job": display.job_head(cached.document),
        "cached": cached,
        "log": logs.whole(lines, matches.lines),
        "matches": matches,
        "whole": True,
        "job_page_url": viewer.job_url(job_type, job_id) or viewer.job_permalink(job_type, job_id),
        "permalink": request.build_absolute_uri(viewer.log_permalink(job_type, job_id)),
        **_log_links(viewer, job_type, job_id),
    }
    return render(request, "jobs/log.html", context)


@shown_to_viewers
def log_matches(request: HttpRequest, viewer: Viewer, job_type: str, job_id: str) -> HttpResponse:
    """How often `q` occurs in the whole build log, alone: the job page shows only part of a long
    log, and its search says how many matches the whole one has."""
    needle = logs.validate_needle(request.GET.get("q"))
    lines = display.full_log(cache.get_job(viewer.tenant, job_type, job_id).document)
    if lines is None:
        raise Http404("This job has no build log")
    context = {"matches": logs.search(lines, needle), "log_url": viewer.log_url(job_type, job_id, q=needle)}
    return render(request, "jobs/partials/log_matches.html", context)


@shown_to_viewers
def job_progress(request: HttpRequest, viewer: Viewer, job_type: str, job_id: str) -> HttpResponse:
    """A job's progress alone, for its page to refresh when the job's events arrive."""
    detail = display.job_detail(cache.get_job(viewer.tenant, job_type, job_id).document)
    context = {"progress": detail.progress, "progress_url": viewer.progress_url(job_type, job_id)}
    return render(request, "jobs/partials/progress.html", context)


def _log_links(viewer: Viewer, job_type: str, job_id: str) -> dict[str, str]:
    return {
        "log_url": viewer.log_url(job_type, job_id),
        "download_url": viewer.log_url(job_type, job_id, download="1"),
        "matches_url": viewer.log_matches_url(job_type, job_id),
    }


def _download_param(value: str | None) -> bool:
    if value in (None, ""):
        return False
    if value != "1":
        raise InvalidQuery("download", "use download=1 for the raw log as a file")
    return True


def _log_file(job_type: str, job_id: str, lines: list[str]) -> HttpResponse:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{job_type}-{job_id}")[:120] + ".log"
    response = HttpResponse("".join(f"{line}\n" for line in lines), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return response
