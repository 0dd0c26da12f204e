"""Who is on the other end of a live socket: the logged-in user of the Django session cookie.

    application = SessionUserMiddleware(URLRouter(websocket_urlpatterns))

Channels' `AuthMiddlewareStack` does the same lookup (with `channels.auth.get_user`, so a session
whose password hash no longer matches is refused and flushed the same way), but it also wraps
every outgoing message of every socket to save the session if it changed. Live sockets never
change the session, and that wrapper is on the hot path: every event, for every socket. So this
middleware resolves `scope["session"]` and `scope["user"]` once, before the consumer starts, and
hands the server's `send` through untouched. `scope["cookies"]` is filled as Channels fills it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie


def _cookies(scope: dict[str, Any]) -> dict[str, str]:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1"))
    return {}


class SessionUserMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        cookies = _cookies(scope)
        session_key = cookies.get(settings.SESSION_COOKIE_NAME)
        session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        scope = dict(scope, cookies=cookies, session=session)
        # No cookie, no session to read: a signed link's socket skips the hop to a thread.
        scope["user"] = await get_user(scope) if session_key else AnonymousUser()
        return await self.inner(scope, receive, send)
