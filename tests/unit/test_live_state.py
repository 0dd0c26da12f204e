"""The relay's stream state: leases, fenced writes, the ring buffer and since= answers, for the
in-process store and (with REDIS_URL) the Redis one, which must behave the same."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from jobsdash.live.state import LocalState, RedisState, StreamState

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[StreamState]:
    if request.param == "local":
        store: StreamState = LocalState(buffer_size=5, retention=60)
    else:
        if not REDIS_URL:
            pytest.skip("REDIS_URL is not set")
        store = RedisState(REDIS_URL, buffer_size=5, retention=60)
    yield store
    await store.aclose()


@pytest.fixture
def sid() -> str:
    return uuid.uuid4().hex


async def test_it_grants_a_lease_to_one_holder_at_a_time(state: StreamState, sid: str) -> None:
    assert await state.acquire(sid, "a", 5)
    assert not await state.acquire(sid, "b", 5)
    assert await state.renew(sid, "a", 5)
    assert not await state.renew(sid, "b", 5)
    await state.release(sid, "b")  # not b's: no effect
    assert not await state.acquire(sid, "b", 5)
    await state.release(sid, "a")
    assert await state.acquire(sid, "b", 5)


async def test_it_lets_another_take_an_expired_lease(state: StreamState, sid: str) -> None:
    assert await state.acquire(sid, "a", 0.05)
    deadline = asyncio.get_running_loop().time() + 2
    while not await state.acquire(sid, "b", 5):
        assert asyncio.get_running_loop().time() < deadline, "the lease never expired"
        await asyncio.sleep(0.02)
    assert not await state.renew(sid, "a", 5)


async def test_it_refuses_writes_from_a_process_that_lost_the_lease(state: StreamState, sid: str) -> None:
    assert await state.acquire(sid, "a", 5)
    assert await state.append(sid, "a", 1, '{"seq":1}', "id-1")
    await state.release(sid, "a")
    assert await state.acquire(sid, "b", 5)
    assert not await state.append(sid, "a", 2, '{"seq":2,"stale":true}', "id-x")
    assert not await state.set_status(sid, "a", "connected")
    position = await state.position(sid)
    assert (position.seq, position.last_event_id, position.status) == (1, "id-1", None)
    assert await state.since(sid, 0) == ['{"seq":1}']


async def test_it_keeps_the_last_frames_and_answers_since(state: StreamState, sid: str) -> None:
    assert await state.acquire(sid, "a", 5)
    for seq in range(1, 9):
        assert await state.append(sid, "a", seq, f'{{"seq":{seq}}}', None)
    assert await state.since(sid, 8) == []
    assert await state.since(sid, 5) == ['{"seq":6}', '{"seq":7}', '{"seq":8}']
    assert await state.since(sid, 3) == [f'{{"seq":{seq}}}' for seq in range(4, 9)]  # 4..8 kept
    assert await state.since(sid, 2) is None  # 3 is gone
    assert await state.since(sid, 9) is None  # ahead of the stream: from an expired state


async def test_it_remembers_position_and_status_for_the_next_holder(state: StreamState, sid: str) -> None:
    assert (await state.position(sid)).seq == 0
    assert await state.since(sid, 0) == []
    assert await state.acquire(sid, "a", 5)
    assert await state.append(sid, "a", 1, '{"seq":1}', "id-1")
    assert await state.append(sid, "a", 2, '{"seq":2}', None)  # no id: the last one stays
    assert await state.set_status(sid, "a", "reconnecting")
    await state.release(sid, "a")
    position = await state.position(sid)
    assert (position.seq, position.last_event_id, position.status) == (2, "id-1", "reconnecting")
    assert await state.acquire(sid, "b", 5)
    await state.forget_event_id(sid, "b")
    assert (await state.position(sid)).last_event_id is None
