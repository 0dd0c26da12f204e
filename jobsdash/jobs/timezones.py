"""The `tz` page parameter: which time zone the browser shows times in (static/js/time.js).

The server renders times in UTC and never converts them; it only refuses a zone that does not
exist, so a mistyped link fails loudly (400 naming `tz`) instead of silently showing other times.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from jobsdash.waylay.errors import InvalidQuery

MAX_LENGTH = 64  # the longest IANA name is about 32 characters


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_tz(value: str | None) -> str | None:
    """The IANA zone name `value` (e.g. "UTC", "Asia/Tokyo"), or None when absent or empty.

    >>> validate_tz("Europe/Brussels")
    'Europe/Brussels'
    >>> validate_tz("Mars/Olympus")
    Traceback (most recent call last):
    jobsdash.waylay.errors.InvalidQuery: tz: unknown time zone 'Mars/Olympus'
    """
    if not value:
        return None
    if len(value) > MAX_LENGTH or value not in _known_zones():
        raise InvalidQuery("tz", f"unknown time zone {value[:MAX_LENGTH]!r}")
    return value
