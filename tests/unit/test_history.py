"""Where a list page cuts the registry's answer (jobsdash.jobs.history): never inside the jobs of
one millisecond, at most the page size, and whether older or newer jobs remain."""

from __future__ import annotations

import pytest

from jobsdash.jobs.display import job_row
from jobsdash.jobs.history import Listed, newest_part, oldest_part, page_size
from jobsdash.waylay.queries import ListQuery


def _answer(*milliseconds: int) -> list[Listed]:
    """Jobs created in these milliseconds, in the order given (the registry's: newest first)."""
    return [Listed(job_row({"type": "build", "id": f"job-{n}"}), ms) for n, ms in enumerate(milliseconds)]


def _ms(jobs: list[Listed]) -> list[int | None]:
    return [job.ms for job in jobs]


@pytest.mark.parametrize(
    ("answer", "size", "complete", "shown", "more"),
    [
        ((9, 8, 7, 6), 3, False, [9, 8, 7], True),  # a full answer of limit + 1: the extra one is left
        ((9, 8, 7, 7), 3, False, [9, 8], True),  # the cut falls inside 7: all of 7 goes to the next page
        ((9, 7, 7, 7), 3, False, [9], True),
        ((9, 8), 3, True, [9, 8], False),  # not full: everything, nothing older
        ((9, 8, 8), 3, True, [9, 8, 8], False),
        ((7, 7, 7, 7), 3, False, [], True),  # one millisecond, more than a page: read it whole
        ((9, 8, 7), None, False, [9, 8], True),  # the registry's own page size: its oldest ms may go on
        ((9, 8, 7), None, True, [9, 8, 7], False),
        ((), 3, True, [], False),
    ],
)
def test_a_page_shows_the_newest_jobs_without_cutting_a_millisecond(
    answer: tuple[int, ...], size: int | None, complete: bool, shown: list[int], more: bool
) -> None:
    part, older = newest_part(_answer(*answer), size, complete)
    assert (_ms(part), older) == (shown, more)


@pytest.mark.parametrize(
    ("ascending", "size", "shown", "more"),
    [
        ((1, 2, 3, 4), 3, [1, 2, 3], True),
        ((1, 2, 3, 3), 3, [1, 2], True),  # the newer page's cut falls inside 3: 3 goes to the page after
        ((1, 2, 3), 3, [1, 2, 3], False),
        ((1, 1, 1, 1, 2), 3, [1, 1, 1, 1], True),  # one millisecond, more than a page: whole
        ((1, 1, 1, 1), 3, [1, 1, 1, 1], False),
        ((), 3, [], False),
    ],
)
def test_a_newer_page_shows_the_oldest_jobs_after_its_start_without_cutting_a_millisecond(
    ascending: tuple[int, ...], size: int, shown: list[int], more: bool
) -> None:
    part, newer = oldest_part(_answer(*ascending), size)
    assert (_ms(part), newer) == (shown, more)


def test_the_page_size_is_the_limit_rounded_down_or_the_registrys_own() -> None:
    assert page_size(ListQuery(limit="5")) == 5
    assert page_size(ListQuery(limit="2.5")) == 2
    assert page_size(ListQuery()) is None
