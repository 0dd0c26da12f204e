"""The overview's numbers and the histogram's shapes, on jobs with known times: counts, bars
stacked with failures at the base, axis ticks, each bar's words and the list of its jobs, the
list's limit, and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from jobsdash.jobs.charts import STEPS
from jobsdash.jobs.display import job_row
from jobsdash.jobs.overview import EARLIEST, HEIGHT, MAX_SPAN, WIDTH, bucket_label, overview, span_of
from jobsdash.jobs.viewers import Reach, Viewer
from jobsdash.links.visitors import Visitor
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.queries import ListQuery

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ACME = Tenant(slug="acme")
MEMBER = Viewer(ACME)


def _at(minutes: float) -> str:
    """`minutes` into the hour before NOW."""
    return (NOW - timedelta(minutes=60 - minutes)).isoformat().replace("+00:00", "Z")


def _job(
    job_id: str,
    job_type: str,
    state: str,
    created: float,
    processed: float | None = None,
    finished: float | None = None,
) -> dict:
    doc = {"id": job_id, "type": job_type, "state": state, "createdAt": _at(created), "createdBy": "u"}
    doc["function"] = {"name": f"fn-{job_type}"}
    if processed is not None:
        doc["processedAt"] = _at(processed)
    if finished is not None:
        doc["finishedAt"] = _at(finished)
    return doc


JOBS = [
    _job("a", "build", "completed", 6.2, 6.5, 12),
    _job("b", "deploy", "failed", 30.1, 31, 31.5),
    _job("c", "deploy", "failed", 30.5, 30.6, 33),
    _job("d", "build", "completed", 30.9, 32, 40),
    _job("e", "build", "active", 45, 46),
    _job("f", "verify", "waiting", 54),
]
ROWS = [job_row(job) for job in JOBS]


def _minute_of(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment.replace(second=0, microsecond=0)


def test_counts_follow_the_jobs() -> None:
    view = overview(ROWS, ListQuery(created_after="PT1H"), MEMBER, now=NOW)
    assert view.total == 6 and view.failed == 2
    assert view.by_state == [("completed", 2), ("failed", 2), ("active", 1), ("waiting", 1)]
    assert view.by_type == [("build", 3), ("deploy", 2), ("verify", 1)]
    assert (view.start, view.end, view.moving, view.limit_reached) == (NOW - timedelta(hours=1), NOW, True, False)


def test_bars_are_stacked_per_bucket_with_failures_at_the_base() -> None:
    chart = overview(ROWS, ListQuery(created_after="PT1H"), MEMBER, now=NOW).chart
    assert chart is not None and chart.step == "minute" and len(chart.bars) == 60
    assert chart.states == ("failed", "completed", "active", "waiting")
    busy = chart.bars[30]  # 11:30 to 11:31: two failed deploys and a completed build
    assert (busy.total, busy.counts) == (3, (("failed", 2), ("completed", 1), ("active", 0), ("waiting", 0)))
    assert [tick.value for tick in chart.count_ticks] == [0, 1, 2, 3]
    scale = HEIGHT / 3
    assert [(s.state, s.count, s.y, s.height) for s in busy.segments] == [
        ("failed", 2, round(HEIGHT - 2 * scale, 2), round(2 * scale, 2)),  # from the base up
        ("completed", 1, 0.0, round(scale, 2)),
    ]
    # Time runs left to right, a bar per minute with a gap between them.
    assert busy.x == pytest.approx(30 / 60 * WIDTH + 0.15 * WIDTH / 60 / 2, abs=0.01)
    assert busy.width == pytest.approx(0.85 * WIDTH / 60, abs=0.01)
    assert [bar.total for bar in chart.bars].count(0) == 56  # jobs in 4 of the 60 minutes
    assert (busy.label, busy.summary) == ("Wed 1 May 11:30\u201311:31 UTC", "3 jobs: 2 failed, 1 completed")
    assert [tick.label for tick in chart.time_ticks] == ["11:00", "11:10", "11:20", "11:30", "11:40", "11:50", "12:00"]
    assert [(tick.x, tick.anchor) for tick in chart.time_ticks][::3] == [
        (0.0, "start"),
        (50.0, "middle"),
        (100.0, "end"),
    ]


def test_a_bars_link_lists_its_jobs_within_the_lists_own_window() -> None:
    query = ListQuery(type=("build", "deploy"), created_after="2024-05-01T11:00:30Z")
    rows = [*ROWS, job_row(_job("z", "build", "completed", 0.75))]  # in the first minute, after 11:00:30
    chart = overview(rows, query, Viewer(ACME, embedded=True), now=NOW).chart
    assert chart is not None
    assert chart.bars[1].url == ""  # no job to list
    first, busy = urlsplit(chart.bars[0].url), parse_qs(urlsplit(chart.bars[30].url).query)
    # The registry's bounds are strict: one millisecond before the bucket's start, at its end.
    assert busy == {
        "type": ["build", "deploy"],
        "createdAfter": ["2024-05-01T11:29:59.999Z"],
        "createdBefore": ["2024-05-01T11:31:00.000Z"],
        "embed": ["1"],
    }
    # The first bucket starts at 11:00 but the list at 11:00:30: its jobs' list does too.
    assert parse_qs(first.query)["createdAfter"] == ["2024-05-01T11:00:30.000Z"] and first.path == "/t/acme/jobs/"
    visitor = Visitor(ACME, embedded=True, reach=Reach(query=query), token="tok")
    linked = overview(ROWS, query, visitor, now=NOW).chart
    assert linked is not None and {bar.url for bar in linked.bars} == {""}  # a link shows its own filter only


def test_times_are_in_the_pages_zone_and_a_dst_change_says_which_hour() -> None:
    rows = [job_row({"id": "x", "type": "build", "state": "failed", "createdAt": "2024-10-27T00:30:00Z"})]
    query = ListQuery(created_after="2024-10-26T22:00:00Z", created_before="2024-10-27T02:00:00Z")
    view = overview(rows, query, MEMBER, zone="Europe/Brussels", now=datetime(2024, 11, 1, tzinfo=UTC))
    assert view.chart is not None and view.chart.step == "5 minutes" and not view.moving
    assert [tick.label for tick in view.chart.time_ticks] == ["Sun 27 Oct", "01:00", "02:00 CEST", "02:00 CET", "03:00"]
    assert [(bar.label, bar.total) for bar in view.chart.bars if bar.total] == [("Sun 27 Oct 02:30\u201302:35 CEST", 1)]
    hour = next(s for s in STEPS if s.name == "1h")
    brussels = ZoneInfo("Europe/Brussels")
    at = datetime.fromisoformat
    assert bucket_label(at("2024-10-27T00:00:00+00:00"), at("2024-10-27T01:00:00+00:00"), hour, brussels) == (
        "Sun 27 Oct 02:00 CEST\u201302:00 CET"
    )
    assert bucket_label(at("2024-10-27T01:00:00+00:00"), at("2024-10-27T02:00:00+00:00"), hour, brussels) == (
        "Sun 27 Oct 02:00\u201303:00 CET"
    )
    day, week = next(s for s in STEPS if s.name == "1d"), next(s for s in STEPS if s.name == "1w")
    assert (
        bucket_label(at("2024-10-26T22:00:00+00:00"), at("2024-10-27T23:00:00+00:00"), day, brussels)
        == "Sun 27 Oct 2024"
    )
    assert bucket_label(at("2024-10-20T22:00:00+00:00"), at("2024-10-27T23:00:00+00:00"), week, brussels) == (
        "Mon 21 Oct \u2013 Sun 27 Oct 2024"
    )


def test_a_list_cut_by_its_limit_says_so_and_charts_from_its_oldest_job() -> None:
    query = ListQuery(created_after="P7D", limit="3")
    newest = sorted(ROWS, key=lambda row: row.created_at, reverse=True)[:3]  # what the registry lists
    view = overview(newest, query, MEMBER, now=NOW)
    assert view.limit_reached and view.limit == 3
    assert view.start == _minute_of(min(row.created_at for row in newest))  # not seven days of empty bars
    assert parse_qs(urlsplit(view.raise_limit_url).query) == {"createdAfter": ["P7D"], "limit": ["1000"]}
    assert not overview(ROWS, ListQuery(limit="10"), MEMBER, now=NOW).limit_reached
    visitor = Visitor(ACME, embedded=True, reach=Reach(query=query), token="tok")
    assert overview(newest, query, visitor, now=NOW).raise_limit_url == ""  # a link cannot change its filter


def test_without_a_window_the_oldest_job_starts_it_and_no_jobs_no_chart() -> None:
    view = overview(ROWS, ListQuery(), MEMBER, now=NOW)
    assert view.start == _minute_of(ROWS[0].created_at) and view.chart is not None
    assert sum(bar.total for bar in view.chart.bars) == len(ROWS)
    ancient = overview(ROWS, ListQuery(created_before="0002-01-01"), MEMBER, now=NOW)  # the jobs came anyway
    assert (
        ancient.start == ancient.end == EARLIEST and ancient.chart is not None and ancient.chart.unplaced == len(ROWS)
    )
    empty = overview([], ListQuery(created_after="PT1H"), MEMBER, now=NOW)
    assert empty.chart is None and empty.total == 0 and empty.durations_by_type == []


def test_durations_per_type_and_function_come_with_the_overview() -> None:
    view = overview(ROWS, ListQuery(created_after="PT1H"), MEMBER, now=NOW)
    by_type = {d.key: d for d in view.durations_by_type}
    assert list(by_type) == ["build", "deploy", "verify"]
    build = by_type["build"]
    assert build.run is not None and (build.run.count, build.run.max) == (2, 8 * 60.0)
    assert [row.id for row in build.run.slowest] == ["d", "a"]
    assert build.wait is not None and build.wait.count == 3  # the active one waited too
    assert [d.key for d in view.durations_by_function] == ["fn-build", "fn-deploy", "fn-verify"]


def test_windows_at_the_edges_of_time_chart_their_last_years_up_to_now() -> None:
    query = ListQuery(created_after="0002-01-01", created_before="9998-12-30T23:00:00Z")
    view = overview(ROWS, query, MEMBER, now=NOW)
    assert view.end == NOW and view.moving  # a window open into the future moves on with now
    assert view.start == NOW - MAX_SPAN and view.chart is not None
    assert sum(bar.total for bar in view.chart.bars) == len(ROWS)
    ancient = overview(ROWS, ListQuery(created_before="0002-01-01"), MEMBER, now=NOW)  # the jobs came anyway
    assert (
        ancient.start == ancient.end == EARLIEST and ancient.chart is not None and ancient.chart.unplaced == len(ROWS)
    )


def test_an_overview_is_the_same_all_through_a_minute_and_changes_with_it() -> None:
    query = ListQuery(created_after="PT1H")
    early, late = NOW + timedelta(seconds=1), NOW + timedelta(seconds=59, milliseconds=999)
    assert span_of(ROWS, query, early) == span_of(ROWS, query, late)
    assert overview(ROWS, query, MEMBER, now=early) == overview(ROWS, query, MEMBER, now=late)
    span = span_of(ROWS, query, early)
    assert (span.start, span.end, span.moving) == (NOW - timedelta(hours=1), NOW + timedelta(minutes=1), True)
    assert span_of(ROWS, query, NOW + timedelta(minutes=1, seconds=1)) != span
    # Every job listed is inside the span, even one created in the last instant before now.
    newest = job_row(_job("z", "build", "waiting", 60) | {"createdAt": early.isoformat().replace("+00:00", "Z")})
    chart = overview([*ROWS, newest], query, MEMBER, now=early).chart
    assert chart is not None and chart.unplaced == 0 and sum(bar.total for bar in chart.bars) == len(ROWS) + 1


def test_a_bar_at_the_edge_of_a_window_bounded_by_an_age_lists_from_that_age() -> None:
    rows = [job_row(_job("first", "build", "completed", 0.5, 0.6, 0.9)), *ROWS]  # in the first minute
    chart = overview(rows, ListQuery(created_after="PT1H"), MEMBER, now=NOW).chart
    assert chart is not None and chart.bars[0].total == 1
    linked = [parse_qs(urlsplit(bar.url).query) for bar in chart.bars if bar.url]
    assert linked[0]["createdAfter"] == ["PT1H"]  # as the page lists them, whenever it is followed
    assert all(link["createdAfter"] != ["PT1H"] for link in linked[1:])
    # A list cut by its limit charts from its oldest job: the first bar lists its own jobs.
    newest = sorted(rows, key=lambda row: row.created_at, reverse=True)[:3]
    cut = overview(newest, ListQuery(created_after="P7D", limit="3"), MEMBER, now=NOW).chart
    assert cut is not None and "P7D" not in {
        parse_qs(urlsplit(bar.url).query)["createdAfter"][0] for bar in cut.bars if bar.url
    }
    # A window from an instant: the first bar lists from that instant.
    absolute = overview(rows, ListQuery(created_after=_at(0)), MEMBER, now=NOW).chart
    assert absolute is not None
    assert parse_qs(urlsplit(absolute.bars[0].url).query)["createdAfter"] == ["2024-05-01T11:00:00.000Z"]
