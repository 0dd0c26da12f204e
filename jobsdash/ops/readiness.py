"""Readiness: can this process reach the database, the cache and the channel layer?"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

_CACHE_KEY = "ops:readyz"


class CacheNotStoring(Exception):
    """The cache answered but did not keep what was stored (e.g. a full, evicting cache)."""


async def check_all() -> dict[str, str]:
    """`{"database": "ok", "cache": "ok", "channel_layer": "ok"}`; a failed check reads
    `"error: <exception class>"` (never the message: it may hold a host name or a user)."""
    names = ("database", "cache", "channel_layer")
    checks = (_database(), _cache(), _channel_layer())
    results = await asyncio.gather(*(_run(name, check) for name, check in zip(names, checks, strict=True)))
    return dict(zip(names, results, strict=True))


async def _run(name: str, check: Awaitable[None]) -> str:
    try:
        async with asyncio.timeout(settings.READY_CHECK_TIMEOUT):  # slower than this counts as down
            await check
    except Exception as exc:  # whatever it is, the dependency is not usable
        kind = type(exc).__name__
        logger.warning("readiness: %s is not reachable (%s)", name, kind)
        return f"error: {kind}"
    return "ok"


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _ping_cache() -> None:
    token = uuid.uuid4().hex
    cache.set(_CACHE_KEY, token, 30)
    if cache.get(_CACHE_KEY) != token:
        raise CacheNotStoring("the cache did not keep a value")


async def _database() -> None:
    # Django's connections belong to the thread that opened them: the sync views' thread.
    await sync_to_async(_ping_database, thread_sensitive=True)()


async def _cache() -> None:
    # Not the sync views' thread: a hung cache must not stall every sync view of the process.
    await sync_to_async(_ping_cache, thread_sensitive=False)()


async def _channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise LookupError("no channel layer configured")
    # A round trip to the layer's store (Redis) that changes nothing.
    await layer.group_discard("ops.readyz", "ops.readyz")
