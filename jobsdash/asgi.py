"""ASGI entry point: `daphne jobsdash.asgi:application` serves HTTP and websockets."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobsdash.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)

from jobsdash.live.auth import SessionUserMiddleware  # noqa: E402
from jobsdash.live.origin import LiveOriginValidator  # noqa: E402
from jobsdash.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": LiveOriginValidator(SessionUserMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
