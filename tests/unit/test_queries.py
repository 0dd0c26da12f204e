"""Query validation and normalization, before anything goes upstream."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from jobsdash.waylay.errors import InvalidQuery
from jobsdash.waylay.queries import (
    ListQuery,
    format_timestamp,
    parse_list_query,
    resolve_timestamp,
    validate_job_id,
    validate_job_type,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_it_normalizes_order_repetition_and_commas() -> None:
    a = parse_list_query(QueryDict("type=deploy&type=build&type=build&state=failed&limit=10.0&embed=1"))
    b = parse_list_query(QueryDict("limit=10&state=failed&type=build,deploy"))
    assert a == b
    assert a.to_params() == [("limit", "10"), ("state", "failed"), ("type", "build"), ("type", "deploy")]


def test_empty_values_are_absent() -> None:
    assert parse_list_query(QueryDict("type=&state=&createdAfter=&limit=")) == ListQuery()


@pytest.mark.parametrize(
    "spec",
    [
        "2024-05-01",
        "2024-05-01Z",
        "2024-05-01T10:00",
        "2024-05-01 10:00:00Z",
        "2024-05-01T10:00:00.123+02:00",
        "PT1H",
        "P7D",
        "P1Y2M3DT4H5M6.5S",
        "PT15M",
        "P2W",
        "15m",
        "1h",
        "7d",
        "3600000",
        "1y",
        "2b",
    ],
)
def test_it_accepts_every_timestamp_spec_form(spec: str) -> None:
    assert parse_list_query({"createdAfter": [spec]}).created_after == spec
    assert resolve_timestamp(spec, NOW).tzinfo is not None


@pytest.mark.parametrize("spec", ["yesterday", "P", "PT", "1H", "2024-13-01", "2024-02-30", "PT1.5", "1 h", "-1h"])
def test_it_refuses_bad_timestamps_naming_the_parameter(spec: str) -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse_list_query({"createdBefore": [spec]})
    assert caught.value.parameter == "createdBefore"
    assert "ISO8601" in caught.value.message


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"type": ["cleanup"]}, "type"),
        ({"type": ["bogus"]}, "type"),
        ({"state": ["done"]}, "state"),
        ({"functionType": ["lambda"]}, "functionType"),
        ({"limit": ["-1"]}, "limit"),
        ({"limit": ["ten"]}, "limit"),
        ({"limit": ["1e999"]}, "limit"),
        ({"limit": ["1", "2"]}, "limit"),
        ({"createdAfter": ["1h", "2h"]}, "createdAfter"),
    ],
)
def test_it_refuses_bad_values_naming_the_parameter(params: dict, parameter: str) -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse_list_query(params)
    assert caught.value.parameter == parameter


def test_ages_resolve_against_now() -> None:
    assert resolve_timestamp("PT1H", NOW) == datetime(2024, 5, 1, 11, tzinfo=UTC)
    assert resolve_timestamp("15m", NOW) == datetime(2024, 5, 1, 11, 45, tzinfo=UTC)
    assert resolve_timestamp("60000", NOW) == datetime(2024, 5, 1, 11, 59, tzinfo=UTC)
    assert resolve_timestamp("P1D", NOW) == datetime(2024, 4, 30, 12, tzinfo=UTC)
    assert format_timestamp(resolve_timestamp("2024-05-01T14:00:00+02:00")) == "2024-05-01T12:00:00Z"


def test_a_job_matches_a_filter_by_type_function_type_state_and_window() -> None:
    query = parse_list_query({"type": ["build", "deploy"], "state": ["failed"], "functionType": ["plugs"]})
    assert query.matches("build", "plugs", "failed")
    assert not query.matches("verify", "plugs", "failed")
    assert not query.matches("build", "webscripts", "failed")
    assert not query.matches("build", "plugs", "completed")
    assert ListQuery().matches("anything", None, "unknown")
    window = ListQuery(created_after="PT1H", created_before="PT10M")
    assert window.matches("build", None, "active", datetime(2024, 5, 1, 11, 30, tzinfo=UTC), now=NOW)
    assert not window.matches("build", None, "active", datetime(2024, 5, 1, 10, 30, tzinfo=UTC), now=NOW)
    assert not window.matches("build", None, "active", datetime(2024, 5, 1, 11, 55, tzinfo=UTC), now=NOW)
    assert window.matches("build", None, "active")  # no creation time (an event): the window is not checked


def test_job_type_and_id() -> None:
    assert validate_job_type("cleanup") == "cleanup"
    with pytest.raises(InvalidQuery, match="type"):
        validate_job_type("<script>")
    assert validate_job_id("6ccc8843$IfM2") == "6ccc8843$IfM2"
    for bad in ("", "a\nb", "x" * 600):
        with pytest.raises(InvalidQuery, match="id"):
            validate_job_id(bad)


@given(
    st.dictionaries(
        st.sampled_from(["type", "state", "functionType", "createdBefore", "createdAfter", "limit"]),
        st.lists(st.text(max_size=30), max_size=4),
    )
)
def test_any_input_is_either_a_query_or_an_invalid_query(params: dict) -> None:
    try:
        query = parse_list_query(params)
    except InvalidQuery as exc:
        assert exc.parameter in params
    else:
        assert parse_list_query(QueryDict(query.urlencode())) == query
