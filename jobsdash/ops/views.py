"""Probes and metrics for operators: no login, no session, nothing cached by a proxy."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from jobsdash.ops import readiness
from jobsdash.ops.metrics import may_scrape


@never_cache
@require_safe
async def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers: 200 "ok". Touches nothing else (a liveness probe must not fail
    because the database does)."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


@never_cache
@require_safe
async def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the cache and the channel layer answer, else 503 naming which not."""
    results = await readiness.check_all()
    ready = all(value == "ok" for value in results.values())
    return JsonResponse(results, status=200 if ready else 503)


@never_cache
@require_safe
async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition of this process's metrics."""
    if not may_scrape(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
