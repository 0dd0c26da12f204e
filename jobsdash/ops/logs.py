"""One-line structured logs: the request id of the current request, secrets masked.

Wired in `settings.LOGGING` on the console handler:

    "filters": {"request_id": {"()": "jobsdash.ops.logs.RequestIdFilter"},
                "redact": {"()": "jobsdash.ops.logs.RedactSecretsFilter"}},
    "formatters": {"line": {"()": "jobsdash.ops.logs.LineFormatter"}},

A line reads `time=... level=INFO logger=jobsdash.access request_id=3f2a... msg="GET / 200"
method=GET path=/ status=200 ...`: logfmt, where a record's `extra={"fields": {...}}` become
key=value pairs of their own. Tracebacks are folded into the line (`exc="..."`), so one record is
always one line.

This module is imported while Django configures logging, before the apps are ready: it must not
import models.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

# The id of the request being served in this context ("-" outside a request). The request id
# middleware sets it; sync views see it too (asgiref copies the context into its threads).
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_MASK = "***"

# What a credential looks like in a log message, whichever code wrote it. Each pattern keeps its
# group 1 (the label) and masks the rest of the match.
DEFAULT_REDACTIONS: tuple[str, ...] = (
    # Authorization: Basic dXNlcjpwYXNz / authorization='Bearer eyJ...'
    r"""(?i)(\bauthorization["']?\s*[:=]\s*["']?)(?:(?:basic|bearer)\s+)?[^\s"',;}]+""",
    # A scheme and its credentials anywhere else in a message.
    # (Case-sensitive, as headers spell them, so that prose like "basic authentication" stays.)
    r"(\b(?:Basic|Bearer)\s+)(?!realm=)[A-Za-z0-9._~+/=-]{6,}",
    # key=value and "key": "value" pairs that name a secret.
    r"""(?i)(\b(?:api[_-]?secret|client[_-]?secret|secret|password|passwd|access[_-]?token|token|"""
    r"""signature|sig)["']?\s*[=:]\s*["']?)[^\s"'&,;}]+""",
    # Credentials inside a URL: redis://:pw@host, postgres://user:pw@host.
    r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(?=@)",
    # The token of a signed embed link is the credential, for whoever holds the link. In a URL
    # path (/e/<token>/) the whole segment goes, whatever stray characters a chat app put before
    # or after the token when it was copied (a zero-width space, a quote: `/e/\xe9<token>`).
    r"(/e/)[^/\s?#\"'<>]+",
    # And anywhere else, by its shape (django.core.signing: payload:timestamp:signature), also
    # URL-encoded, as in a pasted link inside another URL's query string.
    r"()eyJ[A-Za-z0-9_-]{2,}(?::|%3[Aa])[A-Za-z0-9]{4,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}",
    # A JSON Web Token on its own.
    r"()\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record as `record.request_id`. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class RedactSecretsFilter(logging.Filter):
    """Masks credentials in a record's message, arguments and traceback. Never drops a record.

    Defence in depth: code must not log secrets in the first place (the tests check the records
    before this filter); this catches what slips through, e.g. a library echoing a header.
    `patterns` replaces DEFAULT_REDACTIONS (each keeps its group 1 and masks the rest).
    """

    def __init__(self, name: str = "", patterns: Iterable[str] | None = None) -> None:
        super().__init__(name)
        self.patterns = [re.compile(p) for p in (DEFAULT_REDACTIONS if patterns is None else patterns)]

    def redact(self, text: str) -> str:
        for pattern in self.patterns:
            text = pattern.sub(lambda match: match.group(1) + _MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler's own error path
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {
                key: self.redact(value) if isinstance(value, str) else value for key, value in fields.items()
            }
        return True


class NoiseFilter(logging.Filter):
    """Turns a record into a warning line without its traceback: for loggers whose records are
    ordinary noise from the internet that Django logs as errors (a Host outside ALLOWED_HOSTS).
    Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info = record.exc_text = None
        return True


_BARE = re.compile(r"[^\s\"=\\]+")


def logfmt_value(value: Any) -> str:
    """A value as logfmt writes it: bare when it can be, else a JSON string (one line, escaped)."""
    text = "-" if value is None else str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


class LineFormatter(logging.Formatter):
    """`time=... level=... logger=... request_id=... msg=...` then the record's `fields`, one line."""

    def format(self, record: logging.LogRecord) -> str:
        pairs: list[tuple[str, Any]] = [
            ("time", datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")),
            ("level", record.levelname),
            ("logger", record.name),
            ("request_id", getattr(record, "request_id", request_id.get())),
            ("msg", record.getMessage()),
        ]
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            pairs.extend(fields.items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            pairs.append(("exc", record.exc_text))
        if record.stack_info:
            pairs.append(("stack", record.stack_info))
        return " ".join(f"{key}={logfmt_value(value)}" for key, value in pairs)
