"""Waylay-style JWTs (HS256) for the simulator's accounts endpoint.

Written by hand with hmac so the simulator needs no JWT library at run time. The claims are the
ones the real accounts service puts in and clients read: `tenant`, `sub`, `domain`, `iat`, `exp`;
`gen` lets the simulator invalidate every token of a tenant at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


class TokenInvalid(Exception):
    """The token is malformed, badly signed or expired; `str()` says which. `claims` is set when
    the signature was good (an expired token still says whose it was)."""

    def __init__(self, message: str, claims: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.claims = claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(claims: dict[str, Any], key: bytes) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def decode(token: str, key: bytes, now: float | None = None) -> dict[str, Any]:
    """The claims of a token this simulator signed; TokenInvalid if it did not, or it expired."""
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(key, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise TokenInvalid("invalid token signature")
        claims = json.loads(_unb64(payload))
    except (ValueError, UnicodeError) as exc:
        raise TokenInvalid("malformed token") from exc
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int | float):
        raise TokenInvalid("malformed token")
    if claims["exp"] <= (time.time() if now is None else now):
        raise TokenInvalid("token expired", claims)
    return claims
