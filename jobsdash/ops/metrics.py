"""The process's Prometheus metrics, served at /metrics: every metric object (modules import what
they count), who may read them, and the upstream client's observer."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest
from prometheus_client import Counter, Gauge, Histogram

from jobsdash.ops.network import client_ip, is_internal

UPSTREAM_REQUESTS = Counter(
    "jobsdash_upstream_requests_total", "Requests made to the Waylay registry.", ["endpoint", "status"]
)
UPSTREAM_LATENCY = Histogram(
    "jobsdash_upstream_request_seconds",
    "Latency of requests to the Waylay registry (to the response headers for streams).",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_LOOKUPS = Counter(
    "jobsdash_cache_lookups_total", "Cache lookups by kind and outcome (hit, miss, stale).", ["kind", "outcome"]
)
SINGLE_FLIGHT_JOINS = Counter(
    "jobsdash_single_flight_joins_total", "Cache misses that waited for an identical fetch instead of making their own."
)
OPEN_WEBSOCKETS = Gauge("jobsdash_open_websockets", "Websockets open in this process.")
OPEN_UPSTREAM_STREAMS = Gauge("jobsdash_open_upstream_streams", "Upstream event streams held by this process.")
RELAY_RECONNECTS = Counter("jobsdash_relay_reconnects_total", "Reconnections of upstream event streams.")
RELAY_GAPS = Counter(
    "jobsdash_relay_gaps_total",
    "Upstream connections that could not prove they missed no event (their pages were told to refetch).",
)
EVENTS_RELAYED = Counter("jobsdash_events_relayed_total", "Upstream events relayed to browsers.", ["event"])
SOCKETS_OVERFLOWED = Counter(
    "jobsdash_sockets_overflowed_total", "Websockets closed (4013) because the browser did not keep up."
)


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
