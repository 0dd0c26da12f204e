"""The job list's place in history: which jobs a list page shows for its filter, and where the
older and the newer pages start, so that walking them shows every job the registry retains once.

The registry lists jobs newest first, at most its page size (the `limit` asked, or its own
default), and compares `createdBefore` / `createdAfter` strictly, in milliseconds. A page cut by
the page size can end inside the jobs created in one millisecond: a strict bound at that
millisecond would skip the rest of them, a bound just past it would show the others twice. So:

- A page of the filter as given (its `createdBefore` is where it starts) asks for one job more
  than its `limit`, to see whether older jobs follow. When the answer is full (older jobs may
  follow), its oldest millisecond may continue beyond it: the page leaves that millisecond to the
  next page and shows the jobs created after it (at most `limit`; fewer when the cut falls inside
  a millisecond). The older page starts at the oldest `createdAt` shown (`createdBefore`, strict:
  it begins with the millisecond left out). An answer that is not full is shown whole, and there
  are no older jobs.
- A page whose jobs all come from one millisecond cannot be cut: it shows every job of that
  millisecond (one more call, one millisecond either side of it), more than `limit` if need be.
- The newer page starts after the newest `createdAt` shown (`after`, a page parameter: a
  `createdAfter` would stay on as a filter for the pages older than it). It shows the oldest jobs
  created after that instant, at most `limit`, cutting no millisecond from that side either; as
  the registry lists newest first, it reads the jobs after the instant, SCAN_LIMIT at a time,
  down to the oldest ones. A newer page that reaches the newest job is the newest page.

What it must not do: build URLs or render anything (the pages and the viewer do).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from jobsdash.jobs import cache
from jobsdash.jobs.display import JobRow, job_row, parse_time
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.queries import ListQuery, format_instant, resolve_timestamp

# Jobs asked for at once when a newer page reads the jobs after its instant, or a page reads the
# whole of one millisecond (the registry answers with at most its own maximum: its `limit` says).
SCAN_LIMIT = 1000
# Calls a newer page may make to find its oldest jobs; beyond, it starts where it got to (and says so).
SCAN_ROUNDS = 10
ANSWERS_KEPT = 16  # list answers kept read in the process (their rows: up to SCAN_LIMIT each)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Listed:
    """A job of a list answer, as a row, and the millisecond it was created in (None: no createdAt)."""

    row: JobRow
    ms: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.row.type, self.row.id)


@dataclass(frozen=True)
class Answer:
    """A list answer as the pages read it: its jobs newest first (the registry's order; jobs
    without a createdAt last), and the page size it says it used (its `limit`, None if it says none)."""

    listed: tuple[Listed, ...]
    limit: Any


@dataclass(frozen=True)
class HistoryPage:
    """What a list page shows and where its neighbours start.

    `rows` are the jobs it shows; `window` is a filter whose page lists exactly these jobs (the
    page's own filter, or a newer page's absolute window): the overview and the live updates of
    the page use it. `older` is the `createdBefore` of the older page (None: no older jobs),
    `newer` the `after` of the newer page (None: this is the newest page). `crowded`: one
    millisecond holds more jobs than the registry lists at once, and some are not shown;
    `cut_short`: a newer page could not read down to its instant, and jobs between it and this
    page's oldest are only on the older page. `cut`: the window holds older jobs than these (the
    page size cut the list): what is computed from the jobs shown is of these only."""

    rows: list[JobRow]
    cached: cache.Cached
    window: ListQuery
    older: str | None = None
    newer: str | None = None
    crowded: bool = False
    cut_short: bool = False
    cut: bool = False


def as_listed(tenant: Tenant, query: ListQuery) -> HistoryPage:
    """The registry's answer for `query` as it is, with no way to older or newer jobs (for a viewer
    who does not walk history)."""
    cached = cache.list_jobs(tenant, query)
    answer = answer_of(cached)
    return HistoryPage(
        [job.row for job in answer.listed], cached, query, cut=bool(answer.listed) and _full(answer, query)
    )


def history_page(tenant: Tenant, query: ListQuery, after: str | None = None) -> HistoryPage:
    """The page of `query`'s jobs that starts at its `createdBefore` (or at the newest job), or,
    with `after` (a TimestampSpec), the newer page of the jobs created after that instant."""
    size = page_size(query)
    if size == 0:
        return as_listed(tenant, query)
    if after is not None:
        return _page_after(tenant, query, after, size)
    return _page_before(tenant, query, size)


def page_size(query: ListQuery) -> int | None:
    """The page size a filter asks for (a fraction rounds down, as the registry reads it); None:
    the registry's default."""
    return int(Decimal(query.limit)) if query.limit is not None else None


def newest_part(listed: Sequence[Listed], size: int | None, complete: bool) -> tuple[list[Listed], bool]:
    """The jobs a page shows of an answer (newest first): the newest, at most `size` (None: as many
    as the answer holds), never part of a millisecond; unless the answer is `complete`, its oldest
    millisecond may continue beyond it and is left out. Also whether older jobs exist beyond the
    ones shown. ([], True): the first millisecond alone is more than the page (read it whole)."""
    end = len(listed) if complete else _start_of_last(listed)
    most = min(len(listed) if size is None else size, end)
    for cut in range(most, 0, -1):
        if cut == len(listed) or listed[cut - 1].ms != listed[cut].ms:
            return list(listed[:cut]), cut < len(listed) or not complete
    return [], bool(listed) or not complete


def oldest_part(ascending: Sequence[Listed], size: int) -> tuple[list[Listed], bool]:
    """The jobs a newer page shows of every job after its instant (oldest first, up to the newest):
    the oldest, at most `size`, never part of a millisecond (the whole of the first one if it alone
    is more than `size`). Also whether newer jobs exist beyond the ones shown."""
    for cut in range(min(size, len(ascending)), 0, -1):
        if cut == len(ascending) or ascending[cut - 1].ms != ascending[cut].ms:
            return list(ascending[:cut]), cut < len(ascending)
    first = [job for job in ascending if job.ms == ascending[0].ms] if ascending else []
    return first, len(first) < len(ascending)


def _page_before(tenant: Tenant, query: ListQuery, size: int | None) -> HistoryPage:
    asked = dataclasses.replace(query, limit=str(size + 1)) if size is not None else query
    cached = cache.list_jobs(tenant, asked)
    answer = answer_of(cached)
    listed = answer.listed
    shown, more = newest_part(listed, size, complete=not _full(answer, asked))
    crowded = False
    if not shown and listed:
        if listed[0].ms is None:  # no creation times to page by: the answer as it is
            shown, more = listed, False
        else:
            shown, crowded = _whole_millisecond(tenant, query, listed[0].ms)
    older = _format(shown[-1].ms) if more and shown and shown[-1].ms is not None else None
    if query.created_before is None:
        newer = None
    elif shown and shown[0].ms is not None:
        newer = _format(shown[0].ms)
    else:  # nothing before the page's start: the newer page begins at that start
        newer = _format(_ms(resolve_timestamp(query.created_before)) - 1)
    return HistoryPage([job.row for job in shown], cached, query, older, newer, crowded, cut=more)


def _page_after(tenant: Tenant, query: ListQuery, after: str, size: int | None) -> HistoryPage:
    lower = _ms(resolve_timestamp(after))
    if query.created_after is not None:  # the filter's own bound, if it is later
        lower = max(lower, _ms(resolve_timestamp(query.created_after)))
    base = dataclasses.replace(query, created_after=_format(lower))
    # First as a page of the filter would list them: when that holds every job after the instant,
    # this is the newest page and no other call is needed.
    asked = dataclasses.replace(base, limit=str(size + 1)) if size is not None else base
    cached = cache.list_jobs(tenant, asked)
    answer = answer_of(cached)
    reached, crowded = True, False
    if _full(answer, asked):
        ascending, reached, crowded = _scan_after(tenant, base, lower)
    else:
        ascending = [job for job in reversed(answer.listed) if job.ms is not None and job.ms > lower]
    wanted = size if size is not None else _answer_size(answer)
    shown, more = oldest_part(ascending, wanted)
    window = base
    if more:  # up to the newer jobs it leaves out
        window = dataclasses.replace(window, created_before=_format(ascending[len(shown)].ms))
    if shown and not reached:  # from its oldest job: there are jobs below it this page does not know
        window = dataclasses.replace(window, created_after=_format(shown[0].ms - 1))
    return HistoryPage(
        [job.row for job in reversed(shown)],
        cached,
        window,
        older=_format(shown[0].ms if shown else lower + 1),
        newer=_format(shown[-1].ms) if more and shown else None,
        crowded=crowded,
        cut_short=not reached,
    )


def _scan_after(tenant: Tenant, base: ListQuery, lower: int) -> tuple[list[Listed], bool, bool]:
    """Every job of `base` created after `lower` (oldest first), read newest first SCAN_LIMIT at a
    time; whether the reading got down to `lower` (SCAN_ROUNDS calls at most); and whether one
    millisecond held more jobs than the registry lists at once (some of them are missing)."""
    found: dict[tuple[str, str], Listed] = {}
    upper, crowded = base.created_before, False
    for _ in range(SCAN_ROUNDS):
        asked = dataclasses.replace(base, created_before=upper, limit=str(SCAN_LIMIT))
        answer = answer_of(cache.list_jobs(tenant, asked))
        timed = [job for job in answer.listed if job.ms is not None and job.ms > lower]
        found.update((job.key, job) for job in timed)
        if not _full(answer, asked) or not timed:
            return _ascending(found), True, crowded
        oldest, newest = timed[-1].ms, timed[0].ms
        assert oldest is not None and newest is not None
        # Read the oldest millisecond again (it may go on), unless it is all the answer holds.
        crowded = crowded or oldest == newest
        upper = _format(oldest + 1 if oldest < newest else oldest)
    return _ascending(found), False, crowded


def _whole_millisecond(tenant: Tenant, query: ListQuery, ms: int) -> tuple[list[Listed], bool]:
    """Every job of `query` created in millisecond `ms`; and whether there are more than the
    registry lists at once."""
    around = dataclasses.replace(
        query, created_after=_format(ms - 1), created_before=_format(ms + 1), limit=str(SCAN_LIMIT)
    )
    answer = answer_of(cache.list_jobs(tenant, around))
    return [job for job in answer.listed if job.ms == ms], _full(answer, around)


def answer_of(cached: cache.Cached) -> Answer:
    """The list answer `cached` holds, as the pages read it. Read once per document in the process
    (an etag names one body): a page of 1,000 rows, warm, would otherwise spend most of its time
    decoding the same JSON and building the same rows again."""
    with _answers_lock:
        answer = _answers.get(cached.etag)
        if answer is not None:
            _answers.move_to_end(cached.etag)
            return answer
    answer = _read_answer(cached.document)
    with _answers_lock:
        _answers[cached.etag] = answer
        while len(_answers) > ANSWERS_KEPT:
            _answers.popitem(last=False)
    return answer


# etag -> the answer read from that body, least recently used first.
_answers: OrderedDict[str, Answer] = OrderedDict()
_answers_lock = threading.Lock()


def _read_answer(document: dict[str, Any]) -> Answer:
    jobs = document.get("jobs")
    summaries = [job for job in jobs if isinstance(job, dict)] if isinstance(jobs, list) else []
    listed = [Listed(job_row(summary), _created_ms(summary)) for summary in summaries]
    listed.sort(key=lambda job: -1 if job.ms is None else job.ms, reverse=True)
    return Answer(tuple(listed), document.get("limit"))


def _ascending(found: dict[tuple[str, str], Listed]) -> list[Listed]:
    return sorted(found.values(), key=lambda job: job.ms or 0)


def is_full(document: dict[str, Any], listed: Sequence[Any], asked: ListQuery) -> bool:
    """Whether the registry returned as many jobs as it lists at once (more may follow). Its
    answer's `limit` says how many that is; without it, the `limit` asked; without either, an
    answer with jobs is taken as full (a page too many is an empty one, a page too few a gap)."""
    return _is_full(document.get("limit"), len(listed), asked)


def _full(answer: Answer, asked: ListQuery) -> bool:
    return _is_full(answer.limit, len(answer.listed), asked)


def _is_full(said: Any, count: int, asked: ListQuery) -> bool:
    size = said if isinstance(said, int | float) and not isinstance(said, bool) else page_size(asked)
    return count >= size if size is not None else count > 0


def _answer_size(answer: Answer) -> int:
    """The registry's default page size, as its answer says it (or as many jobs as it sent)."""
    size = answer.limit
    if isinstance(size, int | float) and not isinstance(size, bool) and size > 0:
        return int(size)
    return len(answer.listed)


def _start_of_last(listed: Sequence[Listed]) -> int:
    """Where the answer's oldest millisecond begins."""
    start = len(listed)
    while start > 0 and listed[start - 1].ms == listed[-1].ms:
        start -= 1
    return start


def _created_ms(summary: dict[str, Any]) -> int | None:
    moment = parse_time(summary.get("createdAt"))
    return _ms(moment) if moment is not None else None


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def _format(ms: int) -> str:
    return format_instant(_EPOCH + ms * _MS)
