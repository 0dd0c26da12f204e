"""The per-tenant cache of upstream job lists and jobs: the only user of the cache backend.

Views call `list_jobs` / `get_job` (sync: views are sync, DRF is sync), or `get_jobs` for several
jobs at once (failure groups, finding a job), and get a `Cached` answer:
the upstream's JSON document as bytes and as data, when it was fetched, and whether it is a stale
copy served because the upstream failed. The relay calls `on_job_event` for every job event so
that pages never show a job older than the stream they watch, and `on_stream_gap` when its
stream may have missed events (a reconnect that could not resume), so that pages refetching after
it get the registry's documents, not copies from before the gap.

- Keys carry the tenant's primary key and the normalized query, hashed: no key of one tenant can
  be computed from another tenant's request.
- Freshness by kind (settings.CACHE_TTL_*): lists and unfinished jobs a few seconds, finished jobs
  long. Entries stay for CACHE_TTL_STALE so a copy can be served when the upstream is down.
- Single flight: concurrent identical misses in a process wait for one upstream call (threads:
  every sync view runs in a thread of its own under daphne); across processes a short lock in the
  shared cache (Redis) makes the others wait for the first one's answer.
- Several jobs at once (`get_jobs`): those fresh in the cache at once, the others read at most
  DETAIL_READS_PER_TENANT at a time per tenant in the process, across requests: the reads of every
  request for a tenant share one pool of that many threads, and a job one request is reading is
  waited for by the others, not queued again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, TypeGuard

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core.cache import cache

from jobsdash.jobs.display import parse_time
from jobsdash.ops.metrics import CACHE_LOOKUPS, SINGLE_FLIGHT_JOINS
from jobsdash.tenants.models import Tenant
from jobsdash.waylay import client
from jobsdash.waylay.errors import BadResponse, UpstreamUnavailable, WaylayError
from jobsdash.waylay.queries import FINISHED_STATES, ListQuery

logger = logging.getLogger(__name__)

_VERSION = "v1"
_LOCK_SECONDS = 10
_LOCK_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Cached:
    """An upstream document as the cache holds it."""

    body: bytes
    etag: str
    fetched_at: float
    fresh_seconds: int
    stale: bool = False

    @cached_property
    def document(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.fetched_at)

    @property
    def fetched_at_ms(self) -> int:
        """When the fetch of this copy began, in ms since the epoch: how old a page built from it
        is (the page gives it to its live socket as `asof=`)."""
        return int(self.fetched_at * 1000)


def list_jobs(tenant: Tenant, query: ListQuery) -> Cached:
    """The tenant's job list for `query`, from the cache when fresh.

    Raises the client's errors (CredentialsRejected, UpstreamUnavailable, BadResponse, ...) when
    the upstream fails and no copy is held.
    """
    return _lookup(
        "list",
        _key(tenant, "list", query.urlencode()),
        _lists_changed_key(tenant),
        lambda doc: settings.CACHE_TTL_LIST,
        lambda: client.list_jobs(tenant, query),
    )


def get_job(tenant: Tenant, job_type: str, job_id: str) -> Cached:
    """One job of the tenant, from the cache when fresh (finished jobs stay fresh much longer).

    A type or id the upstream would refuse is found in no entry (none is stored for it): the client
    raises InvalidQuery (`type`, `id`) for it before sending anything.
    """
    key = _job_key(tenant, job_type, job_id)
    return _lookup(
        "job",
        key,
        f"{key}:changed",
        _job_ttl,
        lambda: client.get_job(tenant, job_type, job_id),
        _unfinished_changed_key(tenant),
    )


def job_created_at(tenant: Tenant, job_type: str, job_id: str) -> datetime | None:
    """When a job was created: from any copy of it the cache holds, fresh or not (a job's creation
    never changes), else fetched through the cache; None when that cannot be known (no such job,
    the upstream failing). Remembered in the process, so each job costs one lookup at most."""
    memo = (tenant.pk, job_type, job_id)
    known = _created.get(memo)
    if known is not None:
        return known
    entry: Cached | None = cache.get(_job_key(tenant, job_type, job_id))
    if entry is None:
        try:
            entry = get_job(tenant, job_type, job_id)
        except WaylayError as exc:
            logger.info("no creation time for a %s job of tenant %s: %s", job_type, tenant.slug, exc)
            return None
    job = entry.document.get("job")
    created = parse_time(job.get("createdAt")) if isinstance(job, dict) else None
    if created is not None:
        with _created_lock:
            _created[memo] = created
            while len(_created) > _CREATED_KEPT:
                del _created[next(iter(_created))]  # the oldest remembered
    return created


async def ajob_created_at(tenant: Tenant, job_type: str, job_id: str) -> datetime | None:
    return await sync_to_async(job_created_at, thread_sensitive=False)(tenant, job_type, job_id)


# (tenant pk, type, id) -> createdAt, insertion-ordered: the oldest go first.
_created: dict[tuple[int, str, str], datetime] = {}
_CREATED_KEPT = 20_000
_created_lock = threading.Lock()


def get_jobs(tenant: Tenant, jobs: Sequence[tuple[str, str]]) -> list[Cached | WaylayError]:
    """Several jobs of the tenant, (type, id) each, in the order asked: each as `get_job` gives it,
    or the client's error it raised (NotFound, UpstreamUnavailable, CredentialsRejected, ...).

    Those fresh in the cache come at once. The others are read through `get_job` (single flight,
    stale-if-error) in the tenant's pool of DETAIL_READS_PER_TENANT threads, which every request of
    the process shares: a page that needs dozens of jobs, opened by dozens of people at once, reads
    a few at a time, and the later requests find the earlier ones' answers in the cache.
    """
    keys = [_job_key(tenant, job_type, job_id) for job_type, job_id in jobs]
    unfinished = _unfinished_changed_key(tenant)
    found = cache.get_many([unfinished, *(name for key in keys for name in (key, f"{key}:changed"))])
    answers: list[Cached | WaylayError | None] = []
    missing: list[tuple[int, float]] = []  # (index, when the job last changed)
    for index, key in enumerate(keys):
        entry = found.get(key)
        changed_at = _changed_at(entry, found.get(f"{key}:changed", 0.0), found.get(unfinished, 0.0))
        if _fresh(entry, changed_at):
            CACHE_LOOKUPS.labels("job", "hit").inc()
            answers.append(entry)
        else:
            answers.append(None)
            missing.append((index, changed_at))
    if missing:
        wanted = [(*jobs[index], changed_at) for index, changed_at in missing]
        for (index, _), answer in zip(missing, async_to_sync(_read_all)(tenant, wanted), strict=True):
            answers[index] = answer
    return [answer for answer in answers if answer is not None]


async def _read_all(tenant: Tenant, jobs: list[tuple[str, str, float]]) -> list[Cached | WaylayError]:
    """Read `jobs` ((type, id, when it last changed) each) in the tenant's pool. A job another
    request is reading already, since after it last changed, is waited for instead: a reader that
    only waited on another's read would hold a place in the pool and leave the reads behind it
    waiting (get_job's single flight joins inside the pool)."""
    # The pool's threads are SyncToAsync's: get_job's own async_to_sync runs its fetch on this
    # loop (daphne's, under daphne), with its HTTP clients, instead of a new loop per job.
    read = sync_to_async(_get_or_error, thread_sensitive=False, executor=_reader_pool(tenant))
    waits = []
    for job_type, job_id, changed_at in jobs:
        key = _job_key(tenant, job_type, job_id)
        with _reading_lock:
            reading = _reading.get(key)
            if reading is None or reading[1] <= changed_at:
                reading = _reading[key] = (Future(), time.time())
                mine = asyncio.ensure_future(read(tenant, job_type, job_id))
                mine.add_done_callback(functools.partial(_share, key, reading))
        # Shielded: a request that goes away (its wait cancelled) must not cancel the others'.
        waits.append(asyncio.shield(asyncio.wrap_future(reading[0])))
    return list(await asyncio.gather(*waits))


def _share(key: str, reading: tuple[Future[Cached | WaylayError], float], read: asyncio.Future[Any]) -> None:
    with _reading_lock:
        if _reading.get(key) is reading:
            del _reading[key]
    shared = reading[0]
    if shared.done():  # nothing else settles it; never raise in the loop's callback if it was
        return
    if read.cancelled():  # the loop that ran it is closing: the others get an error, as of any failed read
        shared.set_result(UpstreamUnavailable("the read was cancelled"))
    elif read.exception() is not None:
        shared.set_exception(read.exception())
    else:
        shared.set_result(read.result())


def _get_or_error(tenant: Tenant, job_type: str, job_id: str) -> Cached | WaylayError:
    try:
        return get_job(tenant, job_type, job_id)
    except WaylayError as exc:
        return exc


# job key -> the read of it in progress in the tenant's pool (its answer, when it began), whichever
# request began it.
_reading: dict[str, tuple[Future[Cached | WaylayError], float]] = {}
_reading_lock = threading.Lock()


# (tenant pk, pool size) -> the pool that bounds the tenant's reads of several jobs in this process.
_readers: dict[tuple[int, int], ThreadPoolExecutor] = {}
_readers_lock = threading.Lock()


def _reader_pool(tenant: Tenant) -> ThreadPoolExecutor:
    size = settings.DETAIL_READS_PER_TENANT
    with _readers_lock:
        pool = _readers.get((tenant.pk, size))
        if pool is None:
            pool = _readers[(tenant.pk, size)] = ThreadPoolExecutor(size, thread_name_prefix=f"job-reads-t{tenant.pk}")
        return pool


async def on_job_event(tenant: Tenant, job_type: str | None, job_id: str | None) -> None:
    """A job changed upstream: its cached detail and the tenant's cached lists are out of date.

    They are marked so (not deleted): a fetch that began before the change cannot pass its answer
    off as fresh, and the old copies can still be served if the upstream fails right after.
    """
    await sync_to_async(_forget, thread_sensitive=False)(tenant, job_type, job_id)


async def on_stream_gap(tenant: Tenant) -> None:
    """A stream of the tenant may have missed events: every cached list of the tenant and every
    cached unfinished job may be out of date (finished jobs do not change). Marked, as above, with
    one tenant-wide mark for the jobs, checked beside each job's own."""
    await sync_to_async(_forget_unfinished, thread_sensitive=False)(tenant)


def _forget_unfinished(tenant: Tenant) -> None:
    now = time.time()
    cache.set_many({_lists_changed_key(tenant): now, _unfinished_changed_key(tenant): now}, settings.CACHE_TTL_STALE)


def _forget(tenant: Tenant, job_type: str | None, job_id: str | None) -> None:
    now = time.time()
    changed = {_lists_changed_key(tenant): now}
    if job_type and job_id:
        changed[f"{_job_key(tenant, job_type, job_id)}:changed"] = now
    cache.set_many(changed, settings.CACHE_TTL_STALE)


def _job_ttl(document: dict[str, Any]) -> int:
    state = (document.get("job") or {}).get("state")
    return settings.CACHE_TTL_JOB_FINISHED if state in FINISHED_STATES else settings.CACHE_TTL_JOB_ACTIVE


def _key(tenant: Tenant, kind: str, identity: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:40]
    return f"jobs:{_VERSION}:t{tenant.pk}:{kind}:{digest}"


def _job_key(tenant: Tenant, job_type: str, job_id: str) -> str:
    return _key(tenant, "job", f"{job_type}/{job_id}")


def _lists_changed_key(tenant: Tenant) -> str:
    return f"jobs:{_VERSION}:t{tenant.pk}:lists-changed"


def _unfinished_changed_key(tenant: Tenant) -> str:
    return f"jobs:{_VERSION}:t{tenant.pk}:unfinished-changed"


def _finished(entry: Cached) -> bool:
    return (entry.document.get("job") or {}).get("state") in FINISHED_STATES


def _changed_at(entry: Cached | None, changed_at: float, unfinished_changed_at: float) -> float:
    """When what `entry` holds last changed: its own mark, or, unless it holds a finished job
    (which does not change), the tenant's mark for unfinished jobs (a stream's gap) if later.
    The entry's document is read only then: a list's, on every page, is not."""
    if unfinished_changed_at <= changed_at or (entry is not None and _finished(entry)):
        return changed_at
    return unfinished_changed_at


Fetch = Callable[[], Awaitable[dict[str, Any]]]


def _lookup(
    kind: str,
    key: str,
    changed_key: str,
    fresh_for: Callable[[dict[str, Any]], int],
    fetch: Fetch,
    unfinished_changed_key: str | None = None,
) -> Cached:
    """The entry of `key` if fresh, else fetched. It is out of date once `changed_key` is later
    than its fetch, and so is an unfinished job once `unfinished_changed_key` is."""
    found = cache.get_many([key, changed_key, *([unfinished_changed_key] if unfinished_changed_key else [])])
    entry: Cached | None = found.get(key)
    unfinished_changed_at = found.get(unfinished_changed_key, 0.0) if unfinished_changed_key else 0.0
    changed_at = _changed_at(entry, found.get(changed_key, 0.0), unfinished_changed_at)
    if _fresh(entry, changed_at):
        CACHE_LOOKUPS.labels(kind, "hit").inc()
        return entry
    try:
        fetched = _single_flight(key, fetch, fresh_for, changed_at)
    except (UpstreamUnavailable, BadResponse) as exc:
        if entry is None:
            raise
        CACHE_LOOKUPS.labels(kind, "stale").inc()
        logger.warning("serving a stale copy (%.0f s old): %s", entry.age_seconds, exc)
        return dataclasses.replace(entry, stale=True)
    CACHE_LOOKUPS.labels(kind, "miss").inc()
    return fetched


def _fresh(entry: Cached | None, changed_at: float) -> TypeGuard[Cached]:
    """An entry is dated by when its fetch began: one begun before the last change is out of date."""
    return entry is not None and entry.fetched_at > changed_at and entry.age_seconds < entry.fresh_seconds


# In-process single flight: key -> the fetch in progress and when it began.
_inflight: dict[str, tuple[Future[Cached], float]] = {}
_inflight_lock = threading.Lock()


def _single_flight(key: str, fetch: Fetch, fresh_for: Callable[[dict[str, Any]], int], changed_at: float) -> Cached:
    with _inflight_lock:
        flight = _inflight.get(key)
        # Join a fetch in progress only if it began after the last change.
        leader = flight is None or flight[1] <= changed_at
        if leader:
            flight = _inflight[key] = (Future(), time.time())
    assert flight is not None
    running, started = flight
    if not leader:
        SINGLE_FLIGHT_JOINS.inc()
        return running.result()
    try:
        result = _fetch_across_processes(key, fetch, fresh_for, started, changed_at)
    except BaseException as exc:
        running.set_exception(exc)
        raise
    else:
        running.set_result(result)
        return result
    finally:
        with _inflight_lock:
            if _inflight.get(key) is flight:
                del _inflight[key]


async def _call(fetch: Fetch) -> dict[str, Any]:
    return await fetch()


def _fetch_across_processes(
    key: str, fetch: Fetch, fresh_for: Callable[[dict[str, Any]], int], started: float, changed_at: float
) -> Cached:
    """Fetch and store; with a shared cache, wait for another process's identical fetch instead."""
    lock_key = f"{key}:lock"
    locked = bool(settings.REDIS_URL) and cache.add(lock_key, 1, _LOCK_SECONDS)
    if settings.REDIS_URL and not locked:
        deadline = time.monotonic() + _LOCK_SECONDS
        while time.monotonic() < deadline:
            time.sleep(_LOCK_POLL_SECONDS)
            entry = cache.get(key)
            if _fresh(entry, changed_at):  # another process's answer, begun after the change we saw
                SINGLE_FLIGHT_JOINS.inc()
                return entry
            if cache.get(lock_key) is None:
                break
    try:
        document = async_to_sync(_call)(fetch)
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        fresh_seconds = fresh_for(document)
        entry = Cached(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', started, fresh_seconds)
        cache.set(key, entry, max(settings.CACHE_TTL_STALE, fresh_seconds))
        return entry
    finally:
        if locked:
            cache.delete(lock_key)
