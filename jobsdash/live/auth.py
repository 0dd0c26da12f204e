"""Who is on the other end of a live socket: the logged-in user of the Django session cookie.

    application = CookieMiddleware(SessionUserMiddleware(URLRouter(websocket_urlpatterns)))

Channels' `AuthMiddlewareStack` does the same lookup (with `channels.auth.get_user`, so a session
whose password hash no longer matches is refused and flushed the same way), but it also wraps
every outgoing message of every socket to save the session if it changed. Live sockets never
change the session, and that wrapper is on the hot path: every event, for every socket. So this
middleware resolves `scope["session"]` and `scope["user"]` once, before the consumer starts, and
hands the server's `send` through untouched. It reads `scope["cookies"]`, which Channels'
`CookieMiddleware` (no wrapper on `send` either) puts there.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase


class SessionUserMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        session, user = await session_user(scope["cookies"].get(settings.SESSION_COOKIE_NAME))
        return await self.inner(dict(scope, session=session, user=user), receive, send)


async def session_user(session_key: str | None) -> tuple[SessionBase, AbstractBaseUser | AnonymousUser]:
    """The session of `session_key`, read anew, and its logged-in user (anonymous if none)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    # No cookie, no session to read: a signed link's socket skips the hop to a thread.
    user = await get_user({"session": session}) if session_key else AnonymousUser()
    return session, user
