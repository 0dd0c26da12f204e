"""What can go wrong talking to Waylay, as types. Pages, the API and the relay turn these into a
status, an error page or a websocket status message; nothing else catches them."""

from __future__ import annotations


class WaylayError(Exception):
    """Base of every error the waylay package raises."""


class InvalidQuery(WaylayError, ValueError):
    """A query parameter has a value the upstream would refuse. Raised before anything is sent.

    `parameter` is the upstream's own name of it (`type`, `createdAfter`, ...).
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class NotFound(WaylayError):
    """The upstream has no such job (404)."""


class CredentialsRejected(WaylayError):
    """The upstream refused the tenant's credentials (401/403, or no token could be had)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UpstreamUnavailable(WaylayError):
    """The upstream could not be reached or did not answer properly in time: connect error,
    timeout, 5xx, a stream cut mid-way or silent past its keep-alive bound."""


class BadResponse(WaylayError):
    """The upstream answered, but not with what the spec promises (not JSON, wrong shape, wrong
    content type)."""
