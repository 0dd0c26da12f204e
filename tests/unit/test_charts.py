"""Chart math: bucket sizes and boundaries in the page's time zone (DST changes included), counts
per state, axis ticks, and duration percentiles on known data."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobsdash.jobs.charts import (
    MAX_BARS,
    STEPS,
    boundaries,
    choose_step,
    count_ticks,
    durations_by_function,
    durations_by_type,
    histogram,
    percentile,
)
from jobsdash.jobs.display import JobRow

BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def row(
    job_id: str,
    created: str | None,
    state: str = "completed",
    job_type: str = "build",
    processed: str | None = None,
    finished: str | None = None,
    function: str = "temperature-alert",
) -> JobRow:
    return JobRow(
        id=job_id,
        type=job_type,
        state=state,
        operation="create",
        created_by="u",
        created_at=at(created) if created else None,
        processed_at=at(processed) if processed else None,
        finished_at=at(finished) if finished else None,
        attempts=1,
        function_name=function,
        function_version="1.0.0",
        function_type="plugs",
    )


def local(moments: list[datetime], zone: ZoneInfo = BRUSSELS) -> list[str]:
    return [m.astimezone(zone).strftime("%d %H:%M %Z") for m in moments]


# --- bucket sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "step", "bars"),
    [
        (timedelta(minutes=10), "1m", 10),
        (timedelta(hours=1), "1m", 60),
        (timedelta(hours=1, seconds=30), "2m", 31),
        (timedelta(hours=6), "10m", 36),
        (timedelta(days=1), "30m", 48),
        (timedelta(days=7), "3h", 56),
        (timedelta(days=30), "12h", 60),
        (timedelta(days=31), "1d", 32),  # from noon to noon: 32 local days are touched
        (timedelta(days=365), "1w", 53),
        (timedelta(days=3 * 365), "4w", 40),
    ],
)
def test_the_bucket_size_is_the_smallest_that_fits_sixty_bars(span: timedelta, step: str, bars: int) -> None:
    start = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)  # 12:00 in Brussels: aligned for every step below a day
    view = histogram([], start, start + span, "Europe/Brussels")
    assert (view.step.name, len(view.buckets)) == (step, bars)
    smaller = STEPS[STEPS.index(view.step) - 1] if view.step is not STEPS[0] else None
    if smaller is not None:
        assert len(boundaries(start, start + span, smaller, BRUSSELS)) - 1 > MAX_BARS


def test_boundaries_are_whole_steps_of_the_local_clock() -> None:
    start, end = at("2024-05-01T08:07:00Z"), at("2024-05-01T11:50:00Z")  # 10:07 to 13:50 in Brussels
    assert local(boundaries(start, end, STEPS[STEPS.index(choose_step(start, end, BRUSSELS, 5))], BRUSSELS)) == [
        "01 10:00 CEST",
        "01 11:00 CEST",
        "01 12:00 CEST",
        "01 13:00 CEST",
        "01 14:00 CEST",
    ]
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: local hours fall at half past in UTC
    hours = boundaries(start, end, next(s for s in STEPS if s.name == "1h"), kolkata)
    assert [m.strftime("%H:%M") for m in hours] == ["07:30", "08:30", "09:30", "10:30", "11:30", "12:30"]
    days = boundaries(start, start + timedelta(days=2), next(s for s in STEPS if s.name == "1d"), kolkata)
    assert [m.astimezone(kolkata).strftime("%d %H:%M") for m in days] == [
        "01 00:00",
        "02 00:00",
        "03 00:00",
        "04 00:00",
    ]


def test_weeks_start_on_local_mondays() -> None:
    weeks = boundaries(at("2024-05-01T12:00:00Z"), at("2024-05-19T22:00:00Z"), STEPS[-6], BRUSSELS)
    assert [m.astimezone(BRUSSELS).strftime("%a %d %H:%M") for m in weeks] == [
        "Mon 29 00:00",
        "Mon 06 00:00",
        "Mon 13 00:00",
        "Mon 20 00:00",
    ]


# --- DST changes in Europe/Brussels -------------------------------------------------------------


def test_spring_forward_skips_the_missing_hour() -> None:
    # 2024-03-31: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
    view = histogram([], at("2024-03-30T22:00:00Z"), at("2024-03-31T04:00:00Z"), "Europe/Brussels", max_bars=8)
    assert view.step.name == "1h"
    assert local([b.start for b in view.buckets]) == [
        "30 23:00 CET",
        "31 00:00 CET",
        "31 01:00 CET",
        "31 03:00 CEST",
        "31 04:00 CEST",
        "31 05:00 CEST",
    ]
    assert {b.end - b.start for b in view.buckets} == {timedelta(hours=1)}
    assert [t.label for t in view.time_ticks()] == ["23:00", "Sun 31 Mar", "01:00", "03:00", "04:00", "05:00", "06:00"]


def test_spring_forward_shortens_a_bucket_that_spans_the_missing_hour() -> None:
    three_hours = next(s for s in STEPS if s.name == "3h")
    edges = boundaries(at("2024-03-30T23:00:00Z"), at("2024-03-31T06:00:00Z"), three_hours, BRUSSELS)
    assert local(edges) == ["31 00:00 CET", "31 03:00 CEST", "31 06:00 CEST", "31 09:00 CEST"]
    assert [b - a for a, b in itertools.pairwise(edges)] == [timedelta(hours=2), *[timedelta(hours=3)] * 2]


def test_fall_back_has_two_buckets_for_the_repeated_hour() -> None:
    # 2024-10-27: 03:00 CEST becomes 02:00 CET at 01:00 UTC.
    jobs = [row("first", "2024-10-27T00:30:00Z"), row("second", "2024-10-27T01:30:00Z", state="failed")]
    view = histogram(jobs, at("2024-10-26T22:00:00Z"), at("2024-10-27T03:00:00Z"), "Europe/Brussels", max_bars=8)
    assert local([b.start for b in view.buckets]) == [
        "27 00:00 CEST",
        "27 01:00 CEST",
        "27 02:00 CEST",
        "27 02:00 CET",
        "27 03:00 CET",
    ]
    assert {b.end - b.start for b in view.buckets} == {timedelta(hours=1)}
    assert [b.counts for b in view.buckets][2:4] == [(0, 1), (1, 0)]  # states: failed, completed
    labels = [t.label for t in view.time_ticks()]
    assert labels == ["Sun 27 Oct", "01:00", "02:00 CEST", "02:00 CET", "03:00", "04:00"]


def test_day_buckets_are_local_days_of_23_and_25_hours() -> None:
    spring = histogram([], at("2024-03-29T12:00:00Z"), at("2024-04-01T12:00:00Z"), "Europe/Brussels", max_bars=5)
    autumn = histogram([], at("2024-10-25T12:00:00Z"), at("2024-10-28T12:00:00Z"), "Europe/Brussels", max_bars=5)
    assert spring.step.name == autumn.step.name == "1d"
    assert [(b.start.astimezone(BRUSSELS).strftime("%d %H:%M"), b.end - b.start) for b in spring.buckets] == [
        ("29 00:00", timedelta(hours=24)),
        ("30 00:00", timedelta(hours=24)),
        ("31 00:00", timedelta(hours=23)),
        ("01 00:00", timedelta(hours=24)),
    ]
    assert [b.end - b.start for b in autumn.buckets] == [timedelta(hours=h) for h in (24, 24, 25, 24)]


def test_a_midnight_that_does_not_exist_starts_the_day_at_its_first_instant() -> None:
    santiago = ZoneInfo("America/Santiago")  # 2024-09-08: clocks jump from 00:00 to 01:00
    day = next(s for s in STEPS if s.name == "1d")
    edges = boundaries(at("2024-09-07T12:00:00Z"), at("2024-09-08T12:00:00Z"), day, santiago)
    assert [m.astimezone(santiago).strftime("%d %H:%M") for m in edges] == ["07 00:00", "08 01:00", "09 00:00"]


# --- counts -------------------------------------------------------------------------------------


def test_jobs_are_counted_per_bucket_and_state_with_failed_first() -> None:
    jobs = [
        row("a", "2024-05-01T10:00:00Z", "completed"),  # exactly on a boundary: the bucket it starts
        row("b", "2024-05-01T10:59:59.999Z", "failed"),
        row("c", "2024-05-01T11:15:00Z", "active"),
        row("d", "2024-05-01T11:20:00Z", "failed"),
        row("e", "2024-05-01T12:00:00Z", "waiting"),  # exactly at the end: the last bucket
        row("f", "2024-05-01T13:00:00Z", "completed"),  # outside the window
        row("g", None, "completed"),  # no creation time
        row("h", "2024-05-01T11:40:00Z", "stalled"),  # a state the spec does not know
    ]
    view = histogram(jobs, at("2024-05-01T10:00:00Z"), at("2024-05-01T12:00:00Z"), "UTC", max_bars=2)
    assert view.step.name == "1h"
    assert view.states == ("failed", "completed", "active", "waiting", "stalled")
    assert [b.counts for b in view.buckets] == [(1, 1, 0, 0, 0), (1, 0, 1, 1, 1)]
    assert view.unplaced == 2 and view.max_total == 4
    assert [b.list_bounds() for b in view.buckets] == [
        ("2024-05-01T09:59:59.999Z", "2024-05-01T11:00:00.000Z"),
        ("2024-05-01T10:59:59.999Z", "2024-05-01T12:00:00.001Z"),
    ]


def test_a_buckets_list_keeps_within_the_bounds_of_the_list_it_comes_from() -> None:
    view = histogram([], at("2024-05-01T10:07:00Z"), at("2024-05-01T11:50:00Z"), "UTC", max_bars=2)
    first, last = view.buckets[0], view.buckets[-1]  # 10:00-11:00 and 11:00-12:00 stick out of the window
    after, before = at("2024-05-01T10:07:00Z"), at("2024-05-01T11:50:00Z")  # the list's own, strict
    assert first.list_bounds(after, before) == ("2024-05-01T10:07:00.000Z", "2024-05-01T11:00:00.000Z")
    assert last.list_bounds(after, before) == ("2024-05-01T10:59:59.999Z", "2024-05-01T11:50:00.000Z")
    assert last.list_bounds() == ("2024-05-01T10:59:59.999Z", "2024-05-01T12:00:00.001Z")


def test_an_empty_window_and_a_single_job_window() -> None:
    empty = histogram([], NOW - timedelta(hours=1), NOW)
    assert empty.states == ("failed",) and empty.max_total == 0 and len(empty.buckets) == 60
    assert all(b.counts == (0,) for b in empty.buckets)
    single = histogram([row("only", "2024-05-01T12:00:00Z", "failed")], NOW, NOW)
    assert [(b.start, b.end, b.counts) for b in single.buckets] == [(NOW, NOW + timedelta(minutes=1), (1,))]
    assert single.count_ticks() == [0, 1]


@pytest.mark.parametrize(
    ("top", "ticks"),
    [(0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (10, [0, 5, 10]), (101, [0, 50, 100, 150])],
)
def test_count_ticks_are_round(top: int, ticks: list[int]) -> None:
    assert count_ticks(top) == ticks


# --- durations ----------------------------------------------------------------------------------


def test_nearest_rank_percentiles_on_known_data() -> None:
    assert percentile(list(range(1, 11)), 50) == 5
    assert percentile(list(range(1, 11)), 95) == 10
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile(list(range(1, 101)), 50) == 50
    assert percentile([1, 9], 50) == 1 and percentile([1, 9], 95) == 9
    assert percentile([4.5], 50) == percentile([4.5], 95) == 4.5


def test_run_time_and_queue_wait_per_type_and_function() -> None:
    base = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def iso(seconds: float) -> str:
        return (base + timedelta(seconds=seconds)).isoformat()

    jobs = [  # created at 0; (waited, ran) seconds
        row(f"b{i}", iso(0), "completed", "build", iso(wait), iso(wait + run), function)
        for i, (wait, run, function) in enumerate(
            [(1, 10, "a"), (2, 20, "a"), *[(n, 10 * n, "b") for n in range(3, 11)]]
        )
    ]
    jobs += [
        row("d1", iso(0), "failed", "deploy", iso(30), iso(35), "a"),  # failed jobs ran too
        row("d2", iso(0), "active", "deploy", iso(60), None, "a"),  # running: waited, no run time yet
        row("d3", iso(0), "waiting", "deploy", None, None, "a"),  # neither
        row("d4", iso(10), "completed", "deploy", iso(5), iso(4), "a"),  # skewed clocks count as 0
        row("x1", iso(0), "completed", "batch", iso(1), iso(91), ""),  # no function: by type only
    ]
    by_type = {d.key: d for d in durations_by_type(jobs)}
    assert list(by_type) == ["build", "deploy", "batch"]
    build = by_type["build"]
    assert build.run is not None and build.wait is not None
    assert (build.run.count, build.run.p50, build.run.p95, build.run.max) == (10, 50.0, 100.0, 100.0)
    assert (build.wait.count, build.wait.p50, build.wait.p95, build.wait.max) == (10, 5.0, 10.0, 10.0)
    assert [r.id for r in build.run.slowest] == ["b9", "b8", "b7"]
    deploy = by_type["deploy"]
    assert deploy.run is not None and deploy.wait is not None
    assert (deploy.run.count, deploy.run.p50, deploy.run.max) == (2, 0.0, 5.0)
    assert (deploy.wait.count, deploy.wait.p50, deploy.wait.p95, deploy.wait.max) == (3, 30.0, 60.0, 60.0)
    assert [r.id for r in deploy.wait.slowest] == ["d2", "d1", "d4"]
    by_function = {d.key: d for d in durations_by_function(jobs)}
    assert list(by_function) == ["a", "b"]
    assert by_function["a"].run is not None and by_function["a"].run.count == 4
    assert by_function["b"].run is not None and by_function["b"].run.p50 == 60.0


def test_no_timed_jobs_give_no_stats() -> None:
    (only,) = durations_by_type([row("w", "2024-05-01T12:00:00Z", "waiting")])
    assert (only.key, only.run, only.wait) == ("build", None, None)
    assert durations_by_type([]) == durations_by_function([]) == []


ZONES = ["UTC", "Europe/Brussels", "Asia/Kolkata", "America/Santiago", "Australia/Lord_Howe", "Pacific/Chatham"]


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4 * 365)),
    st.sampled_from(ZONES),
    st.lists(st.floats(min_value=0, max_value=1), max_size=20),
)
def test_any_window_gives_aligned_increasing_buckets_that_hold_every_job(
    start: datetime, span: timedelta, zone: str, where: list[float]
) -> None:
    jobs = [row(f"j{i}", (start + span * f).isoformat()) for i, f in enumerate(where)]
    view = histogram(jobs, start, start + span, zone)
    edges = [b.start for b in view.buckets] + [view.buckets[-1].end]
    assert len(view.buckets) <= MAX_BARS
    assert edges == sorted(set(edges)) and edges[0] <= start and edges[-1] >= start + span
    tz = ZoneInfo(zone)
    for edge in edges:
        clock = edge.astimezone(tz)
        if view.step.minutes:
            assert (clock.hour * 60 + clock.minute) % view.step.minutes == 0 and clock.second == 0
        else:
            assert clock.date() != (edge - timedelta(seconds=1)).astimezone(tz).date()  # a day's first instant
    assert sum(b.total for b in view.buckets) == len(jobs) and view.unplaced == 0
