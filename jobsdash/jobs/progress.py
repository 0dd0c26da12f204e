"""A job's `progress` as its page shows it. The spec allows a number or an object (BullMQ's
`job.progress`, whatever the job's code reported): a number from 0 to 100 is a percentage, shown
as a bar; an object is shown field by field, with a bar too when one of its fields is a
percentage (`percent`, `percentage`, `progress`, `pct`); anything else as text.

What it must not do: fetch or render; it reads one value defensively (never an error).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

PERCENT_FIELDS = ("percent", "percentage", "progress", "pct")
MAX_FIELDS = 20
MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class ProgressView:
    """`percent` (0 to 100) when the progress is one, the fields of an object as (name, text),
    and the text of anything else ("" for none)."""

    percent: float | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    more_fields: int = 0

    @property
    def label(self) -> str:
        """The percentage as people read it: "40 %", "33.3 %"."""
        return "" if self.percent is None else f"{round(self.percent, 1):g} %"

    @property
    def empty(self) -> bool:
        return self.percent is None and not self.fields and not self.text


def progress_view(value: Any) -> ProgressView:
    """
    >>> progress_view(40).label, progress_view({"step": "push", "percent": 80}).fields
    ('40 %', [('step', 'push'), ('percent', '80')])
    """
    if _percentage(value) is not None:
        return ProgressView(percent=_percentage(value))
    if isinstance(value, dict):
        items = [(str(name), _short(item)) for name, item in value.items()]
        percent = next((p for name in PERCENT_FIELDS if (p := _percentage(value.get(name))) is not None), None)
        return ProgressView(percent=percent, fields=items[:MAX_FIELDS], more_fields=max(0, len(items) - MAX_FIELDS))
    if value is None or value == "":
        return ProgressView()
    return ProgressView(text=_short(value))


def _percentage(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 <= value <= 100 else None


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
