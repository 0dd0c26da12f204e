"""The overview above the job list: counts per state and type, failures, and a timeline.

Everything is computed from the jobs the list shows (the upstream's answer for the filter), so the
overview and the table never disagree. The timeline is server-rendered SVG: one bar per job from
created to finished (or to now while it runs), in a 1000-unit-wide view box that scales to any
width; its time window runs from the filter's `createdAfter` (or the oldest job) to its
`createdBefore` (or now).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobsdash.jobs.display import JobRow
from jobsdash.waylay.queries import JOB_STATES, LIST_JOB_TYPES, ListQuery, resolve_timestamp

WIDTH = 1000.0
LANE = 10.0  # height of one job's lane, view box units
BAR = 7.0
MIN_BAR = 2.0  # a job shorter than this still shows


@dataclass(frozen=True)
class Bar:
    row: JobRow
    x: float
    y: float
    width: float
    running: bool


@dataclass(frozen=True)
class Overview:
    total: int
    by_state: list[tuple[str, int]]
    by_type: list[tuple[str, int]]
    failed: int
    start: datetime
    end: datetime
    bars: list[Bar]

    @property
    def height(self) -> float:
        return max(LANE, LANE * len(self.bars))

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)


def overview(rows: list[JobRow], query: ListQuery, now: datetime | None = None) -> Overview:
    now = now or datetime.now(UTC)
    states = Counter(row.state for row in rows)
    types = Counter(row.type for row in rows)
    start, end = _window(rows, query, now)
    return Overview(
        total=len(rows),
        by_state=[(state, states[state]) for state in _ordered(states, JOB_STATES)],
        by_type=[(job_type, types[job_type]) for job_type in _ordered(types, LIST_JOB_TYPES)],
        failed=states["failed"],
        start=start,
        end=end,
        bars=_bars(rows, start, end, now),
    )


def _ordered(counts: Counter[str], known: tuple[str, ...]) -> list[str]:
    # Known values in the spec's order, then anything else the upstream sent, by name.
    return [v for v in known if counts[v]] + sorted(v for v in counts if v not in known)


def _window(rows: list[JobRow], query: ListQuery, now: datetime) -> tuple[datetime, datetime]:
    created = [row.created_at for row in rows if row.created_at]
    start = resolve_timestamp(query.created_after, now) if query.created_after else min(created, default=now)
    end = resolve_timestamp(query.created_before, now) if query.created_before else now
    # A job created inside the window may finish after its end: stretch it to show the job whole.
    end = max([end, *(row.finished_at for row in rows if row.finished_at)])
    return start, max(end, start + timedelta(minutes=1))


def _bars(rows: list[JobRow], start: datetime, end: datetime, now: datetime) -> list[Bar]:
    span = (end - start).total_seconds() or 1.0
    timed = sorted((row for row in rows if row.created_at), key=lambda row: row.created_at)  # type: ignore[arg-type,return-value]
    bars = []
    for lane, row in enumerate(timed):
        assert row.created_at is not None
        finish = row.finished_at or (None if row.finished else now)
        x = _clamp((row.created_at - start).total_seconds() / span * WIDTH)
        right = _clamp(((finish or row.created_at) - start).total_seconds() / span * WIDTH)
        bars.append(
            Bar(
                row,
                round(x, 2),
                lane * LANE + (LANE - BAR) / 2,
                round(max(MIN_BAR, right - x), 2),
                running=row.finished_at is None and not row.finished,
            )
        )
    return bars


def _clamp(value: float) -> float:
    return min(WIDTH, max(0.0, value))
