"""The process's Prometheus metrics: who may read them, and the upstream client's observer."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest

from jobsdash.metrics import UPSTREAM_LATENCY, UPSTREAM_REQUESTS
from jobsdash.ops.network import client_ip, is_internal


def may_scrape(request: HttpRequest) -> bool:
    """Scrapers inside the network (loopback, private addresses) may; others need
    `Authorization: Bearer <JOBSDASH_METRICS_TOKEN>`."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    return is_internal(client_ip(request))


def observe_upstream(endpoint: str, status: int | str, seconds: float) -> None:
    """`jobsdash.waylay.client.observe`: one upstream request (installed by OpsConfig.ready)."""
    UPSTREAM_REQUESTS.labels(endpoint=endpoint, status=str(status)).inc()
    UPSTREAM_LATENCY.labels(endpoint=endpoint).observe(seconds)
