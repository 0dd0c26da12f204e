"""Where the relay keeps what outlives one upstream connection: per stream, the sequence number of
the last event, a ring buffer of the last events (already serialized as websocket frames, each
with when it was published), the upstream's last event id, the last status, the current run
(since when and from which seq the stream is known to have missed nothing), and the lease that
says which process holds the upstream connection.

Two implementations with the same API: `LocalState` (one process, no Redis) and `RedisState`
(shared by every process of a deployment, so a process taking over a stream continues its
sequence and any process can serve `since=` catch-up).

Only the lease holder writes, and every write is fenced by its lease token: a process that lost
its lease (paused, partitioned) cannot append stale events after another process took over.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Run:
    """An unbroken run of a stream: since `at` (wall-clock seconds, when its upstream connection
    was seen established) every upstream change is in the frames after `seq`. `number` grows by
    one per run of the stream, so a process can tell a run it has not seen yet."""

    number: int
    at: float
    seq: int

    def to_wire(self) -> list[Any]:
        return [self.number, self.at, self.seq]

    @classmethod
    def from_wire(cls, value: Any) -> Run | None:
        if not isinstance(value, list | tuple) or len(value) != 3:
            return None
        return cls(int(value[0]), float(value[1]), int(value[2]))


@dataclass(frozen=True)
class Position:
    """Where a stream stands: what a new lease holder continues from."""

    seq: int
    last_event_id: str | None
    status: str | None
    run: Run | None = None


class StreamState(Protocol):
    async def acquire(self, sid: str, token: str, ttl: float) -> bool:
        """Take the lease of stream `sid` for `ttl` seconds if nobody holds it."""

    async def renew(self, sid: str, token: str, ttl: float) -> bool:
        """Extend our lease; False when it is no longer ours (expired and taken, or released)."""

    async def release(self, sid: str, token: str) -> None:
        """Give the lease up if it is still ours, so another process need not wait for it to expire."""

    async def position(self, sid: str) -> Position: ...

    async def append(
        self, sid: str, token: str, seq: int, frame: str, event_id: str | None, at: float | None = None
    ) -> bool:
        """Store frame number `seq`, published at `at` (now by default); False (nothing stored)
        when `token` no longer holds the lease."""

    async def set_status(self, sid: str, token: str, status: str) -> bool: ...

    async def begin_run(self, sid: str, token: str, run: Run) -> bool:
        """Record that a new run began (after a gap); False when `token` no longer holds the lease."""

    async def times(self, sid: str) -> tuple[int, list[float]]:
        """The stream's last seq and when each buffered frame was published, oldest first."""

    async def forget_event_id(self, sid: str, token: str) -> None:
        """Drop the stored upstream event id (after `close`, a new connection starts afresh)."""

    async def since(self, sid: str, seq: int) -> list[str] | None:
        """The stored frames after `seq`, oldest first; None when some of them are no longer kept
        (or `seq` is ahead of the stream, i.e. it is from a stream state that has since expired)."""

    async def aclose(self) -> None: ...


def _frames_after(current: int, frames: list[str], seq: int) -> list[str] | None:
    """Frames hold the sequence numbers current-len+1 .. current, one each, in order: only the
    lease holder appends, always the next number."""
    if seq > current:
        return None
    first = current - len(frames) + 1
    if seq < first - 1:
        return None
    return frames[seq - first + 1 :]


def seq_before(current: int, times: list[float], moment: float, floor: int) -> int | None:
    """The seq after which every frame published after `moment` is, given the publish times of the
    buffered frames (they end at seq `current`) and `floor`, a seq known to be older than
    `moment`; None when the buffer no longer reaches back to `moment`."""
    first = current - len(times) + 1
    later = next((first + offset for offset, at in enumerate(times) if at > moment), current + 1)
    if later == first and first - 1 > floor:
        return None  # the frames trimmed from the buffer may be later than `moment` too
    return later - 1


@dataclass
class _Local:
    seq: int = 0
    frames: deque[str] = field(default_factory=deque)
    times: deque[float] = field(default_factory=deque)
    last_event_id: str | None = None
    status: str | None = None
    run: Run | None = None
    lease: str | None = None
    lease_until: float = 0.0
    touched: float = field(default_factory=time.monotonic)


class LocalState:
    """The stream state of one process. Entries not written or leased for `retention` seconds are
    dropped, so the memory used follows the streams watched, not all streams ever watched."""

    def __init__(self, buffer_size: int, retention: float) -> None:
        self.buffer_size = buffer_size
        self.retention = retention
        self._streams: dict[str, _Local] = {}
        self._next_purge = time.monotonic() + retention

    def _get(self, sid: str) -> _Local:
        now = time.monotonic()
        if now >= self._next_purge:
            self._next_purge = now + self.retention
            for key, entry in list(self._streams.items()):
                if entry.lease_until < now and entry.touched + self.retention < now:
                    del self._streams[key]
        entry = self._streams.get(sid)
        if entry is None:
            entry = self._streams[sid] = _Local()
        entry.touched = now
        return entry

    def _holds(self, entry: _Local, token: str) -> bool:
        return entry.lease == token and entry.lease_until > time.monotonic()

    async def acquire(self, sid: str, token: str, ttl: float) -> bool:
        entry = self._get(sid)
        now = time.monotonic()
        if entry.lease is not None and entry.lease_until > now and entry.lease != token:
            return False
        entry.lease, entry.lease_until = token, now + ttl
        return True

    async def renew(self, sid: str, token: str, ttl: float) -> bool:
        entry = self._get(sid)
        if not self._holds(entry, token):
            return False
        entry.lease_until = time.monotonic() + ttl
        return True

    async def release(self, sid: str, token: str) -> None:
        entry = self._streams.get(sid)
        if entry is not None and entry.lease == token:
            entry.lease, entry.lease_until = None, 0.0

    async def position(self, sid: str) -> Position:
        entry = self._get(sid)
        return Position(entry.seq, entry.last_event_id, entry.status, entry.run)

    async def append(
        self, sid: str, token: str, seq: int, frame: str, event_id: str | None, at: float | None = None
    ) -> bool:
        entry = self._get(sid)
        if not self._holds(entry, token):
            return False
        entry.seq = seq
        entry.frames.append(frame)
        entry.times.append(time.time() if at is None else at)
        while len(entry.frames) > self.buffer_size:
            entry.frames.popleft()
            entry.times.popleft()
        if event_id:
            entry.last_event_id = event_id
        return True

    async def begin_run(self, sid: str, token: str, run: Run) -> bool:
        entry = self._get(sid)
        if not self._holds(entry, token):
            return False
        entry.run = run
        return True

    async def times(self, sid: str) -> tuple[int, list[float]]:
        entry = self._get(sid)
        return entry.seq, list(entry.times)

    async def set_status(self, sid: str, token: str, status: str) -> bool:
        entry = self._get(sid)
        if not self._holds(entry, token):
            return False
        entry.status = status
        return True

    async def forget_event_id(self, sid: str, token: str) -> None:
        entry = self._get(sid)
        if self._holds(entry, token):
            entry.last_event_id = None

    async def since(self, sid: str, seq: int) -> list[str] | None:
        entry = self._get(sid)
        return _frames_after(entry.seq, list(entry.frames), seq)

    async def aclose(self) -> None:
        self._streams.clear()


# Every write checks the lease first, in the same atomic step (fencing).
_APPEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[6])
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('RPUSH', KEYS[5], ARGV[7])
redis.call('LTRIM', KEYS[5], -tonumber(ARGV[4]), -1)
redis.call('PEXPIRE', KEYS[5], ARGV[6])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], 'last_id', ARGV[5]) end
redis.call('PEXPIRE', KEYS[4], ARGV[6])
return 1
"""
# Sets (or, given '', deletes) the field/value pairs ARGV[3..] of the hash KEYS[2].
_HSET_FENCED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[2], ARGV[i])
  else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
# Renewing also keeps the stream's state alive while a quiet stream is being watched.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
for i = 2, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisState:
    """The stream state of a deployment, in Redis. Keys `jobsdash:live:<sid>:{lease,seq,buf,meta,times}`
    expire `retention` seconds after the stream was last written or leased."""

    def __init__(self, url: str, buffer_size: int, retention: float) -> None:
        from redis.asyncio import Redis  # only with REDIS_URL

        self.buffer_size = buffer_size
        self.retention_ms = max(1, int(retention * 1000))
        self.redis = Redis.from_url(url, decode_responses=True)
        self._append = self.redis.register_script(_APPEND)
        self._hset = self.redis.register_script(_HSET_FENCED)
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)

    @staticmethod
    def _keys(sid: str) -> tuple[str, str, str, str, str]:
        base = f"jobsdash:live:{sid}"
        return f"{base}:lease", f"{base}:seq", f"{base}:buf", f"{base}:meta", f"{base}:times"

    async def acquire(self, sid: str, token: str, ttl: float) -> bool:
        lease = self._keys(sid)[0]
        return bool(await self.redis.set(lease, token, nx=True, px=max(1, int(ttl * 1000))))

    async def renew(self, sid: str, token: str, ttl: float) -> bool:
        keys = self._keys(sid)
        return bool(await self._renew(keys=list(keys), args=[token, max(1, int(ttl * 1000)), self.retention_ms]))

    async def release(self, sid: str, token: str) -> None:
        await self._release(keys=[self._keys(sid)[0]], args=[token])

    async def position(self, sid: str) -> Position:
        _, seq_key, _, meta_key, _ = self._keys(sid)
        async with self.redis.pipeline(transaction=True) as pipe:
            seq, meta = await pipe.get(seq_key).hgetall(meta_key).execute()
        run = None
        if meta.get("run_number"):
            run = Run(int(meta["run_number"]), float(meta["run_at"]), int(meta["run_seq"]))
        return Position(int(seq or 0), meta.get("last_id") or None, meta.get("status") or None, run)

    async def append(
        self, sid: str, token: str, seq: int, frame: str, event_id: str | None, at: float | None = None
    ) -> bool:
        at = time.time() if at is None else at
        args = [token, seq, frame, self.buffer_size, event_id or "", self.retention_ms, repr(at)]
        return bool(await self._append(keys=list(self._keys(sid)), args=args))

    async def _set(self, sid: str, token: str, *pairs: str) -> bool:
        lease, _, _, meta, _ = self._keys(sid)
        return bool(await self._hset(keys=[lease, meta], args=[token, self.retention_ms, *pairs]))

    async def set_status(self, sid: str, token: str, status: str) -> bool:
        return await self._set(sid, token, "status", status)

    async def begin_run(self, sid: str, token: str, run: Run) -> bool:
        return await self._set(
            sid, token, "run_number", str(run.number), "run_at", repr(run.at), "run_seq", str(run.seq)
        )

    async def forget_event_id(self, sid: str, token: str) -> None:
        await self._set(sid, token, "last_id", "")

    async def since(self, sid: str, seq: int) -> list[str] | None:
        _, seq_key, buf_key, _, _ = self._keys(sid)
        # One transaction, so the counter and the list agree.
        async with self.redis.pipeline(transaction=True) as pipe:
            current, frames = await pipe.get(seq_key).lrange(buf_key, 0, -1).execute()
        return _frames_after(int(current or 0), frames, seq)

    async def times(self, sid: str) -> tuple[int, list[float]]:
        _, seq_key, _, _, times_key = self._keys(sid)
        async with self.redis.pipeline(transaction=True) as pipe:
            current, times = await pipe.get(seq_key).lrange(times_key, 0, -1).execute()
        return int(current or 0), [float(at) for at in times]

    async def aclose(self) -> None:
        await self.redis.aclose()
