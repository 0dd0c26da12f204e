"""What an error of the waylay client (or of a tenant's stored secret) means to a person: its
status, its words and when to retry. One table for the pages and the API."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from jobsdash.tenants.crypto import SecretUnreadable
from jobsdash.waylay.errors import BadResponse, CredentialsRejected, InvalidQuery, NotFound, UpstreamUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorMeaning:
    status: int
    title: str
    message: str
    parameter: str | None = None
    retry_after: int | None = None


def meaning_of(exc: Exception) -> ErrorMeaning | None:
    """The status and words for an error of the waylay client (or the tenant's secret); None for
    anything else, which is not ours to explain."""
    if isinstance(exc, InvalidQuery):
        return ErrorMeaning(400, "Invalid parameter", exc.message, parameter=exc.parameter)
    if isinstance(exc, NotFound):
        return ErrorMeaning(404, "Not found", "No such job")
    if isinstance(exc, CredentialsRejected | SecretUnreadable):
        message = "Ask an administrator to check the tenant's API key and secret."
        return ErrorMeaning(502, "Waylay rejected this tenant's credentials", message)
    if isinstance(exc, UpstreamUnavailable | BadResponse):
        logger.warning("upstream failed: %s", exc)
        message = "The registry did not answer properly. Retry in a moment."
        return ErrorMeaning(503, "Waylay is unreachable", message, retry_after=5)
    return None
