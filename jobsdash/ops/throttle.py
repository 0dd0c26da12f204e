"""Login rate limiting: after repeated failures a username, or a client address, is locked out.

Failures are counted in Django's cache (locmem or Redis: every process shares the count with
Redis) under two keys, the username's and the client address's, each for a window that starts
at its first failure. Once a count reaches its limit, every login POST for that username or from
that address answers 429 with `Retry-After` until the window ends, without checking the password:
the right password does not help a guesser who reached the limit. A successful login resets the
username's count (not the address's: one known account must not unlock guessing at others).

    settings.LOGIN_MAX_FAILURES_USER = 5     # JOBSDASH_LOGIN_MAX_FAILURES_USER
    settings.LOGIN_MAX_FAILURES_IP = 20      # JOBSDASH_LOGIN_MAX_FAILURES_IP
    settings.LOGIN_LOCKOUT_SECONDS = 900     # JOBSDASH_LOGIN_LOCKOUT_MINUTES * 60

Failures are counted from Django's `user_login_failed` signal, so every form that authenticates
counts (the admin's too); `guard(view)` refuses the locked-out POSTs of a login view.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from jobsdash.ops.network import client_ip

logger = logging.getLogger(__name__)

_PREFIX = "ops:login-failures"


@dataclass(frozen=True)
class Lockout:
    """Why and for how long login is refused."""

    scope: str  # "user" or "address"
    retry_after: int  # seconds

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def lockout(request: HttpRequest, username: str) -> Lockout | None:
    """The lockout that applies to a login attempt of `username` from `request`'s client, if any."""
    limits = (
        ("user", _user_key(username), settings.LOGIN_MAX_FAILURES_USER),
        ("address", _address_key(client_ip(request)), settings.LOGIN_MAX_FAILURES_IP),
    )
    keys = [key for _, key, _ in limits]
    found = cache.get_many([*keys, *(f"{key}:until" for key in keys)])
    for scope, key, limit in limits:
        if found.get(key, 0) >= limit:
            until = found.get(f"{key}:until", time.time() + settings.LOGIN_LOCKOUT_SECONDS)
            return Lockout(scope, max(1, math.ceil(until - time.time())))
    return None


def count_failure(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    """`user_login_failed` receiver: one more failure for the username and the client address."""
    username = str(credentials.get("username", ""))
    failures = _hit(_user_key(username))
    if request is not None:
        address = client_ip(request)
        at_address = _hit(_address_key(address))
        if failures == settings.LOGIN_MAX_FAILURES_USER or at_address == settings.LOGIN_MAX_FAILURES_IP:
            # The address, not the username: a log line must not help enumerate accounts.
            logger.warning("login locked out after repeated failures (client %s)", address)


def reset_user(sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any) -> None:
    """`user_logged_in` receiver: the user's failures are forgiven."""
    key = _user_key(user.get_username())
    cache.delete_many([key, f"{key}:until"])


def guard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a login view: a POST that a lockout applies to gets the 429 page instead."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            locked = lockout(request, request.POST.get("username", ""))
            if locked is not None:
                return _locked_page(request, locked)
        return view(request, *args, **kwargs)

    return guarded


def _locked_page(request: HttpRequest, locked: Lockout) -> HttpResponse:
    body = render_to_string("ops/login_locked.html", {"minutes": locked.minutes}, request=request)
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(locked.retry_after)
    response["Cache-Control"] = "no-store"
    return response


def _hit(key: str) -> int:
    window = settings.LOGIN_LOCKOUT_SECONDS
    cache.add(f"{key}:until", time.time() + window, window)
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


def _user_key(username: str) -> str:
    # Hashed: keys stay short and safe for any backend, and the cache holds no usernames.
    return f"{_PREFIX}:user:{hashlib.sha256(username.strip().casefold().encode()).hexdigest()}"


def _address_key(address: str) -> str:
    return f"{_PREFIX}:address:{hashlib.sha256(address.encode()).hexdigest()}"
