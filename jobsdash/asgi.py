"""ASGI entry point: `daphne jobsdash.asgi:application` serves HTTP and websockets."""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobsdash.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from channels.sessions import CookieMiddleware  # noqa: E402

from jobsdash.live.auth import SessionUserMiddleware  # noqa: E402
from jobsdash.live.origin import LiveOriginValidator  # noqa: E402
from jobsdash.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": LiveOriginValidator(CookieMiddleware(SessionUserMiddleware(URLRouter(websocket_urlpatterns)))),
    }
)


def _tune_gc() -> None:
    """Keep full garbage collections off the live fan-out path.

    With 1,000 open websockets a process holds a few hundred thousand long-lived objects, and a
    full collection walks all of them: 70-130 ms during which no frame goes out (measured by
    `manage.py bench fanout`). CPython's default gen-0 threshold (700) also collects several
    times while one event is being fanned out, so the frames in flight survive into the old
    generation and trigger those full collections every few seconds, for nothing (they collect
    nothing). So: move everything loaded at start-up (Django, the URLconf and their modules) out
    of the collector's sight once (`gc.freeze()`), and let the young generation grow to 50,000
    objects. Memory is still reclaimed by reference counting as before; only cycles wait longer.
    """
    get_resolver().url_patterns  # noqa: B018  (imports every view now, to be frozen with the rest)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, *gc.get_threshold()[1:])


_tune_gc()
