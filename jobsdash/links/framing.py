"""Who may frame which page, and cookies that work inside a cross-site iframe.

- The job pages (`EMBEDDABLE`: members' list, job, log and the partials live updates fetch, and
  what signed links open) may be
  framed by this site and the origins of JOBSDASH_FRAME_ANCESTORS; every other page by this site
  only; the login and admin pages by nobody. CSP `frame-ancestors` says it to current browsers,
  X-Frame-Options to old ones. The pages are named here, by their URL names, rather than marked
  where they are defined: the job pages know nothing of embedding (`jobsdash`: apps depend one way).
- JOBSDASH_COOKIE_PARTITIONED adds the `Partitioned` attribute (CHIPS) to the session and CSRF
  cookies, which Django 5.2 cannot set: a browser blocking third-party cookies then keeps one
  session per embedding site instead of none.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import Morsel

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_NEVER_FRAMED = ("/accounts/", "/admin/")
# The pages the configured portals may frame, by URL name.
EMBEDDABLE = frozenset(
    {"jobs:list", "jobs:overview", "jobs:detail", "jobs:row", "jobs:log", "links:open", "links:row", "links:overview"}
)


def embeddable(request: HttpRequest) -> bool:
    match = request.resolver_match
    return match is not None and match.view_name in EMBEDDABLE


class FramingPolicyMiddleware:
    """Sets frame-ancestors (through django-csp) and X-Frame-Options per page. Sits below
    CSPMiddleware and XFrameOptionsMiddleware in MIDDLEWARE so they see what it decided."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(_NEVER_FRAMED):
            response._csp_replace = {"frame-ancestors": ["'none'"]}  # type: ignore[attr-defined]
            response["X-Frame-Options"] = "DENY"
        elif embeddable(request):
            response._csp_replace = {"frame-ancestors": ["'self'", *settings.FRAME_ANCESTORS]}  # type: ignore[attr-defined]
            if settings.FRAME_ANCESTORS:
                response.xframe_options_exempt = True  # type: ignore[attr-defined]
            else:
                response["X-Frame-Options"] = "SAMEORIGIN"
        return response


class PartitionedCookieMiddleware:
    """Adds `Partitioned` to the session and CSRF cookies when JOBSDASH_COOKIE_PARTITIONED is on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.COOKIE_PARTITIONED:
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                if name in response.cookies:
                    _partition(response.cookies[name])
        return response


def _partition(morsel: Morsel[str]) -> None:
    # http.cookies knows `Partitioned` only from Python 3.14; teach this one morsel the flag.
    morsel._reserved = {**Morsel._reserved, "partitioned": "Partitioned"}  # type: ignore[attr-defined]
    morsel._flags = Morsel._flags | {"partitioned"}  # type: ignore[attr-defined]
    dict.__setitem__(morsel, "partitioned", True)
