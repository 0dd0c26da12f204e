"""Prometheus metrics of the whole process, served at /metrics. Modules import what they count."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
EVENTS_RELAYED = Counter("jobsdash_events_relayed_total", "Upstream events relayed to browsers.", ["event"])
SOCKETS_OVERFLOWED = Counter(
    "jobsdash_sockets_overflowed_total", "Websockets closed (4013) because the browser did not keep up."
)
