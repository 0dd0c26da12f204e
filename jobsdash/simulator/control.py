"""The `/_sim/` control endpoints: one small function per action, over the Simulator's state.

Each takes the simulator and the request's JSON body and returns (status, document); a request
that cannot be honoured raises ControlError. README.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from jobsdash.simulator.jobs import Job
from jobsdash.simulator.world import ControlError, Simulator

Result = tuple[int, Any]


def _health(sim: Simulator, body: dict[str, Any]) -> Result:
    return 200, {"ok": True, "tenants": sorted(sim.tenants)}


def _reset(sim: Simulator, body: dict[str, Any]) -> Result:
    sim.reset()
    return 200, {"ok": True}


def _stats(sim: Simulator, body: dict[str, Any]) -> Result:
    return 200, sim.stats()


def _faults(sim: Simulator, body: dict[str, Any]) -> Result:
    return 200, vars(sim.faults)


def _set_faults(sim: Simulator, body: dict[str, Any]) -> Result:
    sim.set_faults(body)
    return 200, vars(sim.faults)


def _clear_faults(sim: Simulator, body: dict[str, Any]) -> Result:
    sim.reset_faults()
    return 200, vars(sim.faults)


def _drop_streams(sim: Simulator, body: dict[str, Any]) -> Result:
    how = body.get("how", "end")
    if how not in ("end", "abort", "mid_event"):
        raise ControlError(400, "how must be end, abort or mid_event")
    return 200, {"dropped": sim.drop_streams(how, body.get("tenant"))}


def _emit(sim: Simulator, body: dict[str, Any]) -> Result:
    return 200, {"streams": sim.emit_raw(str(body.get("tenant")), str(body.get("text", "")))}


def _create_job(sim: Simulator, body: dict[str, Any]) -> Result:
    auto_ms = body.get("auto_ms")
    if auto_ms is not None and (not isinstance(auto_ms, int) or isinstance(auto_ms, bool) or auto_ms < 0):
        raise ControlError(400, "auto_ms must be a whole number of milliseconds")
    function = body.get("function")
    if function is not None and not isinstance(function, dict):
        raise ControlError(400, "function must be an object (functionType, name, version, runtime, ...)")
    job = sim.create_job(
        str(body.get("tenant")),
        str(body.get("type")),
        function=function,
        children=body.get("children"),
        auto_ms=auto_ms,
        outcome=body.get("outcome", "completed"),
        job_id=body.get("id"),
        notify=bool(body.get("notify", False)),
        created_at=_instant(body.get("created_at")),
    )
    return 201, _describe(job, job)


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 date-time with its zone (`2024-05-01T12:00:00.123Z`), for jobs created in the past."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ControlError(400, "created_at must be an ISO 8601 date-time with a zone, e.g. 2024-05-01T12:00:00.123Z")
    return moment


def _advance(sim: Simulator, body: dict[str, Any]) -> Result:
    world = sim.world(str(body.get("tenant")))
    job = world.find(body.get("type"), str(body.get("id")))
    if job is None:
        raise ControlError(404, f"no job {body.get('type')}/{body.get('id')}")
    silent = body.get("silent", False)
    if not isinstance(silent, bool):
        raise ControlError(400, "silent must be true or false")
    moved = sim.advance(world.config.slug, job, body.get("to"), silent=silent)
    return 200, _describe(job, moved)


def _set_progress(sim: Simulator, body: dict[str, Any]) -> Result:
    """A job's `progress`, as its code reports it (a number or an object, says the spec). No event:
    the registry's stream carries state changes only, so pages see it with the job's next one."""
    job = sim.world(str(body.get("tenant"))).find(body.get("type"), str(body.get("id")))
    if job is None:
        raise ControlError(404, f"no job {body.get('type')}/{body.get('id')}")
    progress = body.get("progress")
    if isinstance(progress, bool) or not isinstance(progress, int | float | dict):
        raise ControlError(400, "progress must be a number or an object")
    job.progress = progress
    return 200, _describe(job, job)


def _tenant(sim: Simulator, slug: str, action: str) -> Result:
    world = sim.world(slug)
    if action == "expire-tokens":
        sim.expire_tokens(slug)
    elif action in ("revoke", "restore"):
        world.revoked = action == "revoke"
    else:
        raise ControlError(404, "use /_sim/tenants/<slug>/revoke, /restore or /expire-tokens")
    return 200, {"tenant": slug, "revoked": world.revoked}


def _describe(job: Job, moved: Job) -> dict[str, Any]:
    return {
        "type": job.type,
        "id": job.id,
        "state": job.state,
        "moved": {"type": moved.type, "id": moved.id, "state": moved.state},
        "children": [{"type": c.type, "id": c.id, "state": c.state} for c in job.children],
        "function": job.function,
    }


ROUTES: dict[tuple[str, str], Callable[[Simulator, dict[str, Any]], Result]] = {
    ("GET", "health"): _health,
    ("POST", "reset"): _reset,
    ("GET", "stats"): _stats,
    ("GET", "faults"): _faults,
    ("POST", "faults"): _set_faults,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "streams/drop"): _drop_streams,
    ("POST", "emit"): _emit,
    ("POST", "jobs"): _create_job,
    ("POST", "jobs/advance"): _advance,
    ("POST", "jobs/progress"): _set_progress,
}


def handle(sim: Simulator, method: str, action: str, body: dict[str, Any]) -> Result:
    """Run the control action `method /_sim/<action>`."""
    parts = action.split("/")
    if method == "POST" and len(parts) == 3 and parts[0] == "tenants":
        return _tenant(sim, parts[1], parts[2])
    handler = ROUTES.get((method, action))
    if handler is None:
        raise ControlError(404, f"no control endpoint {method} /_sim/{action}")
    return handler(sim, body)
