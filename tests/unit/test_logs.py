"""A build log as the pages show it: line elements with anchors, the job page's excerpt of a long
log (head, tail, every error line in between, the skipped ranges), and search over the whole log."""

from __future__ import annotations

import doctest
import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobsdash.jobs import logs
from jobsdash.jobs.buildlog import render
from jobsdash.jobs.logs import ERROR_CONTEXT, HEAD_LINES, MAX_MIDDLE_ERRORS, TAIL_LINES, excerpt, search, whole
from jobsdash.waylay.errors import InvalidQuery
from tests.fixtures.pages import elements

ESC = "\x1b"
LINE = re.compile(
    r'<span class="(line[a-z ]*)" id="L(\d+)">'  # a line: its anchor,
    r'<a class="ln" href="#L\2" tabindex="-1">\2</a>'  # its number linking to it,
    r'<span class="lt">(.*?)</span>\n</span>',  # its text
    re.S,
)


def shown_lines(view: logs.LogView) -> list[tuple[int, str, str]]:
    """(number, classes, text HTML) of every line the view shows, in order."""
    found = []
    for part in view.parts:
        if part.html:
            assert "".join(m.group(0) for m in LINE.finditer(part.html)) == part.html  # nothing else in between
            found += [(int(n), classes, text) for classes, n, text in LINE.findall(part.html)]
    return found


def gaps(view: logs.LogView) -> list[tuple[int, int, int]]:
    return [(part.first, part.last, part.hidden_errors) for part in view.parts if not part.html]


def test_a_short_log_is_shown_whole_with_an_anchor_per_line_and_its_errors_marked() -> None:
    lines = ["#1 load", f"{ESC}[31mnpm ERR!{ESC}[0m code ETARGET", "<script>alert(1)</script>", "done"]
    view = excerpt(lines)
    assert (view.total, view.cut, view.shown, view.error_count, view.first_error) == (4, False, 4, 1, 2)
    assert shown_lines(view) == [
        (1, "line", "#1 load"),
        (2, "line error", '<span class="ansi-fg-red">npm ERR!</span> code ETARGET'),
        (3, "line", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        (4, "line", "done"),
    ]
    # Read as a browser would: one element per line, the number a link to it.
    spans = [e for e in elements(view.parts[0].html, "span") if "line" in e.classes]
    links = elements(view.parts[0].html, "a", "ln")
    assert [e["id"] for e in spans] == ["L1", "L2", "L3", "L4"]
    assert [(a["href"], a.text) for a in links] == [("#L1", "1"), ("#L2", "2"), ("#L3", "3"), ("#L4", "4")]


def test_the_text_of_the_lines_is_the_log_without_its_escapes() -> None:
    lines = [f"{ESC}[1mbold{ESC}[22m & <b>", "tab\there", f"progress 10%\r{ESC}[32mdone"]
    text = html.unescape(re.sub(r"<[^>]*>", "", whole(lines).parts[0].html))
    assert text == "1bold & <b>\n2tab\there\n3done\n"  # numbers, then each line's text and a newline


def test_a_long_log_shows_head_tail_and_every_error_between_with_context_and_its_gaps() -> None:
    total = 5000
    errors = [1000, 1001, 3000]
    lines = [f"npm ERR! at {n}" if n in errors else f"line {n}" for n in range(1, total + 1)]
    view = excerpt(lines)
    numbers = [n for n, _, _ in shown_lines(view)]
    tail_start = total - TAIL_LINES + 1
    around = {
        *range(1000 - ERROR_CONTEXT, 1001 + ERROR_CONTEXT + 1),
        *range(3000 - ERROR_CONTEXT, 3000 + ERROR_CONTEXT + 1),
    }
    assert numbers == sorted({*range(1, HEAD_LINES + 1), *around, *range(tail_start, total + 1)})
    assert gaps(view) == [(201, 997, 0), (1004, 2997, 0), (3003, tail_start - 1, 0)]
    assert [classes for n, classes, _ in shown_lines(view) if n in errors] == ["line error"] * 3
    assert (view.cut, view.error_count, view.first_error) == (True, 3, 1000)
    assert view.shown == len(numbers) and view.total == total


def test_too_many_errors_in_the_middle_show_the_first_ones_and_count_the_rest() -> None:
    total = 3000
    lines = [f"error {n}" if n % 10 == 0 else f"line {n}" for n in range(1, total + 1)]
    view = excerpt(lines)
    middle = [n for n in range(1, total + 1) if n % 10 == 0 and HEAD_LINES < n <= total - TAIL_LINES]
    shown = {n for n, _, _ in shown_lines(view)}
    assert set(middle[:MAX_MIDDLE_ERRORS]) <= shown and not set(middle[MAX_MIDDLE_ERRORS:]) & shown
    assert sum(hidden for _, _, hidden in gaps(view)) == len(middle) - MAX_MIDDLE_ERRORS
    assert view.error_count == total // 10


def test_a_line_after_a_gap_has_the_colour_the_skipped_lines_left() -> None:
    lines = ["head", *["x"] * (HEAD_LINES - 1), f"{ESC}[33mturns yellow", *["y"] * 300, "still yellow"]
    last = shown_lines(excerpt(lines))[-1]
    assert last == (len(lines), "line", '<span class="ansi-fg-yellow">still yellow</span>')


def test_the_whole_log_marks_the_lines_a_search_matched() -> None:
    lines = ["npm ci", "ok", f"{ESC}[37;40mnpm{ESC}[0m http"]
    view = whole(lines, search(lines, "NPM").lines)
    assert [(n, classes) for n, classes, _ in shown_lines(view)] == [(1, "line match"), (2, "line"), (3, "line match")]


@pytest.mark.parametrize(
    ("needle", "count", "lines"),
    [
        ("npm", 3, (1, 3)),  # case-insensitive, read through colours
        ("NPM ERR!", 1, (3,)),
        ("m e", 1, (3,)),  # across an SGR sequence
        ("aa", 2, (4,)),  # "aaaaa": two, not overlapping
        ("<b>", 1, (5,)),  # markup is text
        ("bell", 1, (6,)),  # a control character dropped, as the page shows it
        ("10%", 0, ()),  # overwritten by a carriage return
        ("zzz", 0, ()),
    ],
)
def test_search_counts_every_match_in_the_text_as_shown(needle: str, count: int, lines: tuple[int, ...]) -> None:
    log = [
        "npm ci && npm test",
        "ok",
        f"{ESC}[31mnpm ERR!{ESC}[0m code E404",
        "aaaaa",
        "<b>x</b>",
        "be\x07ll",
        "10%\rdone",
    ]
    found = search(log, needle)
    assert (found.count, found.lines) == (count, lines)


def test_an_empty_search_finds_nothing_and_a_long_one_is_refused_naming_q() -> None:
    assert search(["a"], "") == logs.Matches("", 0, ())
    assert logs.validate_needle(None) == "" and logs.validate_needle("x" * logs.MAX_NEEDLE) == "x" * logs.MAX_NEEDLE
    with pytest.raises(InvalidQuery) as refused:
        logs.validate_needle("x" * (logs.MAX_NEEDLE + 1))
    assert refused.value.parameter == "q"


@given(
    st.lists(
        st.text(st.sampled_from(["\x1b", "[", "3", "1", "m", "a", "A", "b", " ", "\r", "\x07", ";"]), max_size=12),
        max_size=8,
    ),
    st.text(st.sampled_from(["a", "A", "b", " "]), min_size=1, max_size=3),
)
def test_search_counts_what_the_page_shows(lines: list[str], needle: str) -> None:
    # The page's script counts in the lines' text (static/js/log.js): both must agree.
    shown = [line.text.lower() for line in render(lines)]
    found = search(lines, needle)
    assert found.count == sum(text.count(needle.lower()) for text in shown)
    assert found.lines == tuple(n for n, text in enumerate(shown, start=1) if needle.lower() in text)


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(logs).failed == 0
