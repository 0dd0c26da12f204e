"""Validation and normalization of the registry's job query parameters, from the spec.

Everything a browser sends is checked here before anything goes upstream; a bad value raises
InvalidQuery naming the parameter (the upstream's own name) and the accepted forms.

>>> q = parse_list_query({"type": ["deploy", "build", "build"], "createdAfter": ["PT1H"]})
>>> q.to_params()
[('createdAfter', 'PT1H'), ('type', 'build'), ('type', 'deploy')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from jobsdash.waylay.errors import InvalidQuery

# EJobType: what get and events accept. The list filter (JobTypeSchema) has no `cleanup`.
JOB_TYPES = ("build", "deploy", "verify", "undeploy", "batch", "scale", "cleanup", "notify")
LIST_JOB_TYPES = tuple(t for t in JOB_TYPES if t != "cleanup")
JOB_STATES = ("completed", "failed", "active", "delayed", "waiting", "waiting-children", "prioritized", "unknown")
FINISHED_STATES = ("completed", "failed")
# The stream's job events, named after the state the job enters; their data is a JSON document
# (IJobEventResponse). The stream's other events (ack, keep-alive, close) carry text.
JOB_EVENTS = ("active", "completed", "failed", "delayed", "waiting", "waiting-children")
FAILURE_EVENT = "failed"  # the job event whose data carries a failedReason
FUNCTION_TYPES = ("plugs", "webscripts", "kfserving")
LIST_PARAMETERS = ("type", "state", "functionType", "createdBefore", "createdAfter", "limit")
MAX_LIMIT = 10_000
MAX_ID_LENGTH = 512

TIMESTAMP_FORMS = (
    "an ISO8601 date (2024-05-01) or date-time (2024-05-01T12:00:00Z), an ISO8601 period (PT1H, P7D) "
    "or a duration (a number with an optional unit y, b, w, d, h, m or s; a bare number is milliseconds)"
)

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(Z|[+-]\d\d:\d\d)?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)?")
_PERIOD = re.compile(
    r"P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)
_DURATION = re.compile(r"(\d{1,15})([ybwdhms])?")
# The instants a TimestampSpec may stand for (see validate_timestamp_spec).
_EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
_LATEST = datetime(9998, 12, 31, tzinfo=UTC)
# Units of a duration, in seconds. `b` is the month (as in the upstream's duration library).
_DURATION_UNITS = {"y": 365 * 86400, "b": 30 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class ListQuery:
    """A validated, normalized list query. Equal filters give equal queries whatever the parameter
    order or repetition, so `to_params()` is also a stable cache key."""

    type: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    function_type: tuple[str, ...] = ()
    created_before: str | None = None
    created_after: str | None = None
    limit: str | None = None

    def to_params(self) -> list[tuple[str, str]]:
        """The query as the upstream wants it: arrays exploded (`type=build&type=deploy`), sorted."""
        params: list[tuple[str, str]] = []
        for name, values in (("functionType", self.function_type), ("state", self.state), ("type", self.type)):
            params.extend((name, value) for value in values)
        for name, value in (
            ("createdAfter", self.created_after),
            ("createdBefore", self.created_before),
            ("limit", self.limit),
        ):
            if value is not None:
                params.append((name, value))
        return sorted(params)

    def urlencode(self) -> str:
        return urlencode(self.to_params())

    def matches(
        self,
        job_type: Any,
        function_type: Any,
        state: Any,
        created_at: datetime | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Whether a job lies within this filter: its type, function type and state, and, when its
        creation time is known, the time window (ages counted back from `now`). `limit` says how
        many jobs a list holds, nothing about one job. The one rule wherever a job or an event is
        checked against a filter: a signed link's reach, a list's row, the list page's live updates.

        >>> ListQuery(type=("build",), state=("failed",)).matches("build", "plugs", "failed")
        True
        >>> ListQuery(created_before="2024-05-01").matches("build", "plugs", "active", datetime.now(UTC))
        False
        """
        if (self.type and job_type not in self.type) or (self.state and state not in self.state):
            return False
        if self.function_type and function_type not in self.function_type:
            return False
        if created_at is None:
            return True
        now = now or datetime.now(UTC)
        after = resolve_timestamp(self.created_after, now) if self.created_after else None
        before = resolve_timestamp(self.created_before, now) if self.created_before else None
        return (after is None or created_at >= after) and (before is None or created_at <= before)


def parse_list_query(params: Mapping[str, Any]) -> ListQuery:
    """Validate the list filters in `params` (a QueryDict or a mapping of name -> list of values).

    Parameters other than the six upstream ones are ignored (pages carry their own, such as
    `embed`). Empty values count as absent, so an untouched GET form filters nothing.
    """
    return ListQuery(
        type=_choices(params, "type", LIST_JOB_TYPES),
        state=_choices(params, "state", JOB_STATES),
        function_type=_choices(params, "functionType", FUNCTION_TYPES),
        created_before=_single(params, "createdBefore", validate_timestamp_spec),
        created_after=_single(params, "createdAfter", validate_timestamp_spec),
        limit=_single(params, "limit", validate_limit),
    )


def validate_job_type(value: str, parameter: str = "type") -> str:
    """A job type as get and events accept it (EJobType)."""
    if value not in JOB_TYPES:
        raise InvalidQuery(parameter, f"{_show(value)} is not a job type; accepted: {', '.join(JOB_TYPES)}")
    return value


def validate_job_id(value: str, parameter: str = "id") -> str:
    if not value or len(value) > MAX_ID_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidQuery(parameter, f"a job id is 1 to {MAX_ID_LENGTH} printable characters")
    return value


def validate_limit(value: str, parameter: str = "limit") -> str:
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0 or number > MAX_LIMIT or len(value) > 20:
        raise InvalidQuery(parameter, f"{_show(value)} is not a number from 0 to {MAX_LIMIT}")
    return str(number.normalize()) if number != number.to_integral_value() else str(int(number))


def validate_timestamp_spec(value: str, parameter: str) -> str:
    """A TimestampSpec: ISO8601 date or date-time, ISO8601 period, or duration. Returned unchanged.

    Refused too when it stands for an instant outside the years 2 to 9998 (an age of millennia):
    pages compute time windows and UTC times around it, which must stay within datetime's range.
    """
    out_of_range = InvalidQuery(parameter, f"{_show(value)} is out of range: the years 2 to 9998 only")
    try:
        moment = resolve_timestamp(value)
    except OverflowError:
        raise out_of_range from None
    except ValueError:
        raise InvalidQuery(parameter, f"{_show(value)} is not a timestamp; use {TIMESTAMP_FORMS}") from None
    if not _EARLIEST <= moment <= _LATEST:
        raise out_of_range
    return value


def is_absolute_timestamp(value: str) -> bool:
    return bool(_DATE.fullmatch(value) or _DATETIME.fullmatch(value))


def resolve_timestamp(value: str, now: datetime | None = None) -> datetime:
    """The instant a TimestampSpec stands for, ages counted back from `now` (aware, UTC by default).

    >>> resolve_timestamp("PT1H", datetime(2024, 5, 1, 12, tzinfo=UTC)).isoformat()
    '2024-05-01T11:00:00+00:00'
    """
    now = now or datetime.now(UTC)
    if match := _DURATION.fullmatch(value):
        amount, unit = int(match[1]), match[2]
        seconds = amount * _DURATION_UNITS[unit] if unit else amount / 1000
        return now - timedelta(seconds=min(seconds, 10_000 * 365 * 86400.0))
    if match := _PERIOD.fullmatch(value):
        years, months, weeks, days, hours, minutes = (int(g or 0) for g in match.groups()[:6])
        seconds = float(match[7] or 0)
        days += years * 365 + months * 30 + weeks * 7
        return now - timedelta(days=min(days, 3_650_000), hours=hours, minutes=minutes, seconds=seconds)
    if match := _DATE.fullmatch(value):
        day = date(int(match[1]), int(match[2]), int(match[3]))
        offset = match[4] or "Z"
        return datetime.fromisoformat(f"{day.isoformat()}T00:00:00{'+00:00' if offset == 'Z' else offset}")
    if _DATETIME.fullmatch(value):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"not a timestamp spec: {value!r}")


def format_timestamp(moment: datetime) -> str:
    """An absolute ISO8601 date-time in UTC, second precision, as links freeze time windows with."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def format_instant(moment: datetime) -> str:
    """An instant as the registry writes createdAt: ISO8601 in UTC, milliseconds, Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    raw: Iterable[Any] = params.getlist(name) if hasattr(params, "getlist") else params.get(name) or []
    if isinstance(raw, str):
        raw = [raw]
    return [str(v).strip() for v in raw if str(v).strip()]


def _choices(params: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    # Arrays arrive exploded (type=a&type=b); a comma list typed by hand is accepted too.
    chosen = {part.strip() for value in _values(params, name) for part in value.split(",") if part.strip()}
    for value in sorted(chosen):
        if value not in allowed:
            raise InvalidQuery(name, f"{_show(value)} is not accepted; choose from {', '.join(allowed)}")
    return tuple(sorted(chosen))


def _single(params: Mapping[str, Any], name: str, validate: Any) -> str | None:
    values = sorted(set(_values(params, name)))
    if not values:
        return None
    if len(values) > 1:
        raise InvalidQuery(name, "give one value only")
    return validate(values[0], name)


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")
