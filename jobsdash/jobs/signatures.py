"""The failure signature of a failed job: its `failedReason` cut to the line that says what went
wrong, with everything that varies from one job to the next replaced by a readable placeholder,
so that the same failure in different jobs has one signature and different failures never share
one (the key of the failure groups, shown to people as is).

    >>> signature("Build failed: npm ERR! code ETARGET\\nnpm ERR! notarget No matching version found "
    ...           "for lodash@^9.0.0.", Subject(function_name="door-sensor"))
    'Build failed: npm ERR! code ETARGET No matching version found for lodash@<version>'

What it strips: the job's own function name, version, image and id (`Subject`, read from the job
document or from a job event alike, so a live event lands in the group the page computed),
timestamps, UUIDs and registry job ids, hex digests and trace ids, ids after words such as
`request id`, e-mail and IP addresses, Kubernetes pod suffixes, sizes, durations, versions and
other numbers. What it keeps: the words, and the numbers that tell failures apart (exit codes and
statuses, HTTP statuses, errno, signals).

Which line: ANSI escapes are dropped, then leading warnings and blank or decorative lines; a
Python traceback's meaningful line is its exception (after the last "Traceback" header), prefixed
by the line before the traceback, if any; a line that only leads in (ends with ":", an npm
`code EXXX` line, pip's "subprocess-exited-with-error") is joined with the next one.

What it must not do: fetch anything or know about pages; it works on strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from jobsdash.jobs.buildlog import plain

MAX_LENGTH = 300
_MAX_INPUT = 1000  # of the meaningful line: bounds the regexes' work on a pathological reason
NO_REASON = "(no failure reason given)"
# Kept numbers hide from the number rule as private-use characters (neither digits nor word
# characters to a regex), and come back after it.
_HIDDEN = "".join(chr(0xE000 + d) for d in range(10))
_HIDE, _SHOW = str.maketrans("0123456789", _HIDDEN), str.maketrans(_HIDDEN, "0123456789")


@dataclass(frozen=True)
class Subject:
    """What identifies the failed job itself, to strip from its reason."""

    job_id: str = ""
    function_name: str = ""
    function_version: str = ""
    image: str = ""


def subject_of(document: Any) -> Subject:
    """The Subject of a get document (`IJobResponse`) or of a job event's data: both carry
    `job.id` (events `job.id`, get documents `job.job.id`) and `function`; get documents of most
    types also carry `request.imageName`."""
    job = document.get("job") if isinstance(document, dict) and isinstance(document.get("job"), dict) else {}
    status = job.get("job") if isinstance(job.get("job"), dict) else {}
    function = job.get("function") or (document.get("function") if isinstance(document, dict) else None)
    function = function if isinstance(function, dict) else {}
    request = job.get("request") if isinstance(job.get("request"), dict) else {}
    return Subject(
        job_id=_text(status.get("id") or job.get("id")),
        function_name=_text(function.get("name")),
        function_version=_text(function.get("version")),
        image=_text(request.get("imageName")),
    )


def signature(reason: str, subject: Subject = Subject()) -> str:
    """The failure signature of `reason` for the job described by `subject`."""
    line = meaningful_line(plain(reason or ""))
    if not line:
        return NO_REASON
    text = _normalize(line[:_MAX_INPUT], subject)
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1].rstrip() + "…"


# --- which line ---------------------------------------------------------------------------------

_NOISE = re.compile(r"^(?:npm (?:WARN|notice)\b|WARN(?:ING)?\b|warning:|DEPRECATION:|notice:)", re.IGNORECASE)
_TRACEBACK = re.compile(r"^\s*Traceback \(most recent call last\):?\s*$")
_LEAD_IN = re.compile(
    r"(?::|\bnpm (?:ERR!|error) code E?[A-Z0-9_]+|\berror: subprocess-exited-with-error|\bnpm (?:ERR!|error))$"
)
# npm's "npm ERR! <title>" and the marks of pip's error boxes (a multiplication sign, box drawing).
_TOOL_PREFIX = re.compile(r"^(?:npm (?:ERR!|error)\s+(?:[a-z]+\s+(?=[A-Z]))?|[\u00d7\u2502\u2570\u2500>\s]+)")
_MAX_JOINED = 3


def meaningful_line(text: str) -> str:
    """The one line of a (plain, multi-line) reason that says what failed, whitespace collapsed."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    headers = [i for i, line in enumerate(text.split("\n")) if _TRACEBACK.match(line)]
    if headers:
        return _traceback_line(text.split("\n"), lines, headers[0], headers[-1])
    lines = [line for line in lines if _meaningful(line)]
    while lines and _NOISE.match(lines[0]) and len(lines) > 1:
        lines.pop(0)
    if not lines:
        return ""
    joined, used = lines[0], 1
    while _LEAD_IN.search(joined) and used < len(lines) and used < _MAX_JOINED:
        joined = f"{joined} {_TOOL_PREFIX.sub('', lines[used])}".strip()
        used += 1
    return joined.rstrip(".").rstrip()


def _traceback_line(raw: list[str], lines: list[str], first: int, last: int) -> str:
    """The exception of the last traceback, after the first meaningful line before the first one."""
    after = [raw[i] for i in range(last + 1, len(raw)) if raw[i].strip()]
    unindented = [line for line in after if not line[:1].isspace()]
    exception = " ".join((unindented or after or [""])[-1].split())
    lead = next((line for line in lines[:first] if _meaningful(line) and not _NOISE.match(line)), "")
    if not lead:
        return exception
    if not exception:
        return lead
    return f"{lead} {exception}" if lead.endswith(":") else f"{lead}: {exception}"


def _meaningful(line: str) -> bool:
    return sum(c.isalnum() for c in _TOOL_PREFIX.sub("", line)) >= 2


# --- what varies per job ------------------------------------------------------------------------

_HTTP_PHRASES = "|".join(sorted({re.escape(s.phrase) for s in HTTPStatus}, key=len, reverse=True))
_SEP = r"[\s:=#\"']*"
_RULES: list[tuple[re.Pattern[str], str]] = [
    # Times first: their digits would otherwise become numbers.
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}[:_]\d{2}(?:[:_]\d{2}(?:[.,_]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
            r"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2}(?: GMT)?"
            r"|\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b"
        ),
        "<time>",
    ),
    # Ids: registry job ids (a UUID, `$`, a nanoid), UUIDs, W3C traceparents, ids after a name.
    (re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(?:\$[\w-]+)?"), "<id>"),
    (re.compile(r"\b[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\b"), "<trace>"),
    (
        re.compile(
            rf"(?i)\b((?:x-)?(?:request|trace|span|correlation|build|execution|session|event)[-_ ]?id{_SEP})"
            r"(?!<)\w[\w.:/+-]*"
        ),
        r"\1<id>",
    ),
    (re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), "<email>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b|\[[0-9a-fA-F:]*:[0-9a-fA-F:]+\](?::\d+)?"), "<ip>"),
    # Kubernetes pod names (its alphabet has no vowels, 0, 1 or 3): a ReplicaSet hash and a pod
    # suffix, or a pod suffix with a digit.
    (re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}(?![A-Za-z0-9])"), "-<pod>"),
    (re.compile(r"-(?=[bcdfghjklmnpqrstvwxz]*\d)[bcdfghjklmnpqrstvwxz2456789]{5}(?![A-Za-z0-9])"), "-<pod>"),
    # Digests and hex ids (7+ hex digits with a digit and a letter: not a word like "added").
    (re.compile(r"\b(sha256|sha512|sha1|md5):[0-9a-fA-F]{16,}\b"), r"\1:<hex>"),
    (
        re.compile(
            r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b|\b(?=[0-9A-F]*\d)(?=[0-9A-F]*[A-F])[0-9A-F]{16,}\b"
        ),
        "<hex>",
    ),
    # Random tokens: 16+ letters and digits, both cases and a digit (a nanoid, an API request id).
    (re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[a-z])(?=[\w-]*[A-Z])[A-Za-z0-9_-]{16,}\b"), "<id>"),
    # Sizes and durations (a number and its unit), before versions and bare numbers.
    (
        re.compile(r"\b\d+(?:\.\d+)?(?:[KMGTPE]i|[kKMGTPE]i?B|[KMGTPE]\b|\s?(?:bytes|[KMGT]B)\b|B\b)"),
        "<size>",
    ),
    (
        re.compile(
            r"\b(?:\d+(?:\.\d+)?(?:h|m(?!s)|s|ms|µs|us|ns)){2,}\b"
            r"|\b\d+(?:\.\d+)?\s?(?:ms|milliseconds?|secs?|seconds?|mins?|minutes?|hrs?|hours?|days?)\b"
            r"|\b\d+(?:\.\d+)?(?:s|m|h|d|µs|us|ns)\b"
        ),
        "<duration>",
    ),
    # Versions: dotted triples anywhere, any dotted number after a version operator.
    (re.compile(r"(?<![\w.])[\^~]?v?\d+(?:\.\d+){2,}(?:[-+][0-9A-Za-z.-]+)?\b"), "<version>"),
    (re.compile(r"(?<=[@=<>~^])[\^~]?\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.-]+)?\b|(?<=@)[\^~]\d+\b"), "<version>"),
]
# Numbers that tell failures apart: marked before the number rule, unmarked after it.
_KEPT_NUMBERS = [
    re.compile(r"(?i)\bexit(?:ed)?(?:\s+with)?(?:\s+(?:code|status))?\s*[:=]?\s*(-?\d{1,3})\b"),
    re.compile(r"(?i)\bexit\s*code\"?\s*[:=]?\s*(-?\d{1,3})\b"),
    re.compile(r"(?i)\b(?:errno|signal|sig)\s*[:=]?\s*(-?\d{1,3})\b|\[Errno (\d+)\]"),
    re.compile(
        r"(?i)\b(?:status(?:\s?code)?|statuscode|http(?:/\d(?:\.\d)?)?|returned|responded\s+with|response|code|error)"
        r"\s*[:=]?\s*([1-5]\d\d)\b"
    ),
    re.compile(rf"\b([1-5]\d\d)\s+(?:{_HTTP_PHRASES})\b"),
    re.compile(r"\bE(\d{3})\b"),  # npm's E404
]
_OWN_IMAGE = re.compile(
    r"(?<![\w/.:<>-])[a-z0-9][\w.-]*(?::\d+)?(?:/[\w.<>-]+)*/[\w.-]*<function>[\w.<>-]*(?::[\w.<>-]+|@sha256:\w+)"
)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\w)")
_REPEATED = re.compile(r"(<[a-z]+>)(?:\s*[,;]\s*\1)+")


def _normalize(line: str, subject: Subject) -> str:
    text = _strip_subject(line.translate({ord(c): None for c in _HIDDEN}), subject)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    for pattern in _KEPT_NUMBERS:
        text = pattern.sub(_keep, text)
    text = _NUMBER.sub("<n>", text).translate(_SHOW)
    text = _REPEATED.sub(r"\1, …", text)
    return " ".join(text.split())


def _keep(match: re.Match[str]) -> str:
    """The match with the digits of its groups hidden from the number rule."""
    text, offset = match.group(0), match.start(0)
    for group in range(1, (match.lastindex or 0) + 1):
        if match.group(group) is not None:
            begin, end = match.start(group) - offset, match.end(group) - offset
            text = text[:begin] + text[begin:end].translate(_HIDE) + text[end:]
    return text


def _strip_subject(text: str, subject: Subject) -> str:
    """The job's own image, id, function name (as written and as the slug in its image and
    endpoint) and version, longest first."""
    replacements = [(subject.image, "<image>"), (subject.job_id, "<id>")]
    if "$" in subject.job_id:
        replacements += [(part, "<id>") for part in subject.job_id.split("$") if len(part) >= 8]
    name = subject.function_name
    if len(name) >= 3:
        slug = "".join(c if c.isalnum() else "-" for c in name.lower())
        replacements += [(name, "<function>"), (slug, "<function>")]
    if subject.function_version:
        replacements.append((subject.function_version, "<version>"))
    for value, placeholder in sorted(replacements, key=lambda pair: -len(pair[0])):
        if value:
            boundary = r"(?<![A-Za-z0-9_.])" if placeholder == "<version>" else r"(?<![A-Za-z0-9_])"
            text = re.sub(boundary + re.escape(value) + r"(?![A-Za-z0-9_])", placeholder, text, flags=re.IGNORECASE)
    # An image named after the job's function, with its tag, is the job's image however it was spelled.
    return _OWN_IMAGE.sub("<image>", text)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)
