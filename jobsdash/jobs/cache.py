"""The per-tenant cache of upstream job lists and jobs: the only user of the cache backend.

Views call `list_jobs` / `get_job` (sync: views are sync, DRF is sync) and get a `Cached` answer:
the upstream's JSON document as bytes and as data, when it was fetched, and whether it is a stale
copy served because the upstream failed. The relay calls `on_job_event` for every job event so
that pages never show a job older than the stream they watch.

- Keys carry the tenant's primary key and the normalized query, hashed: no key of one tenant can
  be computed from another tenant's request.
- Freshness by kind (settings.CACHE_TTL_*): lists and unfinished jobs a few seconds, finished jobs
  long. Entries stay for CACHE_TTL_STALE so a copy can be served when the upstream is down.
- Single flight: concurrent identical misses in a process wait for one upstream call (threads:
  every sync view runs in a thread of its own under daphne); across processes a short lock in the
  shared cache (Redis) makes the others wait for the first one's answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core.cache import cache

from jobsdash.metrics import CACHE_LOOKUPS, SINGLE_FLIGHT_JOINS
from jobsdash.tenants.models import Tenant
from jobsdash.waylay import client
from jobsdash.waylay.errors import BadResponse, UpstreamUnavailable
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


def list_jobs(tenant: Tenant, query: ListQuery) -> Cached:
    """The tenant's job list for `query`, from the cache when fresh.

    Raises the client's errors (CredentialsRejected, UpstreamUnavailable, BadResponse, ...) when
    the upstream fails and no copy is held.
    """
    key = _key(tenant, "list", query.urlencode())
    return _lookup(
        "list",
        key,
        _invalidation_key(tenant),
        lambda doc: settings.CACHE_TTL_LIST,
        lambda: client.list_jobs(tenant, query),
    )


def get_job(tenant: Tenant, job_type: str, job_id: str) -> Cached:
    """One job of the tenant, from the cache when fresh (finished jobs stay fresh much longer)."""
    return _lookup(
        "job", _job_key(tenant, job_type, job_id), None, _job_ttl, lambda: client.get_job(tenant, job_type, job_id)
    )


async def on_job_event(tenant: Tenant, event_name: str, job_type: str | None, job_id: str | None) -> None:
    """A job changed upstream: drop its cached detail and make the tenant's cached lists refetch.

    Stale copies of lists are kept (marked out of date, not deleted) so they can still be served
    if the upstream fails right after.
    """
    await sync_to_async(_forget, thread_sensitive=False)(tenant, job_type, job_id)


def _forget(tenant: Tenant, job_type: str | None, job_id: str | None) -> None:
    cache.set(_invalidation_key(tenant), time.time(), settings.CACHE_TTL_STALE)
    if job_type and job_id:
        cache.delete(_job_key(tenant, job_type, job_id))


def _job_ttl(document: dict[str, Any]) -> int:
    state = (document.get("job") or {}).get("state")
    return settings.CACHE_TTL_JOB_FINISHED if state in FINISHED_STATES else settings.CACHE_TTL_JOB_ACTIVE


def _key(tenant: Tenant, kind: str, identity: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:40]
    return f"jobs:{_VERSION}:t{tenant.pk}:{kind}:{digest}"


def _job_key(tenant: Tenant, job_type: str, job_id: str) -> str:
    return _key(tenant, "job", f"{job_type}/{job_id}")


def _invalidation_key(tenant: Tenant) -> str:
    return f"jobs:{_VERSION}:t{tenant.pk}:lists-changed"


def _lookup(
    kind: str,
    key: str,
    invalidation_key: str | None,
    fresh_for: Callable[[dict[str, Any]], int],
    fetch: Callable[[], Awaitable[dict[str, Any]]],
) -> Cached:
    entry, changed_at = _read(key, invalidation_key)
    if entry is not None and entry.fetched_at > changed_at and entry.age_seconds < entry.fresh_seconds:
        CACHE_LOOKUPS.labels(kind, "hit").inc()
        return entry
    try:
        fetched = _single_flight(key, fetch, fresh_for)
    except (UpstreamUnavailable, BadResponse) as exc:
        if entry is None:
            raise
        CACHE_LOOKUPS.labels(kind, "stale").inc()
        logger.warning("serving a stale copy (%.0f s old): %s", entry.age_seconds, exc)
        return dataclasses.replace(entry, stale=True)
    CACHE_LOOKUPS.labels(kind, "miss").inc()
    return fetched


def _read(key: str, invalidation_key: str | None) -> tuple[Cached | None, float]:
    if invalidation_key is None:
        return cache.get(key), 0.0
    found = cache.get_many([key, invalidation_key])
    return found.get(key), found.get(invalidation_key, 0.0)


# In-process single flight: key -> the future of the fetch in progress.
_inflight: dict[str, Future[Cached]] = {}
_inflight_lock = threading.Lock()


def _single_flight(
    key: str, fetch: Callable[[], Awaitable[dict[str, Any]]], fresh_for: Callable[[dict[str, Any]], int]
) -> Cached:
    with _inflight_lock:
        running = _inflight.get(key)
        if running is None:
            running = _inflight[key] = Future()
            leader = True
        else:
            leader = False
    if not leader:
        SINGLE_FLIGHT_JOINS.inc()
        return running.result()
    try:
        result = _fetch_across_processes(key, fetch, fresh_for)
    except BaseException as exc:
        running.set_exception(exc)
        raise
    else:
        running.set_result(result)
        return result
    finally:
        with _inflight_lock:
            _inflight.pop(key, None)


async def _call(fetch: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    return await fetch()


def _fetch_across_processes(
    key: str, fetch: Callable[[], Awaitable[dict[str, Any]]], fresh_for: Callable[[dict[str, Any]], int]
) -> Cached:
    """Fetch and store; with a shared cache, wait for another process's identical fetch instead."""
    started = time.time()
    lock_key = f"{key}:lock"
    if settings.REDIS_URL and not cache.add(lock_key, 1, _LOCK_SECONDS):
        deadline = time.monotonic() + _LOCK_SECONDS
        while time.monotonic() < deadline:
            time.sleep(_LOCK_POLL_SECONDS)
            entry = cache.get(key)
            if entry is not None and entry.fetched_at >= started:
                SINGLE_FLIGHT_JOINS.inc()
                return entry
            if cache.get(lock_key) is None:
                break
    try:
        document = async_to_sync(_call)(fetch)
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        fresh_seconds = fresh_for(document)
        entry = Cached(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', time.time(), fresh_seconds)
        cache.set(key, entry, max(settings.CACHE_TTL_STALE, fresh_seconds))
        return entry
    finally:
        if settings.REDIS_URL:
            cache.delete(lock_key)
