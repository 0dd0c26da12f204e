"""The relay's stream state: leases, fenced writes, the ring buffer and since= answers, for the
in-process store and (with REDIS_URL) the Redis one, which must behave the same."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from jobsdash.live.state import LocalState, RedisState, Run, StreamState, seq_before

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


async def test_it_keeps_the_run_and_when_each_frame_was_published(state: StreamState, sid: str) -> None:
    assert (await state.position(sid)).run is None
    assert await state.acquire(sid, "a", 5)
    assert await state.begin_run(sid, "a", Run(1, 1000.5, 0))
    for seq in range(1, 8):
        assert await state.append(sid, "a", seq, f'{{"seq":{seq}}}', None, at=1000.0 + seq)
    assert (await state.position(sid)).run == Run(1, 1000.5, 0)
    assert await state.times(sid) == (7, [1003.0, 1004.0, 1005.0, 1006.0, 1007.0])  # as many as frames kept
    await state.release(sid, "a")
    assert await state.acquire(sid, "b", 5)
    assert not await state.begin_run(sid, "a", Run(9, 2000.0, 7))  # fenced, like every write
    assert await state.begin_run(sid, "b", Run(2, 2000.0, 7))
    assert (await state.position(sid)).run == Run(2, 2000.0, 7)


@pytest.mark.parametrize(
    ("moment", "floor", "expected"),
    [
        (1005.5, 0, 5),  # frames 6 and 7 were published after the moment
        (1007.0, 0, 7),  # none was
        (1000.0, 0, None),  # all kept frames are later, and 1 and 2 are gone: they may be too
        (1000.0, 2, 2),  # ... unless 1 and 2 are known to be older (from before the run)
    ],
)
def test_it_finds_where_the_frames_after_a_moment_begin(moment: float, floor: int, expected: int | None) -> None:
    assert seq_before(7, [1003.0, 1004.0, 1005.0, 1006.0, 1007.0], moment, floor) == expected
    assert seq_before(4, [], moment, 4) == 4  # nothing published since the run began
