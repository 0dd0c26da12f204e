"""The overview above the job list: counts per state and type, a histogram of the jobs created
over the shown window, and run time and queue wait per job type and per function.

Everything is computed from the jobs the list shows (the upstream's answer for the filter), so the
overview and the table never disagree; the numbers are `jobsdash.jobs.charts`'. The window runs
from the filter's `createdAfter` (or the oldest job listed) to its `createdBefore` (or now, if
that is sooner: no job is created later), over at most its last MAX_SPAN and not before
EARLIEST, widened to whole minutes (`Span`): the bars are minutes or more, so an overview is the
same all through a minute, and can be rendered once for it. When the upstream returned as many
jobs as the list's limit, the window may hold more than it listed: the overview says so, and the
histogram starts at the oldest job listed rather than show empty bars where jobs were only cut off.

The histogram is drawn here as shapes for a server-rendered SVG
(templates/jobs/partials/overview.html): bars in a `WIDTH` x `HEIGHT` view box stretched to the
page's width, failures at the base of each bar, axis ticks as percentages of the plot, and each
bar's words (its tooltip, its accessible name) and the list of its jobs (createdAfter and
createdBefore through the viewer's `list_url`). No rendering, fetching or settings here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from jobsdash.jobs import charts
from jobsdash.jobs.display import JobRow
from jobsdash.jobs.viewers import Viewer
from jobsdash.waylay.queries import JOB_STATES, LIST_JOB_TYPES, ListQuery, is_absolute_timestamp, resolve_timestamp

WIDTH = 1000.0  # the bars' view box, stretched to the page's width
HEIGHT = 200.0
GAP = 0.15  # of a bucket's width, between bars
# The registry's limit when a list names none is deployment-defined; its deployments (and the
# simulator) answer 100, so a list of that many jobs without a limit may well have been cut.
ASSUMED_DEFAULT_LIMIT = 100
RAISED_LIMIT = 1000  # what "show more" asks for
MAX_SPAN = timedelta(days=10 * 365)  # the longest window a chart covers, up to now
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
DASH = "\u2013"  # between the ends of a range, as typeset


@dataclass(frozen=True)
class Segment:
    state: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    """One bucket: where it is drawn, its counts stacked from the base (failed first), what it says."""

    start: datetime
    end: datetime
    x: float
    width: float
    total: int
    counts: tuple[tuple[str, int], ...]  # (state, count) for every state of the histogram
    segments: tuple[Segment, ...]  # the states it has, bottom up
    label: str  # when: "Tue 14 May 14:00-15:00 CEST" (an en dash)
    summary: str  # what: "12 jobs: 3 failed, 9 completed"
    url: str  # the list of its jobs, "" for none or where the viewer cannot change the filter

    @property
    def start_iso(self) -> str:
        return _iso(self.start)

    @property
    def end_iso(self) -> str:
        return _iso(self.end)

    @property
    def failed(self) -> int:
        return dict(self.counts).get("failed", 0)


@dataclass(frozen=True)
class CountTick:
    value: int
    y: float  # in the view box


@dataclass(frozen=True)
class TimeTick:
    label: str
    x: float  # percent of the plot's width
    anchor: str  # SVG text-anchor: labels at the edges stay inside

    @property
    def weekday(self) -> str:
        """The label's weekday and the space after it ("Wed "), which a narrow page leaves out."""
        head = self.label[:4]
        return head if head[:3] in _WEEKDAYS and head.endswith(" ") else ""

    @property
    def rest(self) -> str:
        return self.label[len(self.weekday) :]


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Chart:
    step: str  # the bucket size in words: "hour", "15 minutes", "day"
    states: tuple[str, ...]
    bars: tuple[Bar, ...]
    count_ticks: tuple[CountTick, ...]
    time_ticks: tuple[TimeTick, ...]
    unplaced: int  # jobs it could not place (no creation time)


@dataclass(frozen=True)
class Overview:
    total: int
    by_state: list[tuple[str, int]]
    by_type: list[tuple[str, int]]
    failed: int
    start: datetime
    end: datetime
    zone: str
    chart: Chart | None  # None when no job is listed
    durations_by_type: list[charts.Durations]
    durations_by_function: list[charts.Durations]
    limit: int
    limit_reached: bool  # the window may hold more jobs than listed
    raise_limit_url: str  # the same list with a higher limit, "" when there is none to offer
    moving: bool  # the window ends now (or later): it moves on by itself

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)


@dataclass(frozen=True)
class Span:
    """The window an overview charts: from `start` to `end`, in whole minutes (the bars are
    minutes or more, aligned on the clock), and whether it ends now (`moving`). It changes once a
    minute at most, however often the overview is asked for. `from_filter` / `to_filter`: it
    starts (ends) at the filter's own `createdAfter` (`createdBefore`), not at a job listed, a
    list cut by its limit or the longest span charted."""

    start: datetime
    end: datetime
    moving: bool
    from_filter: bool = False
    to_filter: bool = False


def span_of(rows: list[JobRow], query: ListQuery, now: datetime, cut: bool | None = None) -> Span:
    """The window of the overview of `rows` (the jobs listed for `query`) at `now`: the filter's
    `createdAfter` (or the oldest job listed, or that job if the list was cut) to its
    `createdBefore` (or now, if that is sooner: no job is created later), widened to whole minutes."""
    after, before = _bounds(query, now)
    start, end = _window(rows, after, before, now, _cut(rows, query, cut))
    moving = before is None or before > now
    return Span(_whole_minute(start), _whole_minute(end, up=True), moving, start == after, end == before)


def overview(
    rows: list[JobRow],
    query: ListQuery,
    viewer: Viewer,
    zone: str = "UTC",
    now: datetime | None = None,
    cut: bool | None = None,
    span: Span | None = None,
) -> Overview:
    """The overview of `rows`, the jobs the upstream listed for `query`, with times in the IANA
    `zone`, over `span` (by default, the one at `now`). `cut`: whether the window holds older jobs
    than `rows` (the list's history page knows; None: as many rows as the list's limit may have
    been cut)."""
    span = span or span_of(rows, query, now or datetime.now(UTC), cut)
    states = Counter(row.state for row in rows)
    types = Counter(row.type for row in rows)
    limit = _limit(query)
    reached = _cut(rows, query, cut)
    raise_url = viewer.list_url(query, limit=str(RAISED_LIMIT)) if reached and limit < RAISED_LIMIT else ""
    return Overview(
        total=len(rows),
        by_state=[(state, states[state]) for state in _ordered(states, JOB_STATES)],
        by_type=[(job_type, types[job_type]) for job_type in _ordered(types, LIST_JOB_TYPES)],
        failed=states["failed"],
        start=span.start,
        end=span.end,
        zone=zone,
        chart=_chart(rows, query, viewer, span, zone) if rows else None,
        durations_by_type=charts.durations_by_type(rows),
        durations_by_function=charts.durations_by_function(rows),
        limit=limit,
        limit_reached=reached,
        raise_limit_url=raise_url if viewer.member else "",
        moving=span.moving,
    )


def _cut(rows: list[JobRow], query: ListQuery, cut: bool | None) -> bool:
    return cut if cut is not None else len(rows) >= _limit(query) > 0


def _whole_minute(moment: datetime, up: bool = False) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor + timedelta(minutes=1) if up and floor < moment else floor


def _ordered(counts: Counter[str], known: tuple[str, ...]) -> list[str]:
    # Known values in the spec's order, then anything else the upstream sent, by name.
    return [v for v in known if counts[v]] + sorted(v for v in counts if v not in known)


def _limit(query: ListQuery) -> int:
    try:
        return int(float(query.limit)) if query.limit is not None else ASSUMED_DEFAULT_LIMIT
    except ValueError:
        return ASSUMED_DEFAULT_LIMIT


def _bounds(query: ListQuery, now: datetime) -> tuple[datetime | None, datetime | None]:
    after = resolve_timestamp(query.created_after, now) if query.created_after else None
    before = resolve_timestamp(query.created_before, now) if query.created_before else None
    return after, before


def _window(
    rows: list[JobRow], after: datetime | None, before: datetime | None, now: datetime, reached: bool
) -> tuple[datetime, datetime]:
    created = [row.created_at for row in rows if row.created_at]
    oldest = min(created, default=now)
    start = after or oldest
    if reached and created:
        start = max(start, oldest)  # before the oldest job listed, the list was cut: nothing is known
    end = before or now
    # No job is created after now or before EARLIEST, and a window of centuries (P1000Y: "all of
    # them") is charted over its last MAX_SPAN: the buckets' calendar stays within datetime's years.
    end = max(min(end, now), EARLIEST)
    start = min(max(start, end - MAX_SPAN, EARLIEST), end)
    return start, end


def _instant(spec: str | None) -> datetime | None:
    """A window's bound as an instant, if it is one (not an age, which moves with the clock)."""
    return resolve_timestamp(spec) if spec and is_absolute_timestamp(spec) else None


def _chart(rows: list[JobRow], query: ListQuery, viewer: Viewer, span: Span, zone: str) -> Chart:
    histogram = charts.histogram(rows, span.start, span.end, zone)
    first, last = histogram.buckets[0].start, histogram.buckets[-1].end
    seconds = (last - first).total_seconds() or 1.0  # from the first bar's start to the last's end
    ticks = histogram.count_ticks()
    scale = HEIGHT / ticks[-1]
    local = ZoneInfo(zone)
    after, before = _instant(query.created_after), _instant(query.created_before)
    bars = []
    for index, bucket in enumerate(histogram.buckets):
        left = (bucket.start - first).total_seconds() / seconds * WIDTH
        right = (bucket.end - first).total_seconds() / seconds * WIDTH
        gap = (right - left) * GAP
        counts = tuple(zip(histogram.states, bucket.counts, strict=True))
        segments, base = [], 0
        for state, count in counts:
            if count:
                segments.append(Segment(state, count, _r(HEIGHT - (base + count) * scale), _r(count * scale)))
                base += count
        if viewer.member and bucket.total:
            created_after, created_before = bucket.list_bounds(after, before)
            # A window bounded by an age: its first (last) bar lists its jobs from (to) that age,
            # as the page does, whenever it is followed.
            if index == 0 and span.from_filter and after is None:
                created_after = query.created_after or created_after
            if bucket.last and span.to_filter and before is None:
                created_before = query.created_before or created_before
            url = viewer.list_url(query, createdAfter=created_after, createdBefore=created_before)
        else:
            url = ""  # nothing to list, or a signed list link, which shows its own filter only
        bars.append(
            Bar(
                bucket.start,
                bucket.end,
                _r(left + gap / 2),
                _r(max(right - left - gap, 0.5)),
                bucket.total,
                counts,
                tuple(segments),
                bucket_label(bucket.start, bucket.end, histogram.step, local),
                _summary(bucket.total, counts),
                url,
            )
        )
    time_ticks = []
    for tick in histogram.time_ticks():
        x = (tick.at - first).total_seconds() / seconds * 100
        anchor = "start" if x < 4 else "end" if x > 96 else "middle"
        time_ticks.append(TimeTick(tick.label, _r(x), anchor))
    return Chart(
        step=_step_words(histogram.step),
        states=histogram.states,
        bars=tuple(bars),
        count_ticks=tuple(CountTick(value, _r(HEIGHT - value * scale)) for value in ticks),
        time_ticks=tuple(time_ticks),
        unplaced=histogram.unplaced,
    )


def bucket_label(start: datetime, end: datetime, step: charts.Step, zone: tzinfo) -> str:
    """When a bucket is, in `zone`, as people read it (with en dashes): "Tue 14 May 14:00-15:00
    CEST", "Tue 14 May 2024", "Mon 13 May - Sun 19 May 2024"."""
    first, after = start.astimezone(zone), end.astimezone(zone)
    if step.days >= 7:
        last = (end - (end - start) / (step.days * 2)).astimezone(zone)  # within the bucket's last day
        return f"{_day(first)} {DASH} {_day(last)} {last.year}"
    if step.days:
        return f"{_day(first)} {first.year}"
    if f"{first:%Z}" != f"{after:%Z}":  # across a DST change: each end in its own
        return f"{_day(first)} {first:%H:%M} {first:%Z}{DASH}{after:%H:%M} {after:%Z}"
    return f"{_day(first)} {first:%H:%M}{DASH}{after:%H:%M} {after:%Z}"


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"


def _summary(total: int, counts: tuple[tuple[str, int], ...]) -> str:
    shown = ", ".join(f"{count} {state}" for state, count in counts if count)
    return f"{total} job{'' if total == 1 else 's'}" + (f": {shown}" if shown else "")


def _step_words(step: charts.Step) -> str:
    if step.days:
        return "day" if step.days == 1 else "week" if step.days == 7 else f"{step.days // 7} weeks"
    if step.minutes % 60 == 0:
        hours = step.minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return "minute" if step.minutes == 1 else f"{step.minutes} minutes"


def _r(value: float) -> float:
    return round(value, 2)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
