"""A job's build log as the pages show it: lines rendered as HTML with their anchors, the excerpt
the job page shows of a long log, and search over the whole log.

- Every line is an element `id="L<n>"` whose number is a link to `#L<n>`; lines that look like
  errors carry the class `error`, lines a search matched the class `match` (the HTML of the text
  itself is `jobsdash.jobs.buildlog`'s: colours as classes, everything else escaped).
- The job page shows a short log whole and a long one as its head and tail, with every error line
  of the part in between in place (a few lines of context around each, up to MAX_MIDDLE_ERRORS of
  them) and the skipped ranges marked (parts not shown), so the reason of a failure is never a
  click away.
- Search is a case-insensitive substring match on the text as shown (escapes dropped), counted over
  the whole log whatever the page shows, so "12 matches" is true of the log, not of the excerpt;
  static/js/log.js counts the same way in the lines a page holds.

What it must not do: fetch, render templates or know about viewers; it works on lists of strings.

    view = excerpt(lines)                    # the job page's
    view = whole(lines, matched=search(lines, "ETARGET").lines)
    for part in view.parts: part.first, part.last, part.html ("" when not shown)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

from jobsdash.jobs import buildlog
from jobsdash.waylay.errors import InvalidQuery

HEAD_LINES = 200
TAIL_LINES = 200
ERROR_CONTEXT = 2  # lines shown before and after an error line of the middle of a long log
MAX_MIDDLE_ERRORS = 100  # more than that many in the middle: the rest are in the whole log
MAX_NEEDLE = 200


@dataclass(frozen=True)
class Part:
    """The lines `first`..`last`: shown (`html`), or not shown, of which `hidden_errors` look like
    errors (only when there were too many to show)."""

    first: int
    last: int
    html: str = ""  # a SafeString when shown
    hidden_errors: int = 0

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    @property
    def skipped(self) -> int:
        return 0 if self.html else self.count


@dataclass(frozen=True)
class LogView:
    """A build log as a page shows it: its parts in order, and where its errors are."""

    total: int
    parts: tuple[Part, ...]
    error_count: int
    first_error: int | None

    @property
    def cut(self) -> bool:
        """Whether some lines are not shown (the whole log is elsewhere)."""
        return any(part.skipped for part in self.parts)

    @property
    def shown(self) -> int:
        return self.total - sum(part.skipped for part in self.parts)


@dataclass(frozen=True)
class Matches:
    """What a search found in a whole log: how many matches, and the numbers of the lines."""

    needle: str
    count: int
    lines: tuple[int, ...]


def excerpt(lines: Sequence[str]) -> LogView:
    """The job page's view of a log: whole when short, else head, tail and the error lines between."""
    errors = buildlog.error_line_numbers(lines)
    total = len(lines)
    if total <= HEAD_LINES + TAIL_LINES:
        return _view(lines, range(1, total + 1), errors)
    tail_start = total - TAIL_LINES + 1
    middle = [n for n in errors if HEAD_LINES < n < tail_start]
    shown = {*range(1, HEAD_LINES + 1), *range(tail_start, total + 1)}
    for number in middle[:MAX_MIDDLE_ERRORS]:
        shown.update(range(max(1, number - ERROR_CONTEXT), min(total, number + ERROR_CONTEXT) + 1))
    return _view(lines, sorted(shown), errors, hidden=middle[MAX_MIDDLE_ERRORS:])


def whole(lines: Sequence[str], matched: Iterable[int] = ()) -> LogView:
    """The whole log, lines in `matched` marked (a search's)."""
    return _view(lines, range(1, len(lines) + 1), buildlog.error_line_numbers(lines), matched=set(matched))


def _view(
    lines: Sequence[str],
    numbers: Sequence[int],
    errors: list[int],
    hidden: Sequence[int] = (),
    matched: set[int] | None = None,
) -> LogView:
    rendered = buildlog.render(lines, numbers)
    parts: list[Part] = []
    run: list[buildlog.Line] = []

    def close_run() -> None:
        if run:
            parts.append(Part(run[0].number, run[-1].number, lines_html(run, matched)))
            run.clear()

    expected = 1
    for line in rendered:
        if line.number != expected:  # a gap before this line
            close_run()
            skipped = [n for n in hidden if expected <= n < line.number]
            parts.append(Part(expected, line.number - 1, hidden_errors=len(skipped)))
        run.append(line)
        expected = line.number + 1
    close_run()
    return LogView(len(lines), tuple(parts), len(errors), errors[0] if errors else None)


def lines_html(lines: Iterable[buildlog.Line], matched: set[int] | None = None) -> SafeString:
    """The lines as elements `<span class="line" id="L<n>">` holding the number's link and the text;
    each ends in a newline, so the text copied out of the page is the log's."""
    out = []
    for line in lines:
        n = line.number
        classes = "line error" if line.error else "line"
        if matched and n in matched:
            classes += " match"
        # Every part is a number, a fixed word or buildlog's escaped HTML.
        number = f'<a class="ln" href="#L{n}" tabindex="-1">{n}</a>'  # no tab stop per line
        out.append(f'<span class="{classes}" id="L{n}">{number}<span class="lt">{line.html}</span>\n</span>')
    return mark_safe("".join(out))


def validate_needle(value: str | None) -> str:
    """The `q` parameter of a log page: the text to search for ("" for none); InvalidQuery when too long."""
    if value is None:
        return ""
    if len(value) > MAX_NEEDLE:
        raise InvalidQuery("q", f"search for at most {MAX_NEEDLE} characters")
    return value


def search(lines: Sequence[str], needle: str) -> Matches:
    """Every match of `needle` (case-insensitive, on the text as shown, not overlapping) in `lines`.

    >>> search(["\\x1b[31mnpm ERR!\\x1b[0m code ETARGET", "ok", "npm err! again"], "ERR!")
    Matches(needle='ERR!', count=2, lines=(1, 3))
    """
    if not needle:
        return Matches(needle, 0, ())
    wanted = needle.lower()
    count, found = 0, []
    for number, line in enumerate(lines, start=1):
        text = line if buildlog.is_plain(line) else buildlog.plain(line)
        if hits := text.lower().count(wanted):
            count += hits
            found.append(number)
    return Matches(needle, count, tuple(found))
