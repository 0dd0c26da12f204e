"""One-line logs: the redaction filter, the request id filter, the line formatter."""

from __future__ import annotations

import base64
import logging

import pytest

from jobsdash.ops.logs import LineFormatter, RedactSecretsFilter, RequestIdFilter, logfmt_value, request_id

SECRET = "s3cr3t-V4lue-xyz"
BASIC = "Basic " + base64.b64encode(f"acme-key:{SECRET}".encode()).decode()
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJlLXZhbHVl"
# A signed embed link's token as django.core.signing makes them (payload:timestamp:signature).
LINK_SIGNATURE = "hEeeh6qsTAqoJUwgP_hrH62mrrqCLSZsLl_xTnGFfbk"
LINK_TOKEN = f"eyJsIjoxMiwidCI6M30:1xYTfo:{LINK_SIGNATURE}"


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("jobsdash.test", logging.INFO, __file__, 1, msg, args or None, exc_info)


def _through_filter(record: logging.LogRecord) -> str:
    assert RedactSecretsFilter().filter(record) is True
    return LineFormatter().format(record)


@pytest.mark.parametrize(
    ("message", "args", "leaked"),
    [
        ("sending Authorization: %s", (BASIC,), BASIC.split()[1]),
        ("headers %r", ({"Authorization": f"Bearer {JWT}"},), JWT),
        ("headers %r", ({"authorization": BASIC},), BASIC.split()[1]),
        ("retrying with %s", (f"Bearer {JWT}",), JWT),
        ("token %s", (JWT,), JWT),
        ("tenant form api_secret=%s&slug=acme", (SECRET,), SECRET),
        ("body %s", (f'{{"clientId": "acme-key", "clientSecret": "{SECRET}"}}',), SECRET),
        ("connecting to %s", (f"redis://:{SECRET}@127.0.0.1:6379/0",), SECRET),
        ("connecting to %s", (f"postgres://jobsdash:{SECRET}@db/jobsdash",), SECRET),
        ("login with password=%s", (SECRET,), SECRET),
        ("Not Found: %s", ("/e/eyJsIjoxLCJ0IjoxfQ:1tXyz9:AbCdEfGh_ij-kl/",), "eyJsIjoxLCJ0IjoxfQ:1tXyz9"),
        # A token with a stray character before it, as chat apps copy links (Django's own
        # "Forbidden: ..." line escapes it), or after it.
        ("Forbidden: %s", (f"/e/\\xe9{LINK_TOKEN}/",), LINK_SIGNATURE),
        ("Forbidden: %s", (f"/e/\u200b{LINK_TOKEN}/",), LINK_SIGNATURE),
        ("Forbidden: %s", (f"/e/%E2%80%8B{LINK_TOKEN}/",), LINK_SIGNATURE),
        ("Forbidden: %s", (f"/e/{LINK_TOKEN}%22/row/build/x/",), LINK_SIGNATURE),
        # Anywhere else by its shape, also URL-encoded inside another URL.
        ("find q=%s", (f"https%3A%2F%2Fjobs.example.com%2Fe%2F{LINK_TOKEN.replace(':', '%3A')}%2F",), LINK_SIGNATURE),
        ("pasted %s", (f"see {LINK_TOKEN} here",), LINK_SIGNATURE),
    ],
)
def test_it_masks_credentials_in_messages_and_arguments(message: str, args: tuple, leaked: str) -> None:
    line = _through_filter(_record(message, *args))
    assert leaked not in line
    assert "***" in line


def test_it_masks_credentials_in_a_traceback() -> None:
    try:
        raise RuntimeError(f"upstream echoed Authorization: {BASIC}")
    except RuntimeError as exc:
        line = _through_filter(_record("failed", exc=exc))
    assert BASIC.split()[1] not in line
    assert "RuntimeError" in line


def test_it_leaves_ordinary_messages_alone() -> None:
    record = _record("list for tenant %s failed (%s); retrying", "acme", "status 503")
    assert RedactSecretsFilter().filter(record)
    assert record.getMessage() == "list for tenant acme failed (status 503); retrying"
    assert record.args == ("acme", "status 503")  # untouched: formatting stays lazy


def test_every_record_is_one_logfmt_line_with_the_request_id() -> None:
    token = request_id.set("req-123")
    try:
        try:
            raise ValueError("bad\nthing")
        except ValueError as exc:
            record = _record('two\nlines and "quotes"', exc=exc)
        record.fields = {"status": 200, "path": "/t/acme/jobs/", "user": None}
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = LineFormatter().format(record)
    assert "\n" not in line
    assert line.startswith("time=")
    assert " level=INFO logger=jobsdash.test request_id=req-123 " in line
    assert 'msg="two\\nlines and \\"quotes\\""' in line
    assert " status=200 path=/t/acme/jobs/ user=- " in line
    assert "exc=" in line and "ValueError: bad\\nthing" in line


def test_outside_a_request_the_id_is_a_dash() -> None:
    record = _record("hello")
    RequestIdFilter().filter(record)
    assert record.request_id == "-"


@pytest.mark.parametrize(
    ("value", "written"),
    [("plain", "plain"), ("two words", '"two words"'), ("a=b", '"a=b"'), ("", '""'), (None, "-"), (12.5, "12.5")],
)
def test_logfmt_values_are_bare_or_quoted(value: object, written: str) -> None:
    assert logfmt_value(value) == written
