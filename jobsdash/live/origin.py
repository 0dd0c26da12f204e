"""The websocket Origin check: browsers send the page's origin, and only pages served by us
(ALLOWED_HOSTS) or by the portals allowed to embed us (FRAME_ANCESTORS) may open a live socket.
This stops another site from using a visitor's session cookie to read their tenant's events."""

from __future__ import annotations

import logging
from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings

logger = logging.getLogger(__name__)


class LiveOriginValidator(OriginValidator):
    """Channels' OriginValidator with the allowed origins read from settings at each handshake
    (so tests and settings overrides apply): ALLOWED_HOSTS (any scheme and port, `.example.com`
    for subdomains, `*` for all) plus FRAME_ANCESTORS (exact scheme, host and port). A handshake
    without an Origin header is refused unless ALLOWED_HOSTS has `*`."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, [])

    @property  # type: ignore[override]
    def allowed_origins(self) -> list[str]:
        hosts = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not hosts:
            hosts = ["localhost", "127.0.0.1", "[::1]"]
        return hosts + list(settings.FRAME_ANCESTORS)

    @allowed_origins.setter
    def allowed_origins(self, value: list[str]) -> None:
        pass  # computed from settings; OriginValidator.__init__ assigns it

    def valid_origin(self, parsed_origin: Any) -> bool:
        valid = super().valid_origin(parsed_origin)
        if not valid:
            logger.info("refused a websocket from origin %s", parsed_origin.geturl() if parsed_origin else None)
        return valid
