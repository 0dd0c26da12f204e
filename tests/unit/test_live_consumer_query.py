"""The websocket's query parameters, close codes and the origin check, without sockets."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from autobahn.websocket.protocol import WebSocketProtocol

from jobsdash.live import consumer
from jobsdash.live.consumer import parse_query
from jobsdash.live.origin import LiveOriginValidator
from jobsdash.live.query import parse_asof
from jobsdash.waylay.errors import InvalidQuery


def test_it_reads_every_parameter() -> None:
    assert parse_query(b"type=build&id=a%24b&children=true&since=12") == ("build", "a$b", True, 12)


def test_it_treats_empty_values_as_absent() -> None:
    assert parse_query(b"type=&id=&children=&since=") == (None, None, False, None)
    assert parse_query(b"") == (None, None, False, None)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        (b"type=nope", "type"),
        (b"children=yes", "children"),
        (b"since=-1", "since"),
        (b"since=1.5", "since"),
        (b"since=%D9%A3", "since"),  # a non-ASCII digit
        (b"since=1234567890123456789", "since"),
        (b"type=build&type=deploy", "type"),
        (b"id=a%00b", "id"),
        (b"id=%ff", "query"),
    ],
)
def test_it_refuses_bad_values_naming_the_parameter(query: bytes, parameter: str) -> None:
    with pytest.raises(InvalidQuery) as refused:
        parse_query(query)
    assert refused.value.parameter == parameter


def test_it_reads_asof_as_seconds_and_refuses_what_is_not_a_time_in_ms() -> None:
    assert parse_asof(b"asof=1733090551123") == 1733090551.123
    assert parse_asof(b"type=build") is None
    assert parse_asof(b"asof=") is None
    for bad in (b"asof=soon", b"asof=-5", b"asof=1.5", b"asof=1234567890123456", b"asof=1&asof=2"):
        with pytest.raises(InvalidQuery) as refused:
            parse_query(bad)  # refused with the rest of the URL, before the handshake
        assert refused.value.parameter == "asof"


@pytest.mark.parametrize(
    ("origin", "valid"),
    [
        ("http://127.0.0.1:8000", True),
        ("https://localhost", True),
        ("https://portal.example.com", True),
        ("http://portal.example.com", False),  # embedding origins match scheme and port exactly
        ("https://evil.example.com", False),
        ("null", False),
        (None, False),
    ],
)
def test_it_accepts_allowed_hosts_and_embedding_origins(settings, origin: str | None, valid: bool) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.FRAME_ANCESTORS = ["https://portal.example.com"]
    validator = LiveOriginValidator(application=None)
    assert validator.valid_origin(urlparse(origin) if origin is not None else None) is valid


class _CloseFrames:
    def sendCloseFrame(self, code: int, reasonUtf8: bytes | None, isReply: bool) -> None:
        self.code = code


@pytest.mark.parametrize("name", [n for n in dir(consumer) if n.startswith("CLOSE_")])
def test_every_close_code_is_one_daphne_can_send(name: str) -> None:
    # autobahn, daphne's websocket layer, raises on any code but 1000 and 3000-4999; the consumer
    # would die with the socket half closed.
    frames = _CloseFrames()
    WebSocketProtocol.sendClose(frames, getattr(consumer, name))  # type: ignore[arg-type]
    assert frames.code == getattr(consumer, name)
