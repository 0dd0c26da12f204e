"""Where the relay keeps what outlives one upstream connection: per stream, the sequence number of
the last event, a ring buffer of the last events (already serialized as websocket frames), the
upstream's last event id, the last status, and the lease that says which process holds the
upstream connection.

Two implementations with the same API: `LocalState` (one process, no Redis) and `RedisState`
(shared by every process of a deployment, so a process taking over a stream continues its
sequence and any process can serve `since=` catch-up).

Only the lease holder writes, and every write is fenced by its lease token: a process that lost
its lease (paused, partitioned) cannot append stale events after another process took over.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Position:
    """Where a stream stands: what a new lease holder continues from."""

    seq: int
    last_event_id: str | None
    status: str | None


class StreamState(Protocol):
    async def acquire(self, sid: str, token: str, ttl: float) -> bool:
        """Take the lease of stream `sid` for `ttl` seconds if nobody holds it."""

    async def renew(self, sid: str, token: str, ttl: float) -> bool:
        """Extend our lease; False when it is no longer ours (expired and taken, or released)."""

    async def release(self, sid: str, token: str) -> None:
        """Give the lease up if it is still ours, so another process need not wait for it to expire."""

    async def position(self, sid: str) -> Position: ...

    async def append(self, sid: str, token: str, seq: int, frame: str, event_id: str | None) -> bool:
        """Store frame number `seq`; False (nothing stored) when `token` no longer holds the lease."""

    async def set_status(self, sid: str, token: str, status: str) -> bool: ...

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


@dataclass
class _Local:
    seq: int = 0
    frames: deque[str] = field(default_factory=deque)
    last_event_id: str | None = None
    status: str | None = None
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
        return Position(entry.seq, entry.last_event_id, entry.status)

    async def append(self, sid: str, token: str, seq: int, frame: str, event_id: str | None) -> bool:
        entry = self._get(sid)
        if not self._holds(entry, token):
            return False
        entry.seq = seq
        entry.frames.append(frame)
        while len(entry.frames) > self.buffer_size:
            entry.frames.popleft()
        if event_id:
            entry.last_event_id = event_id
        return True

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
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], 'last_id', ARGV[5]) end
redis.call('PEXPIRE', KEYS[4], ARGV[6])
return 1
"""
_HSET_FENCED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[2], ARGV[2]) else redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
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
    """The stream state of a deployment, in Redis. Keys `jobsdash:live:<sid>:{lease,seq,buf,meta}`
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
    def _keys(sid: str) -> tuple[str, str, str, str]:
        base = f"jobsdash:live:{sid}"
        return f"{base}:lease", f"{base}:seq", f"{base}:buf", f"{base}:meta"

    async def acquire(self, sid: str, token: str, ttl: float) -> bool:
        lease = self._keys(sid)[0]
        return bool(await self.redis.set(lease, token, nx=True, px=max(1, int(ttl * 1000))))

    async def renew(self, sid: str, token: str, ttl: float) -> bool:
        keys = self._keys(sid)
        return bool(await self._renew(keys=list(keys), args=[token, max(1, int(ttl * 1000)), self.retention_ms]))

    async def release(self, sid: str, token: str) -> None:
        await self._release(keys=[self._keys(sid)[0]], args=[token])

    async def position(self, sid: str) -> Position:
        _, seq_key, _, meta_key = self._keys(sid)
        async with self.redis.pipeline(transaction=True) as pipe:
            seq, meta = await pipe.get(seq_key).hgetall(meta_key).execute()
        return Position(int(seq or 0), meta.get("last_id") or None, meta.get("status") or None)

    async def append(self, sid: str, token: str, seq: int, frame: str, event_id: str | None) -> bool:
        args = [token, seq, frame, self.buffer_size, event_id or "", self.retention_ms]
        return bool(await self._append(keys=list(self._keys(sid)), args=args))

    async def set_status(self, sid: str, token: str, status: str) -> bool:
        lease, _, _, meta = self._keys(sid)
        return bool(await self._hset(keys=[lease, meta], args=[token, "status", status, self.retention_ms]))

    async def forget_event_id(self, sid: str, token: str) -> None:
        lease, _, _, meta = self._keys(sid)
        await self._hset(keys=[lease, meta], args=[token, "last_id", "", self.retention_ms])

    async def since(self, sid: str, seq: int) -> list[str] | None:
        _, seq_key, buf_key, _ = self._keys(sid)
        # One transaction, so the counter and the list agree.
        async with self.redis.pipeline(transaction=True) as pipe:
            current, frames = await pipe.get(seq_key).lrange(buf_key, 0, -1).execute()
        return _frames_after(int(current or 0), frames, seq)

    async def aclose(self) -> None:
        await self.redis.aclose()
