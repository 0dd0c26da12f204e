"""The query string of a live socket, `/ws/t/<slug>/jobs/?type=&id=&children=&since=&asof=&token=`:
read and checked as a whole before the handshake is accepted, each bad value an InvalidQuery
naming its parameter. Every parameter is optional; an empty value counts as absent; a parameter
given twice is refused.

- `type` (EJobType), `id` (a job id), `children` (`true`/`false`): the upstream's own filters.
- `since`: the last `seq` the browser has; it catches up from there.
- `asof`: when the data the page shows was fetched, in ms since the epoch (the page renders it).
- `token`: a signed embed link's token.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from jobsdash.waylay.errors import InvalidQuery
from jobsdash.waylay.queries import validate_job_id, validate_job_type

_MAX_SINCE_DIGITS = 18
_MAX_ASOF_DIGITS = 15  # ms since the epoch: 13 digits until the year 2286


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise InvalidQuery(name, "given more than once")
    return values[0] if values and values[0] != "" else None


def _params(raw: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=10, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidQuery("query", "not a valid query string") from None


def _whole(params: dict[str, list[str]], name: str, digits: int) -> int | None:
    value = _single(params, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > digits:
        raise InvalidQuery(name, "must be a whole number >= 0")
    return int(value)


def parse_query(raw: bytes) -> tuple[str | None, str | None, bool, int | None]:
    """(type, id, children, since) of a websocket URL's query string; InvalidQuery naming the
    parameter otherwise. `asof` is checked here too, so that a URL is refused or taken whole;
    `parse_asof` reads it."""
    params = _params(raw)
    job_type = _single(params, "type")
    if job_type is not None:
        validate_job_type(job_type)
    job_id = _single(params, "id")
    if job_id is not None:
        validate_job_id(job_id)
    children = _single(params, "children")
    if children not in (None, "true", "false"):
        raise InvalidQuery("children", "must be true or false")
    since = _whole(params, "since", _MAX_SINCE_DIGITS)
    _whole(params, "asof", _MAX_ASOF_DIGITS)
    return job_type, job_id, children == "true", since


def parse_asof(raw: bytes) -> float | None:
    """`asof` as wall-clock seconds (None when absent); call after parse_query accepted `raw`."""
    asof = _whole(_params(raw), "asof", _MAX_ASOF_DIGITS)
    return asof / 1000 if asof is not None else None


def parse_token(raw: bytes) -> str | None:
    """The signed embed link token of a websocket URL (`token=`), if any."""
    values = parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=10).get("token", [])
    if len(values) > 1:
        raise InvalidQuery("token", "given more than once")
    return values[0] if values else None
