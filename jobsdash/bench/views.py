"""The ceiling of the pages benchmark: the cheapest view a logged-in request can reach.

It goes through the whole middleware stack and loads the session and the user like the measured
pages (login_required), then returns a few bytes: what is left of a page's latency after this is
the page's own work. Served only with DEBUG or JOBSDASH_BENCH_VIEWS=1 (see jobsdash/urls.py).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"ok {request.user.pk}\n", content_type="text/plain")
