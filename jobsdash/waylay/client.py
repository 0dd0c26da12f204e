"""The Waylay registry jobs client: list, get and the event stream, per tenant.

With auth.py, the only code that speaks HTTP to Waylay. Every failure leaves it as one of the types
in `jobsdash.waylay.errors`; nothing httpx-specific escapes.

    query = parse_list_query(request.GET)
    document = await list_jobs(tenant, query)           # {"jobs": [...], "limit": 10}
    document = await get_job(tenant, "build", job_id)   # {"job": {...}, "_links": {...}}
    async with contextlib.aclosing(stream_events(tenant, job_id=job_id)) as events:
        async for event in events:                      # Event("ack", "...", None), ...
            ...

Connections: one pair of `httpx.AsyncClient`s per event loop, created on first use (daphne sends no
lifespan events, and a client must not outlive or cross its loop): one for list/get and token
requests, one for event streams, so that long-lived streams cannot take every pooled connection
from page requests. `aclose_clients()` closes the running loop's pair (tests, shutdown).

Its tunables are settings (`UPSTREAM_*`, from the environment: see `.env.example`): timeouts and
retry pauses are read at each call, pool sizes when a loop's clients are made.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from django.conf import settings
from httpx_sse import EventSource, ServerSentEvent

from jobsdash.waylay import auth
from jobsdash.waylay.errors import BadResponse, CredentialsRejected, InvalidQuery, NotFound, UpstreamUnavailable
from jobsdash.waylay.queries import JOB_EVENTS, LIST_PARAMETERS, ListQuery, validate_job_id, validate_job_type

if TYPE_CHECKING:
    from jobsdash.tenants.models import Tenant

logger = logging.getLogger(__name__)

USER_AGENT = "jobsdash (Waylay registry jobs dashboard)"

# Parameters an upstream 400 may name (list filters, plus the path and stream parameters).
_PARAMETERS = (*LIST_PARAMETERS, "id", "children")
_MAX_ERROR_BODY = 64 * 1024


def observe(endpoint: str, status: int | str, seconds: float) -> None:
    """Called once per upstream HTTP request, after its response headers (or its failure).

    `endpoint` is `list`, `get`, `events` or `token`; `status` the HTTP status, or `"error"` when
    no response came (connect error, timeout, cut). A no-op: a metrics module replaces it
    (`client.observe = my_observer`); it must be quick and must not raise.
    """


@dataclass(frozen=True)
class Event:
    """One server-sent event of the registry's job stream.

    `name` is the SSE event name (`ack`, `keep-alive`, `active`, `completed`, `failed`, `delayed`,
    `waiting`, `waiting-children`, `close`; `message` when the server named none). `data` is the
    JSON-decoded document for the job events (a dict: `{"job": {...}, "data": {...}, ...}`) and
    the raw text for every other event. `id` is the SSE id in effect (the last one the server
    sent, as the SSE spec defines it), None when the server sends none: pass it back as
    `last_event_id` when reconnecting.
    """

    name: str
    data: Any
    id: str | None


async def list_jobs(tenant: Tenant, query: ListQuery) -> dict[str, Any]:
    """GET {gateway}/registry/v2/jobs/ with the query's filters; the upstream JSON document unchanged.

    The document is an IJobsResponse: `{"jobs": [...], "limit": n}` (`jobs` checked to be a list).
    Connect errors, timeouts and 5xx are retried (UPSTREAM_RETRY_DELAYS), then raise UpstreamUnavailable.
    Raises CredentialsRejected (401/403, or no token to be had), InvalidQuery (the upstream
    refused a parameter it named; `parse_list_query` should have caught it first), BadResponse
    (not JSON, wrong shape, another status), UpstreamUnavailable; and
    `jobsdash.tenants.crypto.SecretUnreadable` when the tenant's stored secret cannot be decrypted.
    """
    url = f"{_registry(tenant)}/"
    return await _get_document(tenant, "list", url, query.to_params(), "jobs", list)


async def get_job(tenant: Tenant, job_type: str, job_id: str) -> dict[str, Any]:
    """GET {gateway}/registry/v2/jobs/{type}/{id}; the upstream JSON document unchanged.

    `job_type` is an EJobType (`cleanup` too) and `job_id` the raw id (`$` and `/` included): it is
    percent-encoded as one path segment here. The document is an IJobResponse:
    `{"job": {...}, "_links": {...}}` (`job` checked to be an object). Raises InvalidQuery (bad
    type or id, before sending), NotFound (404), and the errors `list_jobs` raises.
    """
    validate_job_type(job_type)
    validate_job_id(job_id)
    url = f"{_registry(tenant)}/{_segment(job_type)}/{_segment(job_id)}"
    return await _get_document(tenant, "get", url, [], "job", dict)


async def stream_events(
    tenant: Tenant,
    *,
    job_type: str | None = None,
    job_id: str | None = None,
    children: bool = False,
    last_event_id: str | None = None,
    read_timeout: float | None = None,
) -> AsyncIterator[Event]:
    """Events of GET {gateway}/registry/v2/jobs/events, over ONE connection (no reconnection: the
    caller reconnects, passing the last `Event.id` it saw as `last_event_id`).

    Yields every event, `ack` and `keep-alive` included (a watchdog can count on keep-alives).
    After yielding `close` (sent once the job of an id-filtered stream finished) the iterator ends;
    so does a clean end of the stream. A job event whose data is not a JSON object is skipped with
    a warning (one garbled event must not end a live view; a reconnect would replay it).

    Being an async generator, it validates and connects at the first `__anext__`; close it with
    `contextlib.aclosing` so the connection is released at once. Raises InvalidQuery (bad
    `job_type` or `job_id`), CredentialsRejected (401/403; token mode first retries with a new
    token), NotFound (404), BadResponse (not `text/event-stream`, another status),
    UpstreamUnavailable (connect error, 5xx, no byte for `read_timeout` seconds, default
    UPSTREAM_STREAM_TIMEOUT, or the stream cut mid-way).
    """
    params: list[tuple[str, str]] = []
    if job_type is not None:
        params.append(("type", validate_job_type(job_type)))
    if job_id is not None:
        params.append(("id", validate_job_id(job_id)))
    if children:
        params.append(("children", "true"))
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    bound = settings.UPSTREAM_STREAM_TIMEOUT if read_timeout is None else read_timeout
    request_timeout = settings.UPSTREAM_REQUEST_TIMEOUT
    timeout = httpx.Timeout(
        bound, connect=settings.UPSTREAM_CONNECT_TIMEOUT, write=request_timeout, pool=request_timeout
    )
    url = f"{_registry(tenant)}/events"
    try:
        response = await _send(tenant, "events", _loop_clients().streams, url, params, headers, timeout, stream=True)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise UpstreamUnavailable(f"event stream of tenant {tenant.slug}: {_describe(exc)}") from exc
    try:
        await _check_stream(tenant, response)
        async for sse in EventSource(response).aiter_sse():
            event = _event(tenant, sse)
            if event is None:
                continue
            yield event
            if event.name == "close":
                return
        logger.info("event stream of tenant %s ended by the server", tenant.slug)
    except httpx.TimeoutException as exc:
        raise UpstreamUnavailable(f"event stream of tenant {tenant.slug} silent for {bound:g} s") from exc
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"event stream of tenant {tenant.slug} cut: {_describe(exc)}") from exc
    finally:
        await response.aclose()


async def aclose_clients() -> None:
    """Close the running event loop's HTTP clients (tests' teardown, shutdown). The next call
    creates new ones. Clients of loops that have closed since are forgotten."""
    clients = _clients.pop(asyncio.get_running_loop(), None)
    _forget_closed_loops()
    if clients is not None:
        await clients.api.aclose()
        await clients.streams.aclose()


@dataclass
class _LoopClients:
    api: httpx.AsyncClient
    streams: httpx.AsyncClient


# A plain dict rather than a WeakKeyDictionary: pooled connections hold their loop, so a weak key
# would never die. Entries of closed loops are dropped instead (their sockets went with the loop).
_clients: dict[asyncio.AbstractEventLoop, _LoopClients] = {}


def _loop_clients() -> _LoopClients:
    loop = asyncio.get_running_loop()
    clients = _clients.get(loop)
    if clients is None:
        _forget_closed_loops()
        clients = _clients[loop] = _LoopClients(
            api=_new_client(settings.UPSTREAM_MAX_CONNECTIONS), streams=_new_client(settings.UPSTREAM_MAX_STREAMS)
        )
    return clients


def _forget_closed_loops() -> None:
    for loop in [loop for loop in _clients if loop.is_closed()]:
        del _clients[loop]


def _new_client(max_connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.UPSTREAM_REQUEST_TIMEOUT, connect=settings.UPSTREAM_CONNECT_TIMEOUT),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=min(max_connections, 20),
            keepalive_expiry=30.0,
        ),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def _registry(tenant: Tenant) -> str:
    return f"{tenant.gateway_url.rstrip('/')}/registry/v2/jobs"


def _segment(value: str) -> str:
    # safe="" also encodes "/"; "." and ".." would be removed by URL normalization, so encode them.
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def _record(endpoint: str, status: int | str, seconds: float) -> None:
    logger.debug("upstream %s -> %s in %.3f s", endpoint, status, seconds)
    try:
        observe(endpoint, status, seconds)
    except Exception:  # a metrics bug must not fail a request
        logger.exception("observe hook failed")


async def _send(
    tenant: Tenant,
    endpoint: str,
    client: httpx.AsyncClient,
    url: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    timeouts: httpx.Timeout,
    *,
    stream: bool,
) -> httpx.Response:
    """One GET with the tenant's credentials. In token mode a 401 is answered by fetching a new
    token and trying once more; the second answer is returned whatever it is."""
    for attempt in (1, 2):
        authorization = await auth.authorization(tenant, _loop_clients().api, _record)
        request = client.build_request(
            "GET", url, params=params, headers={**headers, "Authorization": authorization}, timeout=timeouts
        )
        started = time.monotonic()
        try:
            response = await client.send(request, stream=stream)
        except httpx.HTTPError:
            _record(endpoint, "error", time.monotonic() - started)
            raise
        _record(endpoint, response.status_code, time.monotonic() - started)
        if response.status_code == 401 and auth.uses_token(tenant) and attempt == 1:
            await response.aclose()
            auth.forget_token(tenant, authorization)
            logger.info("registry refused the token of tenant %s; fetching a new one", tenant.slug)
            continue
        return response
    raise AssertionError("unreachable")  # pragma: no cover


async def _get_document(
    tenant: Tenant,
    endpoint: str,
    url: str,
    params: list[tuple[str, str]],
    key: str,
    shape: type,
) -> dict[str, Any]:
    timeout = httpx.Timeout(settings.UPSTREAM_REQUEST_TIMEOUT, connect=settings.UPSTREAM_CONNECT_TIMEOUT)
    delays = settings.UPSTREAM_RETRY_DELAYS
    failure = ""
    for attempt in range(len(delays) + 1):
        if attempt:
            logger.info("%s for tenant %s failed (%s); retrying", endpoint, tenant.slug, failure)
            await asyncio.sleep(delays[attempt - 1] * random.uniform(0.5, 1.5))
        try:
            response = await _send(tenant, endpoint, _loop_clients().api, url, params, {}, timeout, stream=False)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failure = _describe(exc)
            continue
        except UpstreamUnavailable as exc:  # the accounts service, in token mode
            failure = str(exc)
            continue
        if response.status_code >= 500:
            failure = f"status {response.status_code}"
            continue
        if response.status_code != 200:
            _raise_for_status(tenant, endpoint, response.status_code, response.content)
        return _document(tenant, endpoint, response, key, shape)
    raise UpstreamUnavailable(f"{endpoint} for tenant {tenant.slug}: {failure} ({len(delays) + 1} attempts)")


def _document(tenant: Tenant, endpoint: str, response: httpx.Response, key: str, shape: type) -> dict[str, Any]:
    try:
        document = json.loads(response.content)
    except ValueError:
        raise BadResponse(f"{endpoint} for tenant {tenant.slug}: the answer is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get(key), shape):
        raise BadResponse(f"{endpoint} for tenant {tenant.slug}: the answer has no {key!r} {shape.__name__}")
    return document


def _raise_for_status(tenant: Tenant, endpoint: str, status: int, body: bytes) -> None:
    where = f"{endpoint} for tenant {tenant.slug}"
    if status in (401, 403):
        raise CredentialsRejected(f"{where}: the registry refused the credentials ({status})", status)
    if status == 404:
        raise NotFound(f"{where}: not found")
    if status >= 500 or status == 429:
        raise UpstreamUnavailable(f"{where}: status {status}")
    if status == 400 and (named := _parameter_named(body)):
        raise InvalidQuery(*named)
    raise BadResponse(f"{where}: unexpected status {status}")


_PARAMETER_IN_MESSAGE = re.compile(r"(?:querystring|query|params)[/.](\w+)|['\"`](\w+)['\"`]")


def _parameter_named(body: bytes) -> tuple[str, str] | None:
    """The (parameter, message) an upstream 400 names, if it names one we know.

    Waylay's gateway answers validation errors the Fastify way:
    `{"statusCode": 400, "error": "Bad Request", "message": "querystring/limit must be >= 0"}`.
    """
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    message = body[:500].decode("utf-8", "replace")
    if isinstance(document, dict):
        for field in ("parameter", "param"):
            if document.get(field) in _PARAMETERS:
                return document[field], str(document.get("message") or "refused by the registry")[:500]
        message = str(document.get("message") or document.get("error") or "")[:500]
    for match in _PARAMETER_IN_MESSAGE.finditer(message):
        name = match[1] or match[2]
        if name in _PARAMETERS:
            return name, message
    return None


async def _check_stream(tenant: Tenant, response: httpx.Response) -> None:
    # Before httpx-sse reads anything: it reports a JSON 401 as an SSEError, a TransportError.
    if response.status_code != 200:
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= _MAX_ERROR_BODY:
                break
        _raise_for_status(tenant, "events", response.status_code, body)
    content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "text/event-stream":
        raise BadResponse(f"event stream of tenant {tenant.slug}: content type {content_type or 'missing'}")


def _event(tenant: Tenant, sse: ServerSentEvent) -> Event | None:
    event_id = sse.id or None
    if sse.event not in JOB_EVENTS:
        return Event(sse.event, sse.data, event_id)
    try:
        data = json.loads(sse.data)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        logger.warning(
            "skipped a %s event (id %s) of tenant %s: its data is not a JSON object", sse.event, event_id, tenant.slug
        )
        return None
    return Event(sse.event, data, event_id)


def _describe(exc: BaseException) -> str:
    # The class says what happened (ConnectError, ReadTimeout, RemoteProtocolError); messages may be empty.
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
