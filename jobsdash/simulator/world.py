"""The simulator's state: tenants and their jobs, job life (advance, children, auto-advance, the
`--rate` generator), event history and open streams, faults and request statistics.

Everything runs on one event loop; the ASGI app (`app.py`) is the only caller. "Change state"
(`advance`, `create_job`) and "deliver events" (`emit`, the only writer to stream queues) are
kept apart, so every state change reaches the streams the same way, and a silent change (what a
lost event looks like) is one that skips `emit`.

The registry's spec documents no SSE event ids, so by default events carry none and
`Last-Event-ID` replays nothing; `SimulatorConfig.event_ids` (`--event-ids`) turns both on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jobsdash.simulator import jobs as jobmod
from jobsdash.simulator import tokens
from jobsdash.simulator.jobs import Factory, Job
from jobsdash.simulator.queries import ALL_JOB_TYPES

logger = logging.getLogger(__name__)

API_ENDPOINTS = ("list", "get", "events", "tokens", "settings")
_QUEUE_EVENTS = {"completed", "failed", "active", "delayed", "waiting", "waiting-children"}


class ControlError(Exception):
    """A control request that cannot be honoured (unknown tenant or job, finished job)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TenantConfig:
    slug: str
    key: str
    secret: str

    @classmethod
    def parse(cls, text: str) -> TenantConfig:
        """`SLUG:KEY:SECRET`; the secret may itself contain colons."""
        slug, key, secret = text.split(":", 2)
        if not (slug and key and secret):
            raise ValueError(text)
        return cls(slug, key, secret)


@dataclass
class SimulatorConfig:
    """How a simulator behaves. `base_url` is the origin put in HAL links (the server sets it once
    bound; without it, the Host header of the latest request is used). `event_ids`: send an SSE
    `id:` line with each job event and replay what a reconnect missed after `Last-Event-ID` (the
    registry's spec documents neither, so off by default)."""

    tenants: list[TenantConfig]
    seed: int = 0
    rate: float = 0.0
    keepalive: float = 15.0
    token_lifetime: int = 3600
    history: int = 1000
    base_url: str = ""
    backlog: int = 0  # more finished jobs per tenant in the seeded history (a long list for benchmarks)
    event_ids: bool = False


@dataclass
class Faults:
    """Knobs for tests and benchmarks; see README.md. `endpoints` limits latency, error and garbage
    to those endpoints, `tenant` to that tenant; `error_times` makes only the next N requests fail."""

    latency_ms: int = 0
    error_status: int | None = None
    error_times: int | None = None
    garbage: str | None = None
    endpoints: list[str] = field(default_factory=lambda: list(API_ENDPOINTS))
    tenant: str | None = None
    keepalive: bool = True
    token_lifetime: int | None = None

    def applies(self, endpoint: str, tenant: str | None) -> bool:
        return endpoint in self.endpoints and (self.tenant is None or self.tenant == tenant)

    def take_error(self, endpoint: str, tenant: str | None) -> int | None:
        if self.error_status is None or not self.applies(endpoint, tenant) or self.error_times == 0:
            return None
        if self.error_times is not None:
            self.error_times -= 1
        return self.error_status


def _whole(value: Any, minimum: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum)


_FAULT_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "latency_ms": (lambda v: _whole(v, 0), "a whole number >= 0"),
    "error_status": (lambda v: v is None or (_whole(v) and 400 <= v <= 599), "null or an HTTP status 400-599"),
    "error_times": (lambda v: v is None or _whole(v, 0), "null or a whole number >= 0"),
    "garbage": (lambda v: v in (None, False, True, "json", "shape"), "json, shape or null"),
    "endpoints": (
        lambda v: isinstance(v, list) and all(e in API_ENDPOINTS for e in v),
        f"a list of {', '.join(API_ENDPOINTS)}",
    ),
    "tenant": (lambda v: v is None or isinstance(v, str), "null or a tenant slug"),
    "keepalive": (lambda v: isinstance(v, bool), "true or false"),
    "token_lifetime": (lambda v: v is None or _whole(v), "null or a whole number of seconds"),
}


@dataclass(frozen=True)
class Event:
    """One job event as sent: `keys` are the job's and its ancestors' (type, id), nearest first."""

    id: int
    name: str
    keys: tuple[tuple[str, str], ...]
    finished: bool
    frame: bytes


@dataclass(eq=False)
class Stream:
    """An open event stream; the app's stream loop drains `queue`."""

    tenant: str
    type: str | None
    id: str | None
    children: bool
    last_event_id: str | None
    opened_at: float = field(default_factory=time.time)
    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "children": self.children,
            "last_event_id": self.last_event_id,
            "opened_at": self.opened_at,
        }

    def _target(self, key: tuple[str, str]) -> bool:
        return (self.type is None or key[0] == self.type) and (self.id is None or key[1] == self.id)

    def wants(self, event: Event) -> bool:
        keys = event.keys if self.children else event.keys[:1]
        return any(self._target(key) for key in keys)

    def closes_on(self, event: Event) -> bool:
        """An id-filtered stream ends after its own job finished (not a child)."""
        return self.id is not None and event.finished and self._target(event.keys[0])


class TenantWorld:
    def __init__(self, config: TenantConfig, seed: int, now: datetime, backlog: int = 0) -> None:
        self.config = config
        self.factory = Factory(config.slug, random.Random(f"{seed}:{config.slug}:live"))
        self.jobs: dict[tuple[str, str], Job] = {}
        for job in jobmod.seed_history(config.slug, seed, now, backlog):
            self.add(job)
        self.revoked = False
        self.token_generation = 0

    def add(self, job: Job) -> None:
        self.jobs[job.key] = job
        for child in job.children:
            self.jobs[child.key] = child

    def find(self, job_type: str | None, job_id: str) -> Job | None:
        if job_type is not None:
            return self.jobs.get((job_type, job_id))
        return next((job for job in self.jobs.values() if job.id == job_id), None)


class Simulator:
    """The whole simulated service. Not thread-safe: use it from its event loop only."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.signing_key = secrets.token_bytes(32)
        self.base_url = config.base_url.rstrip("/")
        self.streams: set[Stream] = set()
        self.event_counter = 0  # never reset: ids stay unique for Last-Event-ID
        self._life_task: asyncio.Task[None] | None = None
        self._generation = 0
        self._silent = False  # inside a silent change: no event is sent or kept
        self.reset()

    # --- state -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded history: jobs, faults, statistics, credentials; open streams end."""
        self._generation += 1
        for stream in list(self.streams):
            stream.queue.put_nowait(("drop", "end"))
        self.streams.clear()
        now = self.now()
        self.tenants = {t.slug: TenantWorld(t, self.config.seed, now, self.config.backlog) for t in self.config.tenants}
        self.by_key = {t.key: t.slug for t in self.config.tenants}
        self.history: dict[str, deque[Event]] = {slug: deque(maxlen=self.config.history) for slug in self.tenants}
        self.faults = Faults()
        self.requests: dict[str, Counter[str]] = {}
        # Requests being answered now, and the most there were at once, per tenant and endpoint.
        self.in_flight: dict[str, Counter[str]] = {}
        self.max_in_flight: dict[str, Counter[str]] = {}
        self.streams_opened: dict[str, list[dict[str, Any]]] = {}
        self.events_emitted: Counter[str] = Counter()
        self._life_rng = random.Random(f"{self.config.seed}:life")

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def world(self, slug: str) -> TenantWorld:
        try:
            return self.tenants[slug]
        except KeyError:
            raise ControlError(404, f"unknown tenant {slug!r}") from None

    def count(self, endpoint: str, tenant: str | None) -> None:
        self.requests.setdefault(tenant or "?", Counter())[endpoint] += 1

    def enter(self, endpoint: str, tenant: str | None) -> None:
        now = self.in_flight.setdefault(tenant or "?", Counter())
        now[endpoint] += 1
        most = self.max_in_flight.setdefault(tenant or "?", Counter())
        most[endpoint] = max(most[endpoint], now[endpoint])

    def leave(self, endpoint: str, tenant: str | None) -> None:
        now = self.in_flight.setdefault(tenant or "?", Counter())
        now[endpoint] = max(0, now[endpoint] - 1)  # a request begun before a reset ends after it

    def stats(self) -> dict[str, Any]:
        open_streams: dict[str, list[dict[str, Any]]] = {}
        for stream in self.streams:
            open_streams.setdefault(stream.tenant, []).append(stream.describe())
        return {
            "requests": {slug: dict(counter) for slug, counter in self.requests.items()},
            "max_in_flight": {slug: dict(counter) for slug, counter in self.max_in_flight.items()},
            "open_streams": open_streams,
            "streams_opened": self.streams_opened,
            "events_emitted": dict(self.events_emitted),
            "jobs": {slug: len(world.jobs) for slug, world in self.tenants.items()},
        }

    def reset_faults(self) -> None:
        self.faults = Faults()

    def set_faults(self, changes: dict[str, Any]) -> Faults:
        """Merge `changes` into the faults; a bad name or value changes nothing (ControlError)."""
        values = {}
        for name, value in changes.items():
            check = _FAULT_CHECKS.get(name)
            if check is None:
                raise ControlError(400, f"unknown fault {name!r}; known: {', '.join(_FAULT_CHECKS)}")
            if not check[0](value):
                raise ControlError(400, f"fault {name} must be {check[1]}, got {value!r}")
            values[name] = ("json" if value is True else value or None) if name == "garbage" else value
        for name, value in values.items():
            setattr(self.faults, name, value)
        return self.faults

    # --- credentials -------------------------------------------------------------------------

    def authenticate_basic(self, key: str, secret: str) -> tuple[str | None, str | None]:
        """(tenant the key names or None, error message or None)."""
        slug = self.by_key.get(key)
        if slug is None:
            return None, "invalid credentials"
        world = self.tenants[slug]
        if not secrets.compare_digest(secret.encode(), world.config.secret.encode()):
            return slug, "invalid credentials"
        if world.revoked:
            return slug, "credentials revoked"
        return slug, None

    def authenticate_bearer(self, token: str) -> tuple[str | None, str | None]:
        try:
            claims = tokens.decode(token, self.signing_key)
        except tokens.TokenInvalid as exc:
            slug = (exc.claims or {}).get("tenant")
            return (slug if slug in self.tenants else None), str(exc)
        slug = claims.get("tenant")
        if slug not in self.tenants:
            return None, "invalid token"
        world = self.tenants[slug]
        if world.revoked:
            return slug, "credentials revoked"
        if claims.get("gen") != world.token_generation:
            return slug, "token expired"
        return slug, None

    def issue_token(self, slug: str) -> str:
        lifetime = self.faults.token_lifetime
        if lifetime is None:
            lifetime = self.config.token_lifetime
        issued = int(time.time())
        claims = {
            "tenant": slug,
            "sub": f"apikey/{self.tenants[slug].config.key}",
            "domain": f"{slug}.waylay.example",
            "iat": issued,
            "exp": issued + lifetime,
            "gen": self.tenants[slug].token_generation,
        }
        return tokens.encode(claims, self.signing_key)

    def expire_tokens(self, slug: str) -> None:
        self.world(slug).token_generation += 1

    # --- events ------------------------------------------------------------------------------

    def emit(self, slug: str, job: Job, name: str, data: dict[str, Any]) -> Event | None:
        """Record a job event in the tenant's history and deliver it to the matching streams
        (None, and nothing recorded or sent, inside a silent change)."""
        if self._silent:
            return None
        self.event_counter += 1
        document = jobmod.event_document(job, self.base_url, data, self.now())
        payload = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        frame = f"{self.id_line(self.event_counter)}event: {name}\ndata: {payload}\n\n".encode()
        keys = (job.key, *(ancestor.key for ancestor in job.ancestors()))
        event = Event(self.event_counter, name, keys, job.finished, frame)
        self.history[slug].append(event)
        self.events_emitted[slug] += 1
        for stream in list(self.streams):
            if stream.tenant == slug and stream.wants(event):
                stream.queue.put_nowait(("event", event))
        return event

    def id_line(self, event_id: int) -> str:
        """The SSE `id:` line of an event, if events carry ids (`event_ids`)."""
        return f"id: {event_id}\n" if self.config.event_ids else ""

    def replay(self, stream: Stream, last_event_id: str | None) -> list[Event]:
        """The events a stream opened with `Last-Event-ID` missed (none when events carry no ids:
        there is nothing a client could have been given to resume from)."""
        if not self.config.event_ids or not (last_event_id or "").isdigit():
            return []
        after = int(last_event_id or 0)
        return [event for event in self.history[stream.tenant] if event.id > after and stream.wants(event)]

    def open_stream(self, stream: Stream) -> None:
        self.streams.add(stream)
        self.streams_opened.setdefault(stream.tenant, []).append(stream.describe())

    def close_stream(self, stream: Stream) -> None:
        self.streams.discard(stream)

    def drop_streams(self, how: str, tenant: str | None = None) -> int:
        dropped = [s for s in self.streams if tenant is None or s.tenant == tenant]
        for stream in dropped:
            stream.queue.put_nowait(("drop", how))
            self.streams.discard(stream)
        return len(dropped)

    def emit_raw(self, slug: str, text: str) -> int:
        self.world(slug)
        targets = [s for s in self.streams if s.tenant == slug]
        for stream in targets:
            stream.queue.put_nowait(("raw", text.encode()))
        return len(targets)

    # --- job life ----------------------------------------------------------------------------

    def create_job(
        self,
        slug: str,
        job_type: str,
        function: dict[str, Any] | None = None,
        children: bool | list[str] | None = None,
        auto_ms: int | None = None,
        outcome: str = "completed",
        job_id: str | None = None,
        notify: bool = False,
        created_at: datetime | None = None,
    ) -> Job:
        """A new waiting job (a parent in waiting-children with waiting children), announced;
        created now, or at `created_at` (its children with it)."""
        world = self.world(slug)
        if job_type not in ALL_JOB_TYPES:
            raise ControlError(400, f"unknown job type {job_type!r}")
        if outcome not in ("completed", "failed", "retry"):
            raise ControlError(400, "outcome must be completed, failed or retry")
        if job_id and world.find(job_type, job_id):
            raise ControlError(409, f"job {job_type}/{job_id} exists")
        factory = world.factory
        if function is not None:
            function = {**factory.function(function.get("functionType")), **function}
        job = factory.job(job_type, created_at or self.now(), function, job_id=job_id)
        job.auto_ms, job.notify = auto_ms, notify
        child_types = _child_types(job, children)
        for child_type in child_types:
            child_function = job.function or factory.function("plugs", job.request["plugName"])
            child = factory.job(child_type, job.created_at, child_function, operation=job.operation)
            child.parent, child.auto_ms = job, auto_ms
            job.children.append(child)
        if job.children:
            # A failing flow fails in its last child; the parent follows.
            job.children[-1].outcome = outcome if outcome != "retry" else "completed"
            job.children[0].outcome = "retry" if outcome == "retry" else "completed"
        else:
            job.outcome = outcome
        world.add(job)
        if job.children:
            job.state = "waiting-children"
            self.emit(slug, job, "waiting-children", {})
            for child in job.children:
                self.emit(slug, child, "waiting", {})
            self._schedule(slug, job.children[0])
        else:
            self.emit(slug, job, "waiting", {})
            self._schedule(slug, job)
        return job

    def advance(self, slug: str, job: Job, to: str | None = None, silent: bool = False) -> Job:
        """Move a job one step (or to `to`), emitting the events; returns the job that moved
        (a waiting-children parent moves its first unfinished child). `silent`: the state
        changes (the parent's and siblings' too, if it finishes) and no event is sent or kept
        for replay, as if the stream had lost them. Timers it schedules run as usual later."""
        if silent:
            with self._silently():
                return self.advance(slug, job, to)
        if job.finished:
            raise ControlError(409, f"job {job.type}/{job.id} is {job.state}")
        if to is None and job.state == "waiting-children":
            child = next((c for c in job.children if not c.finished), None)
            if child is None:
                self._transition(slug, job, "waiting")
                return job
            return self.advance(slug, child)
        if to is None:
            to = self._next_state(job)
        if to not in ("active", "completed", "failed", "delayed", "waiting"):
            raise ControlError(400, "to must be active, completed, failed, delayed or waiting")
        self._transition(slug, job, to)
        return job

    @contextlib.contextmanager
    def _silently(self) -> Iterator[None]:
        before, self._silent = self._silent, True
        try:
            yield
        finally:
            self._silent = before

    @staticmethod
    def _next_state(job: Job) -> str:
        if job.state == "delayed":
            return "waiting"
        if job.state != "active":
            return "active"
        if job.outcome == "retry" and job.attempts_made == 0:
            return "delayed"
        return "failed" if job.outcome == "failed" else "completed"

    def _transition(self, slug: str, job: Job, to: str, reason: str | None = None) -> None:
        world = self.tenants[slug]
        prev = job.state
        data: dict[str, Any] = {"prev": prev} if prev in _QUEUE_EVENTS else {}
        now = self.now()
        if to == "active":
            job.state, job.processed_at, job.progress = "active", now, 10
        elif to == "completed":
            job.attempts_made += 1
            jobmod.finish(job, world.factory, "completed", now)
            data["returnvalue"] = job.result
        elif to == "failed":
            job.attempts_made += 1
            jobmod.finish(job, world.factory, "failed", now, reason)
            data["failedReason"] = job.failed_reason
        elif to == "delayed":
            job.attempts_made += 1
            job.state, job.delay, job.failed_reason = "delayed", job.auto_ms or 30_000, world.factory.failure(job)
            data = {"delay": job.delay}
        elif to == "waiting":
            job.state, job.delay = "waiting", None
        self.emit(slug, job, to, data)
        if job.finished:
            self._cancel_timer(job)
            self._on_finished(slug, job)
        else:
            self._schedule(slug, job)

    def _on_finished(self, slug: str, job: Job) -> None:
        parent = job.parent
        if parent is not None and not parent.finished:
            if job.state == "failed":
                for sibling in parent.children:
                    if not sibling.finished:
                        self._cancel_timer(sibling)
                        self._transition(slug, sibling, "failed", f"parent job failed: {job.type} {job.id}")
                if not parent.finished:
                    self._transition(slug, parent, "failed", f"child {job.type} job failed: {job.failed_reason}")
            else:
                waiting = [child for child in parent.children if not child.finished]
                if not waiting:
                    self._transition(slug, parent, "waiting")
                else:
                    self._schedule(slug, waiting[0])
        if job.notify and job.state == "completed" and job.function is not None:
            note = self.tenants[slug].factory.job("notify", self.now(), job.function, operation=job.operation)
            self.tenants[slug].jobs[note.key] = note
            self.emit(slug, note, "waiting", {})
            note.state, note.processed_at = "active", self.now()
            self.emit(slug, note, "active", {"prev": "waiting"})
            self._transition(slug, note, "completed")

    def _schedule(self, slug: str, job: Job) -> None:
        self._cancel_timer(job)
        if job.auto_ms is None or job.finished or job.state == "waiting-children":
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        generation = self._generation
        job.timer = loop.call_later(job.auto_ms / 1000, self._auto_step, generation, slug, job)

    def _auto_step(self, generation: int, slug: str, job: Job) -> None:
        job.timer = None
        if generation != self._generation or job.finished or job.state == "waiting-children":
            return
        if job.parent is not None and job.state == "waiting":
            earlier = job.parent.children[: job.parent.children.index(job)]
            if any(not sibling.finished for sibling in earlier):
                return  # children run one after the other; the earlier one schedules this one
        self._transition(slug, job, self._next_state(job))

    @staticmethod
    def _cancel_timer(job: Job) -> None:
        if job.timer is not None:
            job.timer.cancel()
            job.timer = None

    # --- the --rate generator ------------------------------------------------------------------

    def start(self) -> None:
        """Start the background life (`--rate`), once, on the running loop."""
        if self._life_task is None and self.config.rate > 0:
            self._life_task = asyncio.get_running_loop().create_task(self._life())

    async def stop(self) -> None:
        if self._life_task is not None:
            self._life_task.cancel()
            self._life_task = None

    async def _life(self) -> None:
        interval = 60.0 / self.config.rate
        while True:
            await asyncio.sleep(self._life_rng.uniform(0.5, 1.5) * interval)
            for slug in self.tenants:
                try:
                    self._spawn(slug)
                except Exception:
                    logger.exception("the simulated life of tenant %s failed", slug)

    def _spawn(self, slug: str) -> None:
        rng = self._life_rng
        kind = rng.choices(
            ["flow", "scale", "undeploy", "build", "deploy", "batch", "verify"], [45, 15, 10, 10, 8, 5, 7]
        )[0]
        outcome = rng.choices(["completed", "failed", "retry"], [80, 12, 8])[0]
        auto_ms = rng.randint(1500, 6000)
        if kind == "flow":
            self.create_job(slug, "verify", children=True, auto_ms=auto_ms, outcome=outcome, notify=True)
        elif kind == "batch":
            self.create_job(slug, "batch", children=True, auto_ms=auto_ms, outcome=outcome)
        else:
            self.create_job(slug, kind, auto_ms=auto_ms, outcome=outcome)


def _child_types(job: Job, children: bool | list[str] | None) -> list[str]:
    if not children:
        return []
    if isinstance(children, list):
        unknown = [t for t in children if t not in ALL_JOB_TYPES]
        if unknown:
            raise ControlError(400, f"unknown child job types {unknown}")
        return children
    if job.type == "verify":
        return ["build", "deploy"]
    if job.type == "batch":
        return [job.request["childType"]] * 2
    raise ControlError(400, "children=true is for verify and batch jobs; pass a list of types otherwise")
