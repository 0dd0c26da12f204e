"""The list endpoint's query parameters, parsed the way the registry does: strictly, from the spec.

A bad value raises QueryError naming the parameter; the app answers 400 with it. This is a
separate implementation from the dashboard's own validation on purpose: the simulator checks the
client, not the other way round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

LIST_JOB_TYPES = ("build", "deploy", "verify", "undeploy", "scale", "batch", "notify")
ALL_JOB_TYPES = (*LIST_JOB_TYPES, "cleanup")
JOB_STATES = ("completed", "failed", "active", "delayed", "waiting", "waiting-children", "prioritized", "unknown")
FUNCTION_TYPES = ("plugs", "webscripts", "kfserving")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(Z|[+-]\d\d:\d\d)?")
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d\d:\d\d)?")
# The spec's own pattern makes the seconds' fraction mandatory (`\d+(\.\d+)S`); PT30S is meant.
_PERIOD = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")
_DURATION = re.compile(r"(\d+)([ybwdhms])?")
_DURATION_MS = {
    None: 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
    "b": 30 * 86_400_000,  # b: month
    "y": 365 * 86_400_000,
}
TIMESTAMP_FORMS = (
    "an ISO8601 date (2024-05-01), date-time (2024-05-01T10:00:00Z), period (P1D, PT1H) "
    "or a duration (90m, 2d; a bare number is milliseconds)"
)


class QueryError(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"querystring/{parameter} {message}")
        self.parameter = parameter


@dataclass
class ListQuery:
    types: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    function_types: list[str] = field(default_factory=list)
    created_before: datetime | None = None
    created_after: datetime | None = None
    limit: int = DEFAULT_LIMIT


def parse_timestamp(value: str, now: datetime) -> datetime:
    """A TimestampSpec as an aware datetime: absolute, or an age counted back from `now`."""
    if m := _DATETIME.fullmatch(value):
        date, time_part, zone = m.groups()
        text = f"{date}T{time_part}{_zone(zone)}"
        return _aware(datetime.fromisoformat(text))
    if m := _DATE.fullmatch(value):
        return _aware(datetime.fromisoformat(f"{m[1]}-{m[2]}-{m[3]}T00:00:00{_zone(m[4])}"))
    if (m := _PERIOD.fullmatch(value)) and value not in ("P", "PT") and not value.endswith("T"):
        years, months, weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
        age = timedelta(
            days=years * 365 + months * 30 + weeks * 7 + days, hours=hours, minutes=minutes, seconds=seconds
        )
        return now - age
    if m := _DURATION.fullmatch(value):
        return now - timedelta(milliseconds=int(m[1]) * _DURATION_MS[m[2]])
    raise ValueError(value)


def _zone(zone: str | None) -> str:
    return "+00:00" if zone in (None, "Z") else zone


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_list_query(params: list[tuple[str, str]], now: datetime) -> ListQuery:
    """Parse `type`, `state`, `functionType` (repeatable), `createdBefore`, `createdAfter`, `limit`."""
    query = ListQuery()
    for name, value in params:
        if name == "type":
            query.types.append(_one_of(name, value, LIST_JOB_TYPES))
        elif name == "state":
            query.states.append(_one_of(name, value, JOB_STATES))
        elif name == "functionType":
            query.function_types.append(_one_of(name, value, FUNCTION_TYPES))
        elif name in ("createdBefore", "createdAfter"):
            try:
                stamp = parse_timestamp(value, now)
            except ValueError:
                raise QueryError(name, f"must be {TIMESTAMP_FORMS}, got {value!r}") from None
            if name == "createdBefore":
                query.created_before = stamp
            else:
                query.created_after = stamp
        elif name == "limit":
            query.limit = _limit(value)
    return query


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise QueryError(name, f"must be equal to one of the allowed values: {', '.join(allowed)}; got {value!r}")
    return value


def _limit(value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        raise QueryError("limit", f"must be number, got {value!r}") from None
    if not number >= 0 or number == float("inf"):
        raise QueryError("limit", f"must be >= 0, got {value!r}")
    return min(int(number), MAX_LIMIT)


def parse_bool(name: str, value: str | None) -> bool:
    if value in (None, "", "false"):
        return False
    if value == "true":
        return True
    raise QueryError(name, f"must be boolean (true or false), got {value!r}")
