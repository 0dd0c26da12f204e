"""The overview's numbers and timeline geometry, on jobs with known times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobsdash.jobs.display import job_row
from jobsdash.jobs.overview import overview
from jobsdash.waylay.queries import ListQuery

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _job(job_id: str, job_type: str, state: str, created_min: float, finished_min: float | None = None) -> dict:
    def at(minutes: float) -> str:
        return (NOW - timedelta(minutes=60 - minutes)).isoformat().replace("+00:00", "Z")

    doc = {
        "id": job_id,
        "type": job_type,
        "state": state,
        "createdAt": at(created_min),
        "createdBy": "u",
        "operation": "create",
    }
    if finished_min is not None:
        doc["finishedAt"] = at(finished_min)
    return doc


JOBS = [
    _job("a", "build", "completed", 6, 12),  # 6..12 min of a 60 min window
    _job("b", "deploy", "failed", 30, 30.01),  # very short: drawn at the minimum width
    _job("c", "build", "active", 45),  # running: to now
    _job("d", "verify", "waiting", 54),
]


def test_counts_follow_the_jobs() -> None:
    rows = [job_row(job) for job in JOBS]
    view = overview(rows, ListQuery(created_after="PT1H"), now=NOW)
    assert view.total == 4 and view.failed == 1
    assert view.by_state == [("completed", 1), ("failed", 1), ("active", 1), ("waiting", 1)]
    assert view.by_type == [("build", 2), ("deploy", 1), ("verify", 1)]


def test_bars_span_created_to_finished_in_the_window() -> None:
    rows = [job_row(job) for job in JOBS]
    view = overview(rows, ListQuery(created_after="PT1H"), now=NOW)
    assert (view.start, view.end) == (NOW - timedelta(hours=1), NOW)
    geometry = {bar.row.id: (bar.x, bar.width, bar.y, bar.running) for bar in view.bars}
    assert geometry["a"] == (100.0, 100.0, 1.5, False)  # 6 min -> 100 units; 6 min long -> 100 units
    assert geometry["b"][:2] == (500.0, 2.0)  # minimum width
    assert geometry["c"] == (750.0, 250.0, 21.5, True)  # running: grows to now
    assert geometry["d"][0] == 900.0
    assert [bar.row.id for bar in view.bars] == ["a", "b", "c", "d"]  # one lane each, oldest first


def test_without_a_window_the_oldest_job_starts_it() -> None:
    rows = [job_row(job) for job in JOBS]
    view = overview(rows, ListQuery(), now=NOW)
    assert view.start == NOW - timedelta(minutes=54)
    assert view.bars[0].x == 0.0


def test_a_window_ending_in_the_past_stretches_to_show_late_finishes() -> None:
    rows = [job_row(JOBS[0])]  # created 11:06 inside 11:00..11:10, finished 11:12
    view = overview(rows, ListQuery(created_after="PT1H", created_before="PT50M"), now=NOW)
    assert view.end == NOW - timedelta(minutes=48)
    assert (view.bars[0].x, view.bars[0].width) == (500.0, 500.0)  # 6 of 12 minutes, then 6 more
