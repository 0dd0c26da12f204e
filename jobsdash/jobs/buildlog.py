"""Build log lines as safe HTML: ANSI SGR colours and attributes become CSS classes, everything
else is escaped text, and which lines look like errors.

What it holds: a tokenizer of terminal escape sequences (ECMA-48: CSI, OSC, DCS/SOS/PM/APC
strings, two-byte escapes, their 8-bit C1 forms), an SGR state machine, and the renderer of one
log line into HTML spans whose classes come from a fixed set (`ansi-bold`, `ansi-fg-red`,
`ansi-bg ansi-bg-bright-yellow`...; the colours are in static/css/app.css). Nothing from the log
ever reaches the markup except as escaped text: the page's CSP forbids inline styles, so 256 and
true colours are mapped to the one of the 16 standard colours people would name for them. Sequences that are not SGR
(cursor moves, erase line, window titles, hyperlinks) and broken or unterminated ones are dropped,
never shown raw; control characters other than tab are dropped; a carriage return keeps what
follows it, as a terminal overwrites the line.

Colour state carries across lines, as a terminal shows it: a tool that turns red, prints a
multi-line error and resets later keeps all of it red. Each rendered line is still self-contained
HTML (its spans open and close within it), so any line can be shown alone: `render` takes the
numbers of the lines wanted and scans the others only for their SGR sequences.

What it must not do: read settings, touch the cache, or know about pages; it works on strings.

    >>> render(["\\x1b[31mnpm ERR!\\x1b[0m <b>"])[0].html
    '<span class="ansi-fg-red">npm ERR!</span> &lt;b&gt;'
"""

from __future__ import annotations

import colorsys
import functools
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from django.utils.safestring import SafeString, mark_safe

COLOURS = (
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "white",
    "bright-black",
    "bright-red",
    "bright-green",
    "bright-yellow",
    "bright-blue",
    "bright-magenta",
    "bright-cyan",
    "bright-white",
)

_CUBE = (0, 95, 135, 175, 215, 255)
# Where each hue starts on the colour circle (degrees), from the top: magenta, blue, cyan, green, yellow, red.
_HUES = ((345, 1), (260, 5), (200, 4), (165, 6), (70, 2), (20, 3), (0, 1))
_MAX_PARAM_DIGITS = 5  # longer numbers are malformed; int() of a huge one could even raise

# One alternative per kind of escape, tried in order at each ESC (or C1 control); plain text in between.
_ESCAPE = re.compile(
    r"""
      # CSI; without a final byte (broken) it is dropped all the same
      (?:\x1b\[|\x9b)(?P<params>[0-?]*)(?P<inter>[\ -/]*)(?P<final>[@-~])?
      # OSC, DCS, SOS, PM, APC strings, to BEL or ST, or to the end of the line when unterminated
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9b\x9c]*(?:\x07|\x1b\\|\x9c)?
      # two-byte escapes (charset, keypad, save cursor...), and a lone ESC
    | \x1b[\ -/]*[0-~]?
    """,
    re.VERBOSE,
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all C0 and C1 controls but tab and newline
_PRIVATE = re.compile(r"[<=>?]")
# Just the SGR sequences: where _ESCAPE's CSI alternative would read one (no string or other
# escape can hide an ESC [ or a CSI byte, as they end before either), for scanning long logs fast.
_SGR = re.compile(r"(?:\x1b\[|\x9b)([0-9;:]*)m")


@dataclass(frozen=True)
class Style:
    """The SGR state: colours are indexes into COLOURS, None for the default."""

    fg: int | None = None
    bg: int | None = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    inverse: bool = False

    def classes(self) -> str:
        """The CSS classes of this style, "" for the default one."""
        return _classes(self)


@functools.lru_cache(maxsize=1024)
def _classes(style: Style) -> str:
    fg, bg = (style.bg, style.fg) if style.inverse else (style.fg, style.bg)
    names = ["ansi-inverse"] if style.inverse else []
    if bg is not None:
        names += ["ansi-bg", f"ansi-bg-{COLOURS[bg]}"]
    if fg is not None:
        names.append(f"ansi-fg-{COLOURS[fg]}")
    names += [f"ansi-{flag}" for flag in ("bold", "dim", "italic", "underline") if getattr(style, flag)]
    return " ".join(names)


PLAIN = Style()


@dataclass(frozen=True)
class Line:
    """One rendered log line: its 1-based number, its HTML, its text without escapes."""

    number: int
    html: SafeString
    text: str
    error: bool


def render(lines: Sequence[str], numbers: Iterable[int] | None = None) -> list[Line]:
    """The lines numbered `numbers` (1-based, any order, all of them when None), in order, each
    rendered with the colour state left by every line before it, shown or not.

    >>> [line.html for line in render(["\\x1b[1mbold", "still bold\\x1b[22m", "plain"], [2, 3])]
    ['<span class="ansi-bold">still bold</span>', 'plain']
    """
    wanted = range(1, len(lines) + 1) if numbers is None else sorted({n for n in numbers if 1 <= n <= len(lines)})
    rendered, style, done = [], PLAIN, 0
    for number in wanted:
        style = style_after(lines[done : number - 1], style)
        markup, text, style = render_line(lines[number - 1], style)
        rendered.append(Line(number, markup, text, looks_like_error(text)))
        done = number
    return rendered


def render_line(line: str, style: Style = PLAIN) -> tuple[SafeString, str, Style]:
    """One line as HTML, its plain text, and the style it leaves for the next line.

    A carriage return goes back to column 0, as progress bars do: the last part of the line that
    shows any text is the one kept (a trailing CR, as in CRLF logs, changes nothing), while the
    SGR sequences of every part still count.
    """
    if "\r" not in line:
        return _render_part(line, style)
    shown = _render_part("", style)
    for part in line.split("\r"):
        markup, text, style = _render_part(part, style)
        if text:
            shown = (markup, text, style)
    return shown[0], shown[1], style


def _render_part(line: str, style: Style) -> tuple[SafeString, str, Style]:
    runs: list[tuple[Style, str]] = []
    for text, sgr in _tokens(line):
        if sgr is not None:
            style = apply_sgr(style, sgr)
            continue
        text = _CONTROLS.sub("", text)
        if not text:
            continue
        if runs and runs[-1][0] == style:
            runs[-1] = (style, runs[-1][1] + text)
        else:
            runs.append((style, text))
    parts = []
    for run_style, text in runs:
        classes, escaped = run_style.classes(), html.escape(text)
        parts.append(f'<span class="{classes}">{escaped}</span>' if classes else escaped)
    return mark_safe("".join(parts)), "".join(text for _, text in runs), style  # every text escaped above


def plain(text: str) -> str:
    """`text` without escape sequences and control characters (tab and newline kept), as a
    terminal would show it: for search, error detection and failure signatures."""
    if "\r" in text:
        return "\n".join(render_line(part)[1] for part in text.split("\n"))
    return _CONTROLS.sub("", _ESCAPE.sub("", text))


def is_plain(text: str) -> bool:
    """Whether `text` shows as it is: no escape sequence, no control character but tab."""
    return not _CONTROLS.search(text)


def style_after(lines: Iterable[str], style: Style = PLAIN) -> Style:
    """The style in force after `lines`, reading only their SGR sequences (fast on long logs: one
    scan of them all, as no SGR sequence holds a newline)."""
    for params in _SGR.findall("\n".join(lines)):
        style = apply_sgr(style, params)
    return style


def _tokens(line: str) -> Iterable[tuple[str, str | None]]:
    """(text, None) for plain text, ("", params) for each well-formed SGR sequence; every other
    escape sequence, well-formed or not, yields nothing."""
    position = 0
    for match in _ESCAPE.finditer(line):
        if match.start() > position:
            yield line[position : match.start()], None
        position = match.end()
        params = match.group("params")
        if params is not None and match.group("final") == "m" and not match.group("inter"):
            if not _PRIVATE.search(params):  # private-mode sequences ("\x1b[>4;2m") are not SGR
                yield "", params
    if position < len(line):
        yield line[position:], None


@functools.lru_cache(maxsize=4096)  # logs repeat a handful of sequences on a handful of styles
def apply_sgr(style: Style, params: str) -> Style:
    """`style` changed by one SGR sequence's parameters ("1;31", "38;5;208", "38:2::255:0:0").

    Unknown codes are ignored; an extended colour with missing or out-of-range values is dropped
    along with the parameters it would have taken.
    """
    codes = [_subparams(part) for part in params.split(";")] if params else [[0]]
    i = 0
    while i < len(codes):
        code = codes[i]
        head = code[0]
        i += 1
        if head is None:
            continue
        if head in (38, 48, 58):
            if len(code) > 1:  # colon form: everything is in this one parameter
                colour = _extended(code[1:], colon=True)
            else:
                colour, used = _extended_semicolon(codes, i)
                i += used
            if head == 38:
                style = replace(style, fg=colour) if colour is not None else style
            elif head == 48:
                style = replace(style, bg=colour) if colour is not None else style
            continue  # 58 is the underline colour: consumed, not shown
        style = _simple(style, head, code)
    return style


def _simple(style: Style, code: int, parts: list[int | None]) -> Style:
    if code == 0:
        return PLAIN
    if 30 <= code <= 37:
        return replace(style, fg=code - 30)
    if 90 <= code <= 97:
        return replace(style, fg=code - 90 + 8)
    if 40 <= code <= 47:
        return replace(style, bg=code - 40)
    if 100 <= code <= 107:
        return replace(style, bg=code - 100 + 8)
    changes = {
        1: {"bold": True},
        2: {"dim": True},
        3: {"italic": True},
        4: {"underline": parts[1:2] != [0]},  # 4:0 is "no underline", 4:3 curly is still one
        7: {"inverse": True},
        21: {"underline": True},
        22: {"bold": False, "dim": False},
        23: {"italic": False},
        24: {"underline": False},
        27: {"inverse": False},
        39: {"fg": None},
        49: {"bg": None},
    }.get(code)
    return replace(style, **changes) if changes else style


def _subparams(part: str) -> list[int | None]:
    """A parameter's numbers ("38:2::1:2:3" -> [38, 2, 0, 1, 2, 3]); None marks a malformed one."""
    numbers: list[int | None] = []
    for piece in part.split(":"):
        if not piece:
            numbers.append(0)
        elif piece.isascii() and piece.isdigit() and len(piece) <= _MAX_PARAM_DIGITS:
            numbers.append(int(piece))
        else:
            numbers.append(None)
    return numbers


def _extended_semicolon(codes: list[list[int | None]], i: int) -> tuple[int | None, int]:
    """An extended colour from the parameters after 38/48 ("5;n" or "2;r;g;b"), and how many it used."""
    kind = codes[i][0] if i < len(codes) else None
    count = {5: 1, 2: 3, 3: 3, 4: 4}.get(kind if kind is not None else -1, 0)
    values = [c[0] for c in codes[i + 1 : i + 1 + count]]
    if kind is None or len(values) < count:
        return None, len(codes) - i  # truncated: the rest of the sequence is its garbage
    return _extended([kind, *values], colon=False), 1 + count


def _extended(values: list[int | None], colon: bool) -> int | None:
    kind = values[0] if values else None
    if kind == 5 and len(values) >= 2:
        return _index_256(values[1])
    if kind == 2:
        rgb = values[1:]
        if colon and len(rgb) >= 4:
            rgb = rgb[1:4]  # 38:2:<colour space>:r:g:b, the T.416 form
        if len(rgb) >= 3 and all(v is not None and 0 <= v <= 255 for v in rgb[:3]):
            return _nearest(tuple(rgb[:3]))  # type: ignore[arg-type]
    return None  # 3 (CMY), 4 (CMYK), 1 (transparent) or broken: no colour


def _index_256(value: int | None) -> int | None:
    if value is None or not 0 <= value <= 255:
        return None
    if value < 16:
        return value
    if value < 232:
        value -= 16
        return _nearest((_CUBE[value // 36], _CUBE[value // 6 % 6], _CUBE[value % 6]))
    grey = 8 + (value - 232) * 10
    return _nearest((grey, grey, grey))


def _nearest(rgb: tuple[int, int, int]) -> int:
    """The index of the one of the 16 colours people would name for `rgb`: a colour with little
    chroma is a grey by its lightness (black, bright black, white, bright white); any other is
    the hue it is closest to (with green's wider share of the circle, as eyes see it), bright at
    full value. RGB distance to xterm's 16 would call a muted green grey."""
    high, low = max(rgb) / 255, min(rgb) / 255
    if high - low < 0.15:
        lightness = (high + low) / 2
        return 0 if lightness < 0.25 else 8 if lightness < 0.7 else 7 if lightness < 0.95 else 15
    hue = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0] * 360
    index = next(colour for start, colour in _HUES if hue >= start)
    return index + 8 if high >= 0.95 else index


# --- which lines look like errors --------------------------------------------------------------

_ERROR_WORDS = re.compile(
    r"""
      ERR!                                            # npm
    | (?<![\w./-])(?:error|errors|fatal|panic)(?![\w/-]|\.\w)   # a word, not part of a file name or flag
    | (?<![\w./-])fail(?:ed|ure|ures|s)?(?![\w/-]|\.\w)
    | \bexit(?:ed)?\s+(?:with\s+)?(?:code|status)\b
    | \bexit\s*code\b
    | ^\s*Traceback\ \(most\ recent\ call\ last\)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_EXCEPTION_NAME = re.compile(r"[A-Za-z0-9](?:Error|Exception)\b")  # ModuleNotFoundError, IOException; not "terror"
_ERROR_HINTS = ("err", "fail", "exit", "fatal", "panic", "traceback", "exception")
_NOT_AN_ERROR = re.compile(
    r"\b(?:0|no|zero|without)\s+(?:errors?|failures?|failed)\b|\b(?:errors?|failures?|failed)\s*[:=]\s*0\b",
    re.IGNORECASE,
)


def looks_like_error(text: str) -> bool:
    """Whether a log line (plain text, see `plain`) reads as an error: `error`, `ERR!`, `failed`,
    `exit code`, a traceback or an exception name; "0 errors" and the like do not count."""
    lowered = text.lower()
    if not any(hint in lowered for hint in _ERROR_HINTS):  # most lines: a substring search is enough
        return False
    text = _NOT_AN_ERROR.sub(" ", text)
    return bool(_ERROR_WORDS.search(text) or _EXCEPTION_NAME.search(text))


def error_line_numbers(lines: Sequence[str]) -> list[int]:
    """The 1-based numbers of the lines that look like errors, in order. A line is read without
    its escapes only when it holds one of the words errors need (most lines of a long log do not):
    a word cut in two by an escape sequence ("ER\x1b[0mROR") is not read as one."""
    return [
        n
        for n, line in enumerate(lines, start=1)
        if any(hint in line.lower() for hint in _ERROR_HINTS) and looks_like_error(plain(line))
    ]
