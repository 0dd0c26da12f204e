"""A job's `progress` (a number or an object, says the spec) as its page shows it."""

from __future__ import annotations

import doctest

import pytest

from jobsdash.jobs import progress
from jobsdash.jobs.progress import MAX_FIELDS, MAX_VALUE_CHARS, progress_view


@pytest.mark.parametrize(
    ("value", "percent", "label"),
    [(0, 0.0, "0 %"), (40, 40.0, "40 %"), (100, 100.0, "100 %"), (33.333, 33.333, "33.3 %"), (99.96, 99.96, "100 %")],
)
def test_a_number_from_0_to_100_is_a_percentage(value: float, percent: float, label: str) -> None:
    view = progress_view(value)
    assert (view.percent, view.label, view.fields, view.text) == (percent, label, [], "")


@pytest.mark.parametrize(
    ("value", "text"), [(250, "250"), (-1, "-1"), (float("nan"), "NaN"), (True, "true"), ("half", "half")]
)
def test_other_values_are_shown_as_text(value: object, text: str) -> None:
    view = progress_view(value)
    assert (view.percent, view.text, view.empty) == (None, text, False)


def test_an_object_is_shown_field_by_field_with_a_bar_for_its_percentage() -> None:
    view = progress_view({"step": "push", "layers": {"done": 3, "of": 7}, "percent": 80, "note": "x" * 500})
    assert view.percent == 80.0 and view.label == "80 %"
    assert view.fields[:3] == [("step", "push"), ("layers", '{"done": 3, "of": 7}'), ("percent", "80")]
    assert len(view.fields[3][1]) == MAX_VALUE_CHARS and view.fields[3][1].endswith("…")
    assert progress_view({"stage": "build"}).percent is None
    many = progress_view({f"k{i}": i for i in range(MAX_FIELDS + 5)})
    assert (len(many.fields), many.more_fields) == (MAX_FIELDS, 5)


def test_nothing_is_a_dash() -> None:
    assert progress_view(None).empty and progress_view("").empty and progress_view({}).empty


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(progress).failed == 0
