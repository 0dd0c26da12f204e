"""Per-tenant credentials for the registry: HTTP Basic, or a Waylay token (JWT) from the accounts
service, cached per process and shared by concurrent callers.

Only `jobsdash.waylay.client` uses this module. Neither the secret nor a token is ever logged or
put in an exception message.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from django.conf import settings

from jobsdash.waylay.errors import BadResponse, CredentialsRejected, UpstreamUnavailable

if TYPE_CHECKING:
    from jobsdash.tenants.models import Tenant

logger = logging.getLogger(__name__)

# Without an `exp` claim a token is reused until the registry answers 401.
_NO_EXPIRY = float("inf")

# Wall clock (JWT `exp` is wall-clock seconds); a module attribute so tests can move time.
clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


_TokenKey = tuple[int | None, str, str]
# The signature of client.observe (passed in: importing the client here would be a cycle).
_Observe = Callable[[str, int | str, float], None]

_tokens: dict[_TokenKey, _Token] = {}
# One fetch in flight per tenant key and event loop; every caller awaits the same task.
_fetches: dict[_TokenKey, asyncio.Task[_Token]] = {}


def basic_header(tenant: Tenant) -> str:
    pair = f"{tenant.api_key}:{tenant.api_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def uses_token(tenant: Tenant) -> bool:
    return tenant.auth_mode == "token"


async def authorization(tenant: Tenant, client: httpx.AsyncClient, observe: _Observe) -> str:
    """The Authorization header value for `tenant`'s next registry request.

    Token mode fetches a token when none is cached or the cached one is near its expiry; concurrent
    callers share that one fetch. Raises CredentialsRejected (the accounts service refused the key
    and secret), UpstreamUnavailable or BadResponse.
    """
    if not uses_token(tenant):
        return basic_header(tenant)
    return "Bearer " + await _token(tenant, client, observe)


def forget_token(tenant: Tenant, header: str) -> None:
    """Drop the cached token that `header` carried (the registry answered 401 to it).

    A token cached since by another caller is kept: the next `authorization` reuses it rather than
    fetching yet another one.
    """
    key = _key(tenant)
    cached = _tokens.get(key)
    if cached is not None and header == "Bearer " + cached.value:
        del _tokens[key]


def forget_all_tokens() -> None:
    """Empty the token cache (tests; a tenant's credentials changed)."""
    _tokens.clear()


def _key(tenant: Tenant) -> _TokenKey:
    return (tenant.pk, tenant.api_key, tenant.token_url)


async def _token(tenant: Tenant, client: httpx.AsyncClient, observe: _Observe) -> str:
    key = _key(tenant)
    cached = _tokens.get(key)
    if cached is not None and clock() < cached.refresh_at:
        return cached.value
    loop = asyncio.get_running_loop()
    task = _fetches.get(key)
    if task is None or task.done() or task.get_loop() is not loop:
        task = loop.create_task(_fetch(tenant, client, observe))
        _fetches[key] = task
        task.add_done_callback(lambda done: _fetch_done(key, done))
    # shield: a caller that is cancelled must not cancel the fetch the others are waiting for.
    return (await asyncio.shield(task)).value


def _fetch_done(key: _TokenKey, task: asyncio.Task[_Token]) -> None:
    if _fetches.get(key) is task:
        del _fetches[key]
    if task.cancelled():
        return
    if task.exception() is None:  # also marks the exception retrieved when every waiter left
        _tokens[key] = task.result()


async def _fetch(tenant: Tenant, client: httpx.AsyncClient, observe: _Observe) -> _Token:
    body = {"clientId": tenant.api_key, "clientSecret": tenant.api_secret}
    started = time.monotonic()
    try:
        response = await client.post(tenant.token_url, json=body, headers={"Accept": "application/json"})
    except httpx.TransportError as exc:
        observe("token", "error", time.monotonic() - started)
        raise UpstreamUnavailable(f"accounts service of tenant {tenant.slug}: {type(exc).__name__}") from None
    observe("token", response.status_code, time.monotonic() - started)
    status = response.status_code
    if status >= 500:
        raise UpstreamUnavailable(f"accounts service of tenant {tenant.slug} answered {status}")
    if status != 200:
        # 400/401/403: the key or secret is wrong; 404: the accounts URL is. No token either way.
        raise CredentialsRejected(f"accounts service refused the credentials of tenant {tenant.slug}", status)
    try:
        token = response.json()["token"]
    except (ValueError, KeyError, TypeError):
        raise BadResponse(f"accounts service of tenant {tenant.slug} answered without a token") from None
    if not isinstance(token, str) or not token:
        raise BadResponse(f"accounts service of tenant {tenant.slug} answered without a token")
    now = clock()
    expires = token_expiry(token)
    # Before its `exp` claim, so a request never leaves with a token that expires on the way.
    margin = min(settings.UPSTREAM_TOKEN_REFRESH_MARGIN, max(expires - now, 0.0) / 2)
    logger.debug("token for tenant %s fetched, expires in %.0f s", tenant.slug, expires - now)
    return _Token(token, expires - margin)


def token_expiry(token: str) -> float:
    """The `exp` claim of a JWT (seconds since the epoch), unverified: only the issuer checks the
    signature, we only need to know when to fetch the next one. Infinity when there is none."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims["exp"]
    except (IndexError, KeyError, TypeError, ValueError, binascii.Error):
        return _NO_EXPIRY
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return _NO_EXPIRY
    return float(exp)
