"""Client addresses: REMOTE_ADDR, X-Forwarded-For only behind a proxy; what counts as internal."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from jobsdash.ops.network import client_ip, is_internal


def test_without_a_proxy_forwarded_for_is_ignored(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = None
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert client_ip(request) == "203.0.113.9"


def test_behind_a_proxy_the_hop_the_proxy_added_counts(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    claimed = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert client_ip(claimed) == "203.0.113.9"
    garbage = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip(garbage) == "10.0.0.2"


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("10.1.2.3", True),
        ("192.168.0.7", True),
        ("172.20.0.1", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),
        ("203.0.113.9", False),
        ("8.8.8.8", False),
        ("2001:4860::8888", False),
        ("unknown", False),
        ("", False),
    ],
)
def test_internal_addresses(address: str, internal: bool) -> None:
    assert is_internal(address) is internal
