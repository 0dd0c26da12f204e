"""Pieces of the job pages that many requests render alike, rendered once: a list's rows, its
overview and its filter form, memoized in the process by everything that goes into them.

An incident link is opened by dozens of people within seconds, and a finished job's row never
changes: rendering the same rows and the same chart again for each of them is most of what a list
page costs. Here a piece's key holds all of its inputs, so a key can never answer with something
else than what rendering would give now:

- who is looking (`Viewer.rendering_key`: its kind, tenant, mode, reach and signed-link token;
  the links in a piece are theirs), never who the user is: the pieces hold no user's name, no CSRF
  token, nothing of a session;
- the job as the list shows it (`JobRow`, a frozen copy of the registry's summary): a job that
  changed upstream is another row, so a live event or a refetch after a gap that brings its new
  document brings its new row too; nothing needs to be invalidated, and nothing can be missed;
- what the clock changes: a row's "3 min ago" (an unfinished job's row, whose duration grows
  with the clock, is rendered anew each time and not kept); an overview's window
  (`overview.Span`: whole minutes, so it changes once a minute at most, when the window ends
  now or is an age);
- the page's time zone, for the overview (the rows show UTC and ISO times only).

Memory is bounded by the number of entries (least recently used first out).

What it must not do: fetch anything, or render anything that depends on the user or the request.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from jobsdash.jobs.display import JobRow
from jobsdash.jobs.forms import JobFilterForm
from jobsdash.jobs.overview import Span, overview, span_of
from jobsdash.jobs.templatetags.jobs_display import ago
from jobsdash.jobs.viewers import Viewer
from jobsdash.waylay.errors import InvalidQuery
from jobsdash.waylay.queries import ListQuery

ROWS_KEPT = 10_000  # rendered rows (about 1.5 KB each)
OVERVIEWS_KEPT = 16  # rendered overviews; each keeps its rows as its key
FILTERS_KEPT = 256  # rendered filter forms (about 6 KB each)
FILTER_KEY_MOST = 2_000  # characters of filter values beyond which a form is not kept


class _Looking:
    """Who is looking, as a part of the pieces' keys: one object per `Viewer.rendering_key` (see
    `_looking`), compared and hashed by identity, so that a page's thousand row keys do not hash
    and compare the viewer a thousand times."""

    __slots__ = ("viewer",)

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer


@lru_cache(maxsize=1024)
def _looking(key: tuple[Viewer, str]) -> _Looking:
    # One per key while it is kept; a key forgotten and seen again gets a new one, whose pieces
    # are rendered anew (the old ones age out): a _Looking never stands for two viewers. It
    # renders with a copy of the viewer's tenant as the key saw it: the request's own object may
    # be changed later, and a piece must stay what its key says.
    viewer, _ = key
    return _Looking(dataclasses.replace(viewer, tenant=copy.copy(viewer.tenant)))


def rows_html(viewer: Viewer, rows: Sequence[JobRow]) -> SafeString:
    """The rows of a job list (`templates/jobs/partials/job_row.html` each), for `viewer`: a
    finished job's as rendered before for the same times shown; an unfinished one's anew (its
    duration grows with the clock: kept, it would only push out rows that can be reused)."""
    looking = _looking(viewer.rendering_key)
    rendered = (
        (_render_row if row.duration_runs else _row)(looking, row, ago(row.created_at), row.duration_seconds)
        for row in rows
    )
    return mark_safe("".join(rendered))  # rendered, escaped rows


def row_html(viewer: Viewer, row: JobRow) -> SafeString:
    """One row of a job list, for `viewer`."""
    return rows_html(viewer, [row])


def _render_row(looking: _Looking, row: JobRow, created_ago: str, duration_seconds: float | None) -> str:
    context = {"viewer": looking.viewer, "row": row, "created_ago": created_ago, "duration_seconds": duration_seconds}
    return render_to_string("jobs/partials/job_row.html", context)


_row = lru_cache(maxsize=ROWS_KEPT)(_render_row)


def overview_html(
    viewer: Viewer, rows: Sequence[JobRow], window: ListQuery, zone: str, cut: bool, overview_url: str
) -> SafeString:
    """The overview of a list (`templates/jobs/partials/overview.html`) whose page shows `rows` for
    `window`, with times in `zone`; `cut`: older jobs of the window are not shown."""
    span = span_of(list(rows), window, datetime.now(UTC), cut)
    html = _overview(_looking(viewer.rendering_key), tuple(rows), window, zone, cut, overview_url, span)
    return mark_safe(html)  # a rendered, escaped template


@lru_cache(maxsize=OVERVIEWS_KEPT)
def _overview(
    looking: _Looking,
    rows: tuple[JobRow, ...],
    window: ListQuery,
    zone: str,
    cut: bool,
    overview_url: str,
    span: Span,
) -> str:
    viewer = looking.viewer
    context = {
        "viewer": viewer,
        "query": window,
        "overview": overview(list(rows), window, viewer, zone, cut=cut, span=span),
        "overview_url": overview_url,
    }
    return render_to_string("jobs/partials/overview.html", context)


def filter_grid_html(params: QueryDict, error: InvalidQuery | None) -> SafeString:
    """The fields of the list's filter form (`templates/jobs/partials/filter_grid.html`) holding
    the values of `params`, with `error` shown at its field. Only what the form shows is the key:
    the values of its own fields (a form with an error, or with values too long to keep, is
    rendered each time)."""
    values = tuple((name, tuple(params.getlist(name))) for name in JobFilterForm.base_fields)
    if error is not None or sum(len(v) + 1 for _, vs in values for v in vs) > FILTER_KEY_MOST:
        return _filter_grid(params, error)
    return mark_safe(_kept_filter_grid(values))  # a rendered, escaped template


@lru_cache(maxsize=FILTERS_KEPT)
def _kept_filter_grid(values: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    data = QueryDict(mutable=True)
    for name, given in values:
        data.setlist(name, list(given))
    return _filter_grid(data, None)


def _filter_grid(params: QueryDict, error: InvalidQuery | None) -> SafeString:
    return render_to_string("jobs/partials/filter_grid.html", {"form": JobFilterForm(params), "error": error})


def clear() -> None:
    """Forget every rendered piece (tests; a deployment's templates never change under a process)."""
    _looking.cache_clear()
    _row.cache_clear()
    _overview.cache_clear()
    _kept_filter_grid.cache_clear()
