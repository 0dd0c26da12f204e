"""Responses are private and never stored unless their view says otherwise.

Every page of the dashboard is behind a login or a signed link, and a signed link can be revoked
or expire at any moment: a copy kept by a shared cache between a visitor and the dashboard (a
corporate proxy, a CDN) could go on showing a page after that, and a copy in the browser's own
cache after logout. So a response without a `Cache-Control` of its own gets
`private, no-store`. Views that allow more say so themselves: the JSON API answers
`private, no-cache` with an ETag (every use is checked again, a 304 costs no body), whitenoise's
static files carry their own, the login page Django's `never_cache`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

PRIVATE = "private, no-store"


class PrivateByDefaultMiddleware(MiddlewareMixin):
    """Sync and async alike (MiddlewareMixin), so it adds no thread hop to async views."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = PRIVATE
        return response
