"""Simulated registry jobs: the Job record, the documents the API sends about it, and the
deterministic generators of realistic content (requests, results, seeded history; failure
reasons are in reasons.py, build logs in buildlogs.py).

Every document here is shaped by the spec's schemas (`AnyJobStatusSummary`, `AnyJobStatus` in
`IJobResponse`, `IJobEventResponse_*`); tests validate them with jsonschema. The list and get
documents exist for the six types the spec's status schemas describe (build, deploy, verify,
undeploy, scale, batch); `notify` and `cleanup` jobs only ever appear on the event stream, as
their events are the only documents the spec defines for them. A failed build keeps a result
(status "failed", no digest) for its log: the spec's IBuildResult has a `status` for the outcome.
"""

from __future__ import annotations

import functools
import random
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from jobsdash.simulator import buildlogs, reasons

FINAL_STATES = frozenset({"completed", "failed"})
LISTED_TYPES = ("build", "deploy", "verify", "undeploy", "scale", "batch")
EVENT_ONLY_TYPES = ("notify", "cleanup")

XSS = "<script>alert(1)</script>"
# Known jobs every tenant has, for tests of escaping, huge payloads and `$` in ids.
XSS_JOB = ("build", "5c0ffee0-0000-4000-8000-00000000a001$xssInFields")
HUGE_LOG_JOB = ("build", "5c0ffee0-0000-4000-8000-00000000b16b$hugeBuildLog3MB")
HUGE_LOG_BYTES = 3 * 1024 * 1024

_NANOID = string.ascii_letters + string.digits + "_-"
_RUNTIMES = {
    "plugs": [("plugs-node20", "1.4.2"), ("plugs-python3_11", "2.1.0")],
    "webscripts": [("web-node20", "1.3.0"), ("web-python3_11", "1.0.7")],
    "kfserving": [("byoml-sklearn-1.5", "0.3.1"), ("byoml-pytorch-2.3", "0.2.0")],
}
_FUNCTIONS = {
    "plugs": ["temperature-alert", "humidity-check", "door-sensor", "geofence", "battery-low", "Zoë-counter"],
    "webscripts": ["slack-notify", "weather-hook", "ticket-sync", "invoice-export"],
    "kfserving": ["anomaly-detector", "churn-model", "forecast-energy"],
}
_LINK_NAMES = {"plugs": ("plug", "plugs"), "webscripts": ("webscript", "webscripts"), "kfserving": ("model", "models")}


def iso(moment: datetime) -> str:
    """The registry's timestamp format: UTC, milliseconds, Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_job_id(rng: random.Random) -> str:
    """An id shaped like the registry's: a UUID, `$`, a 21 character nanoid."""
    return f"{uuid.UUID(int=rng.getrandbits(128), version=4)}${''.join(rng.choice(_NANOID) for _ in range(21))}"


@dataclass(eq=False)
class Job:
    """One background job of one tenant, as the simulator keeps it."""

    type: str
    id: str
    operation: str
    created_by: str
    created_at: datetime
    state: str
    request: dict[str, Any]
    function: dict[str, Any] | None
    processed_at: datetime | None = None
    finished_at: datetime | None = None
    attempts_made: int = 0
    progress: float | dict[str, Any] = 0  # a number or an object, as the spec allows
    result: dict[str, Any] | None = None
    failed_reason: str | None = None
    delay: int | None = None
    parent: Job | None = None
    children: list[Job] = field(default_factory=list)
    # How the job ends when advanced without a target: completed, failed, or retry (once delayed).
    outcome: str = "completed"
    auto_ms: int | None = None
    notify: bool = False
    timer: Any = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, self.id)

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    def ancestors(self) -> list[Job]:
        found, job = [], self.parent
        while job is not None:
            found.append(job)
            job = job.parent
        return found

    def event_function(self) -> dict[str, Any]:
        """Events require a function; a batch job's is the plug it works on."""
        if self.function is not None:
            return self.function
        return {"functionType": self.request.get("functionType", "plugs"), "name": self.request.get("plugName", "")}


def job_href(base: str, job_type: str, job_id: str) -> str:
    return f"{base}/registry/v2/jobs/{job_type}/{quote(job_id, safe='$')}"


def events_href(base: str, job: Job) -> str:
    return f"{base}/registry/v2/jobs/events?type={job.type}&id={quote(job.id, safe='$')}&children=true"


def _function_links(base: str, function: dict[str, Any] | None) -> dict[str, Any]:
    if not function:
        return {}
    rel, path = _LINK_NAMES[function["functionType"]]
    href = f"{base}/registry/v2/{path}/{quote(function['name'], safe='')}"
    if function.get("version"):
        href += f"/versions/{function['version']}"
    return {rel: {"href": href}}


def summary_document(job: Job, base: str) -> dict[str, Any]:
    """An item of `IJobsResponse.jobs` (AnyJobStatusSummary)."""
    doc: dict[str, Any] = {
        "operation": job.operation,
        "createdBy": job.created_by,
        "createdAt": iso(job.created_at),
        "attemptsMade": job.attempts_made,
        "type": job.type,
        "id": job.id,
        "state": job.state,
    }
    _add_times(doc, job)
    if job.function is not None:
        doc["function"] = job.function
    doc["_links"] = {
        "job": {"href": job_href(base, job.type, job.id), "jobType": job.type},
        "event": {"href": events_href(base, job)},
        **_function_links(base, job.function),
    }
    return doc


def job_document(job: Job, base: str) -> dict[str, Any]:
    """The get endpoint's `IJobResponse`."""
    status: dict[str, Any] = {
        "operation": job.operation,
        "createdBy": job.created_by,
        "createdAt": iso(job.created_at),
        "attemptsMade": job.attempts_made,
        "type": job.type,
        "state": job.state,
        "request": job.request,
    }
    _add_times(status, job)
    if job.result is not None and job.state in FINAL_STATES:
        status["result"] = job.result
    if job.function is not None:
        status["function"] = job.function
    detail: dict[str, Any] = {
        "id": job.id,
        "name": job.operation,
        "progress": job.progress,
        "attemptsMade": job.attempts_made,
    }
    if job.processed_at:
        detail["processedOn"] = iso(job.processed_at)
    if job.finished_at:
        detail["finishedOn"] = iso(job.finished_at)
    if job.failed_reason is not None:
        detail["failedReason"] = job.failed_reason
    if job.parent is not None:
        detail["parent"] = {"id": job.parent.id, "queueKey": f"bull:{job.parent.type}"}
    if job.delay is not None:
        detail["delay"] = job.delay
    status["job"] = detail
    links = {"event": {"href": events_href(base, job)}, **_function_links(base, job.function)}
    return {"job": status, "_links": links}


def event_document(job: Job, base: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The JSON data of a job event (IJobEventResponse_*)."""
    return {
        "_links": {
            "job": {"href": job_href(base, job.type, job.id), "jobType": job.type},
            **_function_links(base, job.event_function()),
        },
        "job": {"type": job.type, "id": job.id},
        "data": data,
        "timestamp": iso(at),
        "function": job.event_function(),
    }


def _add_times(doc: dict[str, Any], job: Job) -> None:
    if job.processed_at:
        doc["processedAt"] = iso(job.processed_at)
    if job.finished_at:
        doc["finishedAt"] = iso(job.finished_at)


class Factory:
    """Makes realistic jobs for one tenant from one seeded random generator."""

    def __init__(self, tenant: str, rng: random.Random) -> None:
        self.tenant = tenant
        self.rng = rng
        self.people = [f"alice@{tenant}.example", f"bob@{tenant}.example", f"ci-bot@{tenant}.example", "Zoë Ünal"]

    def function(self, function_type: str | None = None, name: str | None = None) -> dict[str, Any]:
        rng = self.rng
        function_type = function_type or rng.choice(["plugs", "plugs", "webscripts", "kfserving"])
        runtime, runtime_version = rng.choice(_RUNTIMES[function_type])
        return {
            "functionType": function_type,
            "name": name or rng.choice(_FUNCTIONS[function_type]),
            "version": f"{rng.randint(0, 3)}.{rng.randint(0, 12)}.{rng.randint(0, 20)}",
            "runtime": runtime,
            "runtimeVersion": runtime_version,
        }

    def job(
        self,
        job_type: str,
        created_at: datetime,
        function: dict[str, Any] | None = None,
        operation: str | None = None,
        job_id: str | None = None,
    ) -> Job:
        if job_type == "batch":
            function = None
        elif function is None:
            function = self.function()
        request = self.request(job_type, function)
        return Job(
            type=job_type,
            id=job_id or new_job_id(self.rng),
            operation=operation or _default_operation(job_type, self.rng),
            created_by=self.rng.choice(self.people),
            # The registry keeps creation times in milliseconds (and compares them so): jobs
            # created in the same millisecond tie, as they do there.
            created_at=created_at.replace(microsecond=created_at.microsecond // 1000 * 1000),
            state="waiting",
            request=request,
            function=function,
        )

    def request(self, job_type: str, function: dict[str, Any] | None) -> dict[str, Any]:
        rng = self.rng
        if job_type == "batch":
            return {
                "plugName": rng.choice(_FUNCTIONS["plugs"]),
                "functionType": "plugs",
                "childType": rng.choice(["scale", "undeploy"]),
            }
        assert function is not None
        name, version = function["name"], function.get("version", "1.0.0")
        slug = "".join(c if c.isalnum() else "-" for c in name.lower())
        common = {
            "runtimeName": function.get("runtime", "plugs-node20"),
            "runtimeVersion": function.get("runtimeVersion", "1.0.0"),
            "revision": f"{rng.getrandbits(160):040x}",
        }
        image = f"registry.waylay.io/{self.tenant}/{function['functionType']}-{slug}:{version}"
        storage = f"gs://waylay-registry-{self.tenant}/{function['functionType']}/{slug}/{version}/"
        deployment = {"namespace": f"openfaas-fn-{self.tenant}", "endpoint": f"{self.tenant}-{slug}-{version}"}
        if job_type == "build":
            return {"storageLocation": storage, "imageName": image, **common, "args": {"NODE_ENV": "production"}}
        if job_type == "deploy":
            overrides = {
                "labels": {"waylay.io/function": slug, "waylay.io/tenant": self.tenant},
                "limits": {"memory": rng.choice(["256Mi", "512Mi", "1Gi"]), "cpu": "500m"},
                "requests": {"memory": "128Mi", "cpu": "100m"},
                "readOnlyRootFilesystem": True,
            }
            return {**deployment, "imageName": image, **common, "deploySpecOverrides": overrides}
        if job_type == "verify":
            return {**deployment, **common}
        if job_type == "undeploy":
            flags = {"deleteEntity": rng.random() < 0.5, "resetEntity": False, "deleteImage": rng.random() < 0.5}
            return {"storageLocation": storage, "imageName": image, **deployment, **common, **flags}
        if job_type == "scale":
            return {**deployment, **common, "replicas": rng.choice([0, 1, 2, 3, 5])}
        return {**deployment, **common}

    def result(self, job: Job) -> dict[str, Any]:
        rng = self.rng
        if job.type == "build":
            return {"digest": f"sha256:{rng.getrandbits(256):064x}", "log": self.build_log(job), "status": "success"}
        if job.type == "deploy":
            request = job.request
            spec = {
                "service": request["endpoint"],
                "image": request["imageName"],
                "namespace": request["namespace"],
                "labels": request["deploySpecOverrides"].get("labels", {}),
                "annotations": {"prometheus.io/scrape": "true"},
                "limits": request["deploySpecOverrides"].get("limits", {}),
                "requests": request["deploySpecOverrides"].get("requests", {}),
            }
            return {"deploySpec": spec}
        if job.type == "verify":
            return {"healthy": True, "replicas": rng.randint(1, 3)}
        if job.type == "undeploy":
            return {"deployment": True, "assets": True, "registration": True, "image": job.request["deleteImage"]}
        if job.type == "scale":
            return {}
        if job.type == "batch":
            return {"jobCount": max(1, len(job.children))}
        if job.type == "notify":
            return {"operation": job.operation if job.operation in _NOTIFY_OPERATIONS else "publish"}
        if job.type == "cleanup":
            return {"scheduledJob": {"type": "cleanup", "id": new_job_id(rng)}}
        return {}

    def failure(self, job: Job) -> str:
        """Why `job` fails (the same for the same job id)."""
        return reasons.failure_for(job, self.tenant).reason

    def failed_result(self, job: Job, reason: str | None) -> tuple[str, dict[str, Any] | None]:
        """The reason a job fails with and, for a build, the result that keeps its log."""
        failure = reasons.failure_for(job, self.tenant) if reason is None else reasons.echoed(reason)
        if job.type != "build":
            return failure.reason, None
        return failure.reason, {"digest": "", "log": buildlogs.build_log(job, failure), "status": "failed"}

    def build_log(self, job: Job, size: int = 0) -> list[str]:
        """A successful build's log; with `size`, keep going until about that many bytes."""
        return buildlogs.build_log(job, size=size)


_NOTIFY_OPERATIONS = {
    "create",
    "metadata-update",
    "assets-update",
    "rebuild",
    "verify",
    "publish",
    "deprecate",
    "undeploy",
    "undeprecate",
    "protect",
    "unprotect",
}


def _default_operation(job_type: str, rng: random.Random) -> str:
    if job_type in ("build", "deploy", "verify"):
        return rng.choice(["create", "rebuild", "assets-update", "verify"] if job_type == "verify" else ["create"])
    if job_type == "notify":
        return rng.choice(["publish", "create", "deprecate"])
    return {"undeploy": "undeploy", "scale": "scale", "batch": "rebuild", "cleanup": "cleanup"}[job_type]


def finish(job: Job, factory: Factory, state: str, at: datetime, reason: str | None = None) -> None:
    """Put a job in a final state with its result or failure reason, at the given moment."""
    job.state = state
    # Picked up a little before it ended, and never before it was created.
    job.processed_at = job.processed_at or max(job.created_at, at - timedelta(seconds=factory.rng.uniform(1, 90)))
    job.finished_at = at
    job.attempts_made = max(job.attempts_made, 1)
    job.progress = 100
    job.delay = None
    if state == "completed":
        job.result = factory.result(job)
        job.failed_reason = None
    else:
        job.failed_reason, job.result = factory.failed_result(job, reason)


@functools.lru_cache(maxsize=16)
def _huge_log(tenant: str, seed: int, image: str, function: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The ~3 MB log, made once per process: every reset would otherwise spend most of its time here."""
    factory = Factory(tenant, random.Random(f"{seed}:{tenant}:huge"))
    request = {"imageName": image}
    job = Job("build", HUGE_LOG_JOB[1], "create", "", datetime.now(UTC), "completed", request, dict(function))
    return tuple(factory.build_log(job, size=HUGE_LOG_BYTES))


def seed_history(tenant: str, seed: int, now: datetime, backlog: int = 0) -> list[Job]:
    """About 90 jobs over the last 7 days, every type and state, flows with children, an
    incident (deploys failing alike for an hour), the known XSS / huge-log jobs, and `backlog`
    more finished jobs over the week (a longer list for benchmarks). The same `seed`, tenant and
    backlog give the same ids and content."""
    rng = random.Random(f"{seed}:{tenant}")
    factory = Factory(tenant, rng)
    jobs: list[Job] = []
    week = 7 * 24 * 3600

    def flow(at: datetime, state: str) -> Job:
        """A create flow: a verify job waiting on its build and deploy children."""
        function = factory.function()
        verify = factory.job("verify", at, function, operation="create")
        for child_type in ("build", "deploy"):
            child = factory.job(child_type, at, function, operation="create")
            child.parent = verify
            verify.children.append(child)
        build, deploy = verify.children
        if state == "completed":
            finish(build, factory, "completed", at + timedelta(seconds=rng.uniform(30, 200)))
            finish(deploy, factory, "completed", build.finished_at + timedelta(seconds=rng.uniform(5, 40)))
            finish(verify, factory, "completed", deploy.finished_at + timedelta(seconds=rng.uniform(5, 30)))
        elif state == "failed":
            failing = rng.choice([build, deploy])
            finish(failing, factory, "failed", at + timedelta(seconds=rng.uniform(30, 200)))
            # Worded as the live simulation words them (world.py).
            if failing is deploy:
                finish(build, factory, "completed", failing.finished_at - timedelta(seconds=20))
            else:
                finish(deploy, factory, "failed", failing.finished_at, f"parent job failed: build {build.id}")
            reason = f"child {failing.type} job failed: {failing.failed_reason}"
            finish(verify, factory, "failed", failing.finished_at, reason)
        else:  # running now: build active, deploy waiting
            verify.state = "waiting-children"
            build.state, build.processed_at, build.progress, build.attempts_made = "active", at, 40, 1
        jobs.extend([verify, build, deploy])
        return verify

    def single(job_type: str, at: datetime, state: str) -> Job:
        job = factory.job(job_type, at)
        if state in FINAL_STATES:
            finish(job, factory, state, at + timedelta(seconds=rng.uniform(1, 120)))
        else:
            job.state = state
            if state == "active":
                job.processed_at, job.attempts_made, job.progress = at, 1, rng.randint(5, 90)
            elif state == "delayed":
                job.attempts_made, job.delay, job.failed_reason = 1, 30_000, factory.failure(job)
        jobs.append(job)
        return job

    def batch(at: datetime, state: str) -> Job:
        job = factory.job("batch", at)
        child_type = job.request["childType"]
        for _ in range(rng.randint(2, 3)):
            child = factory.job(child_type, at, factory.function("plugs", job.request["plugName"]))
            child.parent = job
            job.children.append(child)
            finish(child, factory, state, at + timedelta(seconds=rng.uniform(5, 60)))
            jobs.append(child)
        finish(job, factory, state, at + timedelta(seconds=90))
        jobs.append(job)
        return job

    # History: finished work spread over the week.
    for _ in range(15):
        flow(now - timedelta(seconds=rng.uniform(3600, week)), "completed" if rng.random() < 0.85 else "failed")
    flow(now - timedelta(seconds=rng.uniform(3600, week)), "failed")
    for job_type, count in (("scale", 7), ("undeploy", 5), ("verify", 4), ("deploy", 3), ("build", 3)):
        for i in range(count):
            state = "failed" if i == 0 or rng.random() < 0.15 else "completed"
            single(job_type, now - timedelta(seconds=rng.uniform(3600, week)), state)
    batch(now - timedelta(seconds=rng.uniform(3600, week)), "completed")
    batch(now - timedelta(seconds=rng.uniform(3600, week)), "failed")

    # An incident: the image registry was down for about an hour a day ago, and deploys failed alike.
    outage = now - timedelta(hours=rng.uniform(26, 30))
    for _ in range(5):
        job = factory.job("deploy", outage + timedelta(minutes=rng.uniform(0, 70)), operation="create")
        failed_at = job.created_at + timedelta(seconds=rng.uniform(20, 90))
        finish(job, factory, "failed", failed_at, reasons.registry_outage(job, tenant))
        jobs.append(job)

    # The backlog, from a generator of its own: the history above stays the same without it.
    spare = Factory(tenant, random.Random(f"{seed}:{tenant}:backlog"))
    for _ in range(backlog):
        job = spare.job(spare.rng.choice(LISTED_TYPES[:5]), now - timedelta(seconds=spare.rng.uniform(3600, week)))
        state = "failed" if spare.rng.random() < 0.15 else "completed"
        finish(job, spare, state, job.created_at + timedelta(seconds=spare.rng.uniform(1, 120)))
        jobs.append(job)

    # Now: every non-final state is represented, recently.
    flow(now - timedelta(seconds=90), "running")
    single("scale", now - timedelta(seconds=50), "delayed")
    single("undeploy", now - timedelta(seconds=40), "waiting")
    single("deploy", now - timedelta(seconds=30), "prioritized")
    single("verify", now - timedelta(seconds=20), "unknown")
    single("build", now - timedelta(seconds=10), "active")

    # The known jobs.
    xss = factory.job("build", now - timedelta(hours=5), factory.function("webscripts", XSS), job_id=XSS_JOB[1])
    xss.created_by = XSS
    finish(xss, factory, "failed", now - timedelta(hours=5) + timedelta(seconds=42), f"Build failed: {XSS}")
    jobs.append(xss)
    huge = factory.job("build", now - timedelta(hours=6), factory.function("plugs"), job_id=HUGE_LOG_JOB[1])
    finish(huge, factory, "completed", now - timedelta(hours=6) + timedelta(seconds=300))
    assert huge.result is not None
    function = tuple(sorted((key, str(value)) for key, value in (huge.function or {}).items()))
    huge.result["log"] = list(_huge_log(tenant, seed, huge.request["imageName"], function))
    jobs.append(huge)
    # A log line with markup, as builds echo whatever the user's code prints.
    for job in jobs:
        if job.type == "build" and job.state == "completed" and job is not huge:
            assert job.result is not None
            job.result["log"].append(f"#99 echo {XSS}")
            break
    jobs.sort(key=lambda job: job.created_at, reverse=True)
    return jobs
