"""The numbers behind the list page's charts: a histogram of the jobs created over a window, and
run time and queue wait per job type and per function. Pure functions over JobRow-like rows.

Histogram: the bucket size is the smallest of 1, 2, 5, 10, 15, 30 minutes, 1, 2, 3, 6, 12 hours,
1 day, 1, 2, 4, 13, 26 or 52 weeks that keeps the window within `max_bars` (60) buckets. Boundaries are
aligned in the page's time zone: whole multiples of the step on the local clock (12:00, 12:15),
local midnights for days, local Monday midnights for weeks. Across a DST change a bucket keeps
its local meaning: on spring-forward day the 02:00 hour does not exist, so with hourly buckets
"01:00" is followed by "03:00"; on fall-back day "02:00" happens twice and is two buckets (each
one real hour), told apart by the zone's abbreviation; a day bucket is 23 or 25 hours. Buckets
are half-open [start, end); the last one also holds a job created exactly at its end.

Counts are per state, `failed` always first (the base of a stacked bar, so failures compare
across bars), then the other states present in the spec's order.

Durations: run time is finished - processed (finished jobs), queue wait is processed - created
(any job that started; for a retried job it includes the retry delays). p50 and p95 are
nearest-rank percentiles (the smallest observed value with at least p% of the values at or below
it): always a real job's value, which the slowest links can point at, and honest on 3 jobs (their
p95 is their max). Negative durations (clock skew upstream) count as 0.

What it must not do: render, fetch, or read settings.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from jobsdash.jobs.display import JobRow
from jobsdash.waylay.queries import JOB_STATES, JOB_TYPES

MAX_BARS = 60
MAX_LABELS = 8
_EPOCH_MONDAY = date(1970, 1, 5)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Step:
    """A bucket size: `minutes` (a divisor of a day) or `days` (1, or whole weeks from Mondays)."""

    name: str
    minutes: int = 0
    days: int = 0

    @property
    def nominal(self) -> timedelta:
        return timedelta(minutes=self.minutes, days=self.days)


STEPS = (
    *(Step(f"{m}m", minutes=m) for m in (1, 2, 5, 10, 15, 30)),
    *(Step(f"{h}h", minutes=60 * h) for h in (1, 2, 3, 6, 12)),
    Step("1d", days=1),
    *(Step(f"{w}w", days=7 * w) for w in (1, 2, 4, 13, 26, 52)),
)

# Labels may sit further apart than buckets: every other day, eight weeks, several years of weeks.
_LABEL_STEPS = sorted(
    (*STEPS, Step("2d", days=2), *(Step(f"{w}w", days=7 * w) for w in (8, 104, 260))), key=lambda s: s.nominal
)


def boundaries(start: datetime, end: datetime, step: Step, zone: tzinfo) -> list[datetime]:
    """The aligned instants (UTC) from the last one at or before `start` to the first one at or
    after `end` (at least two)."""
    if step.days:
        found = _day_boundaries(start, end, step, zone)
    else:
        found = _clock_boundaries(start, end, step, zone)
    first = bisect.bisect_right(found, start) - 1
    last = bisect.bisect_left(found, end)
    return found[max(first, 0) : max(last, first + 1) + 1]


def _clock_boundaries(start: datetime, end: datetime, step: Step, zone: tzinfo) -> list[datetime]:
    """Walk the local clock by the step; a wall time in a DST gap is skipped, one in a fold is
    both of its instants."""
    wall = start.astimezone(zone).replace(tzinfo=None, fold=0)
    midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    minutes = (wall - midnight) // timedelta(minutes=1)
    wall = midnight + timedelta(minutes=minutes - minutes % step.minutes) - 2 * step.nominal
    found: list[datetime] = []
    while not found or found[-1] <= end:  # one past the end: a window of no length still has a bucket
        found += _instants(wall, zone)
        wall += step.nominal
    return sorted(set(found))


def _instants(wall: datetime, zone: tzinfo) -> list[datetime]:
    """The instants at which the local clock shows `wall`: none in a gap, two in a fold."""
    found = []
    for fold in (0, 1):
        moment = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if moment.astimezone(zone).replace(tzinfo=None) == wall and moment not in found:
            found.append(moment)
    return found


def _day_boundaries(start: datetime, end: datetime, step: Step, zone: tzinfo) -> list[datetime]:
    day = start.astimezone(zone).date() - timedelta(days=step.days)
    if step.days > 1:
        day -= timedelta(days=(day - _EPOCH_MONDAY).days % step.days)
    found: list[datetime] = []
    while not found or found[-1] <= end:  # one past the end: a window of no length still has a bucket
        found.append(_first_instant(day, zone))
        day += timedelta(days=step.days)
    return found


def _first_instant(day: date, zone: tzinfo) -> datetime:
    # fold=0 maps a midnight inside a DST gap to the first instant after the gap: the day's start.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def choose_step(start: datetime, end: datetime, zone: tzinfo, max_bars: int = MAX_BARS) -> Step:
    """The smallest step that shows the window in at most `max_bars` buckets (the largest one
    when even it cannot)."""
    span = max(end - start, timedelta(0))
    for step in STEPS:
        # The nominal count first: it spares walking a long window minute by minute.
        if span / step.nominal <= max_bars and len(boundaries(start, end, step, zone)) - 1 <= max_bars:
            return step
    return STEPS[-1]


@dataclass(frozen=True)
class Bucket:
    start: datetime
    end: datetime
    counts: tuple[int, ...]  # one per Histogram.states
    last: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts)

    def list_bounds(self, after: datetime | None = None, before: datetime | None = None) -> tuple[str, str]:
        """(createdAfter, createdBefore) of the list of this bucket's jobs: the registry's bounds
        are strict and in milliseconds, hence one millisecond out on each side that is closed.
        `after` and `before` are the (strict) bounds of the list the histogram counts, which a
        bucket's list does not go beyond: the first and last buckets stick out of the window."""
        low, high = self.start - _MS, self.end + _MS if self.last else self.end
        low, high = max(low, after) if after else low, min(high, before) if before else high
        return _iso(low), _iso(high)


@dataclass(frozen=True)
class Tick:
    at: datetime
    label: str


@dataclass(frozen=True)
class Histogram:
    start: datetime
    end: datetime
    zone: str
    step: Step
    states: tuple[str, ...]
    buckets: list[Bucket]
    unplaced: int  # rows with no creation time or created outside the buckets

    @property
    def max_total(self) -> int:
        return max((bucket.total for bucket in self.buckets), default=0)

    def count_ticks(self, most: int = 5) -> list[int]:
        return count_ticks(self.max_total, most)

    def time_ticks(self, most: int = MAX_LABELS) -> list[Tick]:
        """Labelled instants of the time axis: bucket boundaries on a coarser aligned step."""
        zone = ZoneInfo(self.zone)
        first, last = self.buckets[0].start, self.buckets[-1].end
        for step in (s for s in _LABEL_STEPS if _divides(self.step, s)):
            ticks = [b for b in boundaries(first, last, step, zone) if first <= b <= last]
            if len(ticks) <= most:
                return [Tick(at, _label(at, step, zone)) for at in ticks]
        edges = [bucket.start for bucket in self.buckets]
        return [Tick(at, _label(at, self.step, zone)) for at in edges[:: math.ceil(len(edges) / most)]]


def histogram(
    rows: Iterable[JobRow], start: datetime, end: datetime, zone: str = "UTC", max_bars: int = MAX_BARS
) -> Histogram:
    """Jobs created per bucket and state over [start, end], in the IANA `zone`."""
    rows = list(rows)
    tz = ZoneInfo(zone)
    end = max(end, start)
    step = choose_step(start, end, tz, max_bars)
    edges = boundaries(start, end, step, tz)
    states = _states(row.state for row in rows)
    counts = [[0] * len(states) for _ in edges[:-1]]
    unplaced = 0
    for row in rows:
        at = row.created_at
        if at is None or at < edges[0] or at > edges[-1]:
            unplaced += 1
            continue
        index = min(bisect.bisect_right(edges, at) - 1, len(edges) - 2)
        counts[index][states.index(row.state)] += 1
    buckets = [
        Bucket(edges[i], edges[i + 1], tuple(counts[i]), last=i == len(edges) - 2) for i in range(len(edges) - 1)
    ]
    return Histogram(start, end, zone, step, states, buckets, unplaced)


def count_ticks(top: int, most: int = 5) -> list[int]:
    """0 to at least `top` in at most `most` ticks of 1, 2 or 5 times a power of ten."""
    for power in range(0, 12):
        for unit in (1, 2, 5):
            size = unit * 10**power
            ticks = math.ceil(max(top, 1) / size)
            if ticks + 1 <= most:
                return [size * i for i in range(ticks + 1)]
    return [0, top]


def _states(found: Iterable[str]) -> tuple[str, ...]:
    present = set(found)
    known = [s for s in JOB_STATES if s in present and s != "failed"]
    return ("failed", *known, *sorted(present - set(JOB_STATES)))


def _divides(small: Step, large: Step) -> bool:
    if small.days or large.days:
        return bool(large.days) and (not small.days or large.days % small.days == 0)
    return large.minutes % small.minutes == 0


def _label(at: datetime, step: Step, zone: tzinfo) -> str:
    local = at.astimezone(zone)
    day = f"{local:%a} {local.day} {local:%b}"
    if step.days >= 7:
        return f"{local.day} {local:%b}" + (f" {local.year}" if step.days >= 56 else "")
    if step.days or (local.hour, local.minute) == (0, 0):
        return day
    clock = f"{local:%H:%M}"
    # In a fall-back fold the same clock time happens twice: say which one.
    twin = local.replace(fold=1 - local.fold)
    return f"{clock} {local:%Z}" if twin.utcoffset() != local.utcoffset() else clock


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- durations ----------------------------------------------------------------------------------

SLOWEST = 3


@dataclass(frozen=True)
class Stat:
    """Seconds: how many values, their p50, p95 and max, and the jobs of the slowest ones."""

    count: int
    p50: float
    p95: float
    max: float
    slowest: tuple[JobRow, ...]


@dataclass(frozen=True)
class Durations:
    key: str  # a job type or a function name
    run: Stat | None
    wait: Stat | None

    @property
    def measures(self) -> tuple[tuple[str, Stat | None], ...]:
        """("run", run time) and ("wait", queue wait), in the order tables show them."""
        return (("run", self.run), ("wait", self.wait))


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank p-th percentile of ascending `ordered` (not empty).

    >>> percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)
    (10, 5)
    """
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def run_time(row: JobRow) -> float | None:
    if not row.finished or row.processed_at is None or row.finished_at is None:
        return None
    return max(0.0, (row.finished_at - row.processed_at).total_seconds())


def queue_wait(row: JobRow) -> float | None:
    if row.processed_at is None or row.created_at is None:
        return None
    return max(0.0, (row.processed_at - row.created_at).total_seconds())


def stat(rows: Iterable[JobRow], measure: Callable[[JobRow], float | None]) -> Stat | None:
    """The Stat of `measure` over the rows it applies to; None when it applies to none."""
    measured = sorted(((value, row) for row in rows if (value := measure(row)) is not None), key=lambda p: p[0])
    if not measured:
        return None
    values = [value for value, _ in measured]
    slowest = tuple(row for _, row in reversed(measured[-SLOWEST:]))
    return Stat(len(values), percentile(values, 50), percentile(values, 95), values[-1], slowest)


def durations(rows: Iterable[JobRow], key: Callable[[JobRow], str]) -> list[Durations]:
    """Run time and queue wait per `key` (rows whose key is "" are left out), by key."""
    groups: dict[str, list[JobRow]] = {}
    for row in rows:
        if name := key(row):
            groups.setdefault(name, []).append(row)
    return [Durations(name, stat(found, run_time), stat(found, queue_wait)) for name, found in groups.items()]


def durations_by_type(rows: Iterable[JobRow]) -> list[Durations]:
    """Per job type, in the spec's order."""
    found = durations(rows, lambda row: row.type)
    order = {name: i for i, name in enumerate(JOB_TYPES)}
    return sorted(found, key=lambda d: (order.get(d.key, len(order)), d.key))


def durations_by_function(rows: Iterable[JobRow]) -> list[Durations]:
    """Per function name (versions together: a slow version shows among the slowest jobs)."""
    return sorted(durations(rows, lambda row: row.function_name), key=lambda d: (d.key.casefold(), d.key))
