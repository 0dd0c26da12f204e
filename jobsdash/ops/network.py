"""Where a request comes from: the client address, and whether it is inside the network."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind a proxy (SECURE_PROXY_SSL_HEADER set) the
    last X-Forwarded-For entry, which our own proxy appended. Entries before it are whatever the
    client claimed and would let anyone pick a new address per request."""
    if settings.SECURE_PROXY_SSL_HEADER:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops and _parse(hops[-1]) is not None:
            return hops[-1]
    return request.META.get("REMOTE_ADDR") or "unknown"


# Loopback, RFC 1918, link-local, IPv6 unique local. Not `ip.is_private`: that also holds the
# documentation and benchmarking ranges, which are routable in practice.
_INTERNAL = tuple(
    ipaddress.ip_network(network)
    for network in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def is_internal(address: str) -> bool:
    """True for loopback and private (RFC 1918, IPv6 unique local, link-local) addresses."""
    ip = _parse(address)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _INTERNAL)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
