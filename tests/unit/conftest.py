"""Unit fixtures: a relay stream with no tenant and nothing started, for tests that drive it by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jobsdash.live.relay import Relay, Stream, StreamKey


@pytest.fixture
async def stream() -> AsyncIterator[Stream]:
    relay = Relay()
    key = StreamKey(1, None, None, False)
    stream = relay.streams[key.sid] = Stream(relay, key, tenant=None)  # type: ignore[arg-type]
    yield stream
    await relay.aclose()
