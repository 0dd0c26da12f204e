"""Request ids and the access log.

`RequestIdMiddleware` comes first in MIDDLEWARE. It takes the caller's `X-Request-ID` when it looks
like an id (a proxy or a load balancer set it), otherwise makes one; puts it in the
`jobsdash.ops.logs.request_id` context variable for every log line of the request (until the
response is closed), on `request.request_id`, and on the response's `X-Request-ID`; then writes
one access-log line (logger `jobsdash.access`; DEBUG for the probes, INFO for the rest):

    ... logger=jobsdash.access request_id=4b1f... msg="GET /t/acme/jobs/ 200" method=GET
    path=/t/acme/jobs/ query="state=failed" status=200 duration_ms=12.4 user=3 tenant=acme
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.functional import SimpleLazyObject, empty

from jobsdash.ops.logs import request_id

access_logger = logging.getLogger("jobsdash.access")

_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Probes and scrapers hit these every few seconds: their lines are DEBUG, not INFO.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_MAX_QUERY = 1000
# URL arguments that are credentials (the signed embed links /e/<token>/): masked in the logged path.
_SECRET_KWARGS = ("token",)


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        started = _begin(request)
        response = self.get_response(request)
        _finish(request, response, started)  # type: ignore[arg-type]
        return response  # type: ignore[return-value]

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        started = _begin(request)
        response = await self.get_response(request)  # type: ignore[misc]
        _finish(request, response, started)
        return response


def _begin(request: HttpRequest) -> float:
    given = request.headers.get("X-Request-ID", "")
    rid = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
    request.request_id = rid  # type: ignore[attr-defined]
    # Not reset when the middleware returns: Django logs 4xx/5xx responses ("Not Found: ...") after
    # the middleware chain, and those lines need the id most. `clear_request_id` (request_finished,
    # sent when the response is closed) ends it; under ASGI each request has its own context anyway.
    request_id.set(rid)
    return time.monotonic()


def clear_request_id(**kwargs: object) -> None:
    """`request_finished` receiver: lines after the response belong to no request."""
    request_id.set("-")


def _finish(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    response.headers.setdefault("X-Request-ID", request.request_id)  # type: ignore[attr-defined]
    match = request.resolver_match
    path = _loggable_path(request)
    fields = {
        "method": request.method,
        "path": path,
        "query": request.META.get("QUERY_STRING", "")[:_MAX_QUERY] or None,
        "status": response.status_code,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
        "user": _user_id(request),
        "tenant": match.kwargs.get("slug") if match else None,
    }
    level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
    access_logger.log(level, "%s %s %s", request.method, path, response.status_code, extra={"fields": fields})


def _loggable_path(request: HttpRequest) -> str:
    path = request.path
    match = request.resolver_match
    for name in _SECRET_KWARGS:
        value = match.kwargs.get(name) if match else None
        if value:
            path = path.replace(str(value), "***")
    return path


def _user_id(request: HttpRequest) -> int | str | None:
    """The user's id when the request already knows it. A user nobody looked at is not loaded
    just for the log (that would be a database query per request, and a sync one in async code)."""
    user = request.__dict__.get("user")
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.pk if user.is_authenticated else None
