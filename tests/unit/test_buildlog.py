"""Build log lines to HTML: a table of ANSI sequences, malformed ones and injection attempts; the
colour state across lines; which lines look like errors; and the CSS palette's contrast."""

from __future__ import annotations

import doctest
import html
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobsdash.jobs import buildlog
from jobsdash.jobs.buildlog import COLOURS, Style, error_line_numbers, looks_like_error, plain, render, render_line

# The table keeps each sequence and its HTML on one line, side by side: no wrapping.
# ruff: noqa: E501
CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text()
ESC = "\x1b"


def span(classes: str, text: str) -> str:
    return f'<span class="{classes}">{text}</span>'


# (what it is, the line, its HTML)
SEQUENCES = [
    # plain text is escaped, whatever it tries
    ("markup", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("entities and quotes", "a &amp; \"b\" 'c'", "a &amp;amp; &quot;b&quot; &#x27;c&#x27;"),
    ("closing our span", "</span><b>", "&lt;/span&gt;&lt;b&gt;"),
    ("markup in colour", f"{ESC}[31m<img src=x onerror=alert(1)>", span("ansi-fg-red", "&lt;img src=x onerror=alert(1)&gt;")),
    ("quote in a CSI", f'{ESC}[31"onmouseover=alert(1)m x', "nmouseover=alert(1)m x"),
    ("javascript hyperlink", f"{ESC}]8;;javascript:alert(1){ESC}\\click{ESC}]8;;{ESC}\\", "click"),
    # 8/16 colours, attributes, resets
    ("red", f"{ESC}[31mred{ESC}[0m done", span("ansi-fg-red", "red") + " done"),
    ("bright and background", f"{ESC}[93;44mhi", span("ansi-bg ansi-bg-blue ansi-fg-bright-yellow", "hi")),
    ("bright background", f"{ESC}[103;30mWARN", span("ansi-bg ansi-bg-bright-yellow ansi-fg-black", "WARN")),
    ("bold then normal", f"{ESC}[1;32mok{ESC}[22m green", span("ansi-fg-green ansi-bold", "ok") + span("ansi-fg-green", " green")),
    ("dim italic underline", f"{ESC}[2;3;4mx{ESC}[23;24my", span("ansi-dim ansi-italic ansi-underline", "x") + span("ansi-dim", "y")),
    ("default colours", f"{ESC}[31;42ma{ESC}[39mb{ESC}[49mc", span("ansi-bg ansi-bg-green ansi-fg-red", "a") + span("ansi-bg ansi-bg-green", "b") + "c"),
    ("empty reset", f"{ESC}[31ma{ESC}[mb", span("ansi-fg-red", "a") + "b"),
    ("empty first parameter is 0", f"{ESC}[1m{ESC}[;31mx", span("ansi-fg-red", "x")),
    ("inverse", f"{ESC}[7;31mx{ESC}[27my", span("ansi-inverse ansi-bg ansi-bg-red", "x") + span("ansi-fg-red", "y")),
    ("double underline, underline off by colon", f"{ESC}[21ma{ESC}[4:0mb", span("ansi-underline", "a") + "b"),
    ("npmlog", f"{ESC}[37;40mnpm{ESC}[0m {ESC}[0m{ESC}[31;40mERR!{ESC}[0m {ESC}[0m{ESC}[35mcode{ESC}[0m ETARGET", span("ansi-bg ansi-bg-black ansi-fg-white", "npm") + " " + span("ansi-bg ansi-bg-black ansi-fg-red", "ERR!") + " " + span("ansi-fg-magenta", "code") + " ETARGET"),
    # 256 and true colours, mapped to the 16
    ("256: a standard index", f"{ESC}[38;5;1mx", span("ansi-fg-red", "x")),
    ("256: cube red", f"{ESC}[38;5;196mx", span("ansi-fg-bright-red", "x")),
    ("256: cube blue background", f"{ESC}[48;5;19mx", span("ansi-bg ansi-bg-blue", "x")),
    ("256: dark grey", f"{ESC}[38;5;236mx", span("ansi-fg-black", "x")),
    ("256: light grey", f"{ESC}[38;5;250mx", span("ansi-fg-white", "x")),
    ("256: colon form", f"{ESC}[38:5:46mx", span("ansi-fg-bright-green", "x")),
    ("true colour", f"{ESC}[38;2;0;205;205mx", span("ansi-fg-cyan", "x")),
    ("true colour, orange", f"{ESC}[38;2;255;165;0mx", span("ansi-fg-bright-yellow", "x")),
    ("true colour, pip's muted green", f"{ESC}[38;2;114;156;31mx", span("ansi-fg-green", "x")),
    ("true colour, pip's pink", f"{ESC}[38;2;249;38;114mx", span("ansi-fg-bright-magenta", "x")),
    ("true colour, crimson", f"{ESC}[38;2;220;20;60mx", span("ansi-fg-red", "x")),
    ("true colour, a light grey", f"{ESC}[38;2;200;200;205mx", span("ansi-fg-white", "x")),
    ("256: dark red", f"{ESC}[38;5;52mx", span("ansi-fg-red", "x")),
    ("256: light blue", f"{ESC}[38;5;111mx", span("ansi-fg-bright-blue", "x")),
    ("true colour, colon with colour space", f"{ESC}[38:2::255:0:255mx", span("ansi-fg-bright-magenta", "x")),
    ("true colour, colon without colour space", f"{ESC}[48:2:0:0:238mx", span("ansi-bg ansi-bg-blue", "x")),
    ("true colour then bold", f"{ESC}[38;2;205;0;0;1mx", span("ansi-fg-red ansi-bold", "x")),
    ("underline colour is consumed", f"{ESC}[58;2;255;0;0;31mx", span("ansi-fg-red", "x")),
    # malformed SGR: dropped, the rest still applies
    ("256 without an index", f"{ESC}[38;5mx", "x"),
    ("true colour cut short", f"{ESC}[38;2;255mx", "x"),
    ("index out of range", f"{ESC}[38;5;300mx", "x"),
    ("component out of range", f"{ESC}[38;2;256;0;0mx", "x"),
    ("unknown colour kind: only the kind is skipped", f"{ESC}[38;9;1;31mx", span("ansi-fg-red ansi-bold", "x")),
    ("huge parameter", f"{ESC}[{'9' * 5000}mx", "x"),
    ("huge colour index", f"{ESC}[38;5;{'1' * 40}mx", "x"),
    ("unknown codes", f"{ESC}[5;8;9;53;31mx", span("ansi-fg-red", "x")),
    ("private-mode m", f"{ESC}[>4;2mx", "x"),
    ("intermediate byte", f"{ESC}[1 mx", "x"),
    # other sequences: dropped, never shown
    ("erase line", f"{ESC}[2Kx{ESC}[K", "x"),
    ("cursor up", f"{ESC}[1Ax", "x"),
    ("hide cursor", f"{ESC}[?25lnpm{ESC}[?25h", "npm"),
    ("window title, BEL", f"{ESC}]0;building\x07x", "x"),
    ("window title, ST", f"{ESC}]2;building{ESC}\\x", "x"),
    ("hyperlink", f"{ESC}]8;;https://example.com\x07link{ESC}]8;;\x07", "link"),
    ("unterminated OSC", f"x{ESC}]0;never ends", "x"),
    ("OSC cut by a CSI", f"{ESC}]0;title{ESC}[31mx", span("ansi-fg-red", "x")),
    ("DCS", f"{ESC}Pq#0;2;0;0;0{ESC}\\x", "x"),
    ("APC", f"{ESC}_Gf=24;AAAA{ESC}\\x", "x"),
    ("charset", f"{ESC}(Bx{ESC})0", "x"),
    ("keypad, save cursor", f"{ESC}={ESC}7x{ESC}8", "x"),
    ("lone ESC at the end", f"x{ESC}", "x"),
    ("two ESCs", f"{ESC}{ESC}[31mx", span("ansi-fg-red", "x")),
    ("CSI cut at the end", f"x{ESC}[31", "x"),
    ("CSI cut by another", f"{ESC}[31{ESC}[32mx", span("ansi-fg-green", "x")),
    ("CSI introducer only", f"{ESC}[", ""),
    ("8-bit CSI", "\x9b31mx", span("ansi-fg-red", "x")),
    ("8-bit OSC", "\x9d0;title\x9cx", "x"),
    # control characters
    ("controls", "a\x00b\x07c\x08d\x7fe\x85f", "abcdef"),
    ("tab kept", "a\tb", "a\tb"),
    ("carriage return overwrites", "10%\r100%", "100%"),
    ("trailing CR (CRLF)", "done\r", "done"),
    ("colour before a CR still counts", f"{ESC}[31m10%\r100%", span("ansi-fg-red", "100%")),
    ("empty", "", ""),
]  # fmt: skip


@pytest.mark.parametrize(("what", "line", "expected"), SEQUENCES, ids=[s[0] for s in SEQUENCES])
def test_a_line_becomes_escaped_html_with_classes(what: str, line: str, expected: str) -> None:
    markup, text, _ = render_line(line)
    assert markup == expected
    assert html.unescape(re.sub(r"<[^>]*>", "", markup)) == text


def test_colour_carries_across_lines_and_each_line_is_whole_html() -> None:
    lines = [f"{ESC}[31mred", "still red", f"{ESC}[1mred bold{ESC}[0m", "plain"]
    rendered = render(lines)
    assert [line.html for line in rendered] == [
        span("ansi-fg-red", "red"),
        span("ansi-fg-red", "still red"),
        span("ansi-fg-red ansi-bold", "red bold"),
        "plain",
    ]
    assert [line.number for line in rendered] == [1, 2, 3, 4]


def test_lines_shown_alone_get_the_colour_of_the_lines_skipped() -> None:
    lines = [f"{ESC}[32mgreen", "skipped", f"skipped too{ESC}[1m", "shown", "x" * 10, f"{ESC}[0mreset", "after"]
    shown = render(lines, [7, 4, 4, 99, 0])  # any order, duplicates and numbers out of range
    assert [(line.number, line.html) for line in shown] == [(4, span("ansi-fg-green ansi-bold", "shown")), (7, "after")]


def test_plain_drops_escapes_and_keeps_tabs_and_newlines() -> None:
    assert plain(f"{ESC}[31mnpm ERR!{ESC}[0m code\tETARGET\n{ESC}]0;t\x07next\x00") == "npm ERR! code\tETARGET\nnext"
    assert plain("nothing to drop") == "nothing to drop"


ERRORS = [
    "npm ERR! code ETARGET",
    '#9 ERROR: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1',
    "ERROR: failed to solve: process did not complete successfully",
    "error TS2339: Property 'x' does not exist on type 'Payload'.",
    "src/index.ts(12,5): error TS2339",
    "Error: Cannot find module 'node-fetch'",
    "fatal: unable to access 'https://github.com/x/y.git/'",
    "panic: runtime error: index out of range",
    "Build failed",
    "FAILED tests/test_model.py::test_predict",
    "1 failed, 12 passed",
    "Command '['pip', 'install']' returned non-zero exit status 1.",
    "process exited with code 137",
    "exitCode: 137",
    "Traceback (most recent call last):",
    "ModuleNotFoundError: No module named 'sklearn'",
    "java.io.IOException: Stream closed",
    "  \u00d7 Getting requirements to build wheel did not run successfully. Failure.",
]
NOT_ERRORS = [
    "#5 [3/9] RUN npm ci --omit=dev",
    "added 142 packages, and audited 143 packages in 8s",
    "found 0 vulnerabilities",
    "Compiled with 0 errors and 2 warnings",
    "Tests: 0 failed, 12 passed",
    "errors: 0",
    "build finished without errors",
    "COPY src/error-handler.js ./",
    "importing errors.go from ./pkg",
    "npm WARN deprecated inflight@1.0.6: This module is not supported",
    "--no-fail-fast",
    "terror is a word",
    "onErrorResumeNext",
    "stderr redirected",
]


@pytest.mark.parametrize("line", ERRORS)
def test_error_lines_are_found(line: str) -> None:
    assert looks_like_error(line)


@pytest.mark.parametrize("line", NOT_ERRORS)
def test_ordinary_lines_are_not_errors(line: str) -> None:
    assert not looks_like_error(line)


def test_error_lines_are_numbered_and_read_through_colours() -> None:
    lines = ["#1 load", f"{ESC}[31mnpm {ESC}[0mERR{ESC}[31m! code E404", "ok", "Traceback (most recent call last):"]
    assert error_line_numbers(lines) == [2, 4]
    assert [line.error for line in render(lines)] == [False, True, False, True]


@given(
    st.lists(
        st.sampled_from(["\x1b", "[", "]", "m", ";", "3", "8", "5", "2", "\x07", "\\", "<", "&", "a", "\r"]),
        max_size=60,
    )
)
def test_any_bytes_give_escaped_text_and_known_classes(pieces: list[str]) -> None:
    markup, text, _ = render_line("".join(pieces))
    assert "\x1b" not in markup and "\x07" not in markup and "\r" not in markup
    tags = re.findall(r"<[^>]*>", markup)
    assert all(re.fullmatch(r'<span class="[a-z -]+">|</span>', tag) for tag in tags)
    assert html.unescape(re.sub(r"<[^>]*>", "", markup)) == text


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(buildlog).failed == 0


# --- the palette in static/css/app.css ----------------------------------------------------------


def _block() -> str:
    start, end = CSS.index("=== ANSI colours of build logs"), CSS.index("=== end of ANSI colours ===")
    return CSS[start:end]


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(one: str, other: str) -> float:
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_class_the_renderer_can_emit_has_a_rule() -> None:
    defined = set(re.findall(r"\.(ansi-[a-z-]+)", _block()))
    styles = [Style(fg=i, bg=i, bold=True, dim=True, italic=True, underline=True, inverse=True) for i in range(16)]
    emitted = {name for style in styles for name in style.classes().split()}
    assert emitted <= defined
    assert {f"ansi-fg-{name}" for name in COLOURS} <= defined


def test_colours_are_readable_on_the_logs_background_in_both_themes() -> None:
    backgrounds = set(re.findall(r"--code-bg:\s*(#[0-9a-fA-F]{6})", CSS))
    assert len(backgrounds) >= 2  # the light and the dark theme
    root = re.search(r":root \{(.*?)\}", _block(), re.DOTALL)
    assert root is not None
    palette = dict(re.findall(r"--ansi-([a-z-]+):\s*(#[0-9a-fA-F]{6})", root.group(1)))
    assert set(palette) == set(COLOURS)
    low = [(name, bg) for name, colour in palette.items() for bg in backgrounds if _contrast(colour, bg) < 4.5]
    assert low == []


def test_backgrounds_are_readable_with_the_text_they_set() -> None:
    rules = re.findall(r"\.ansi-bg-([a-z-]+) \{ background: (#[0-9a-f]{6}); --ansi-on: (#[0-9a-f]{6}); \}", _block())
    assert {name for name, _, _ in rules} == set(COLOURS)
    assert [name for name, bg, text in rules if _contrast(bg, text) < 4.5] == []
