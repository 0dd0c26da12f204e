"""Simulated failure reasons, shaped like the registry's: a few kinds per job type that recur
across jobs (npm and pip errors, exit codes, OOMKilled, image pulls, scheduling, gateway 5xx,
probes, tracebacks...), each carrying the details a real one carries: the job's function, version,
image, pod names, request and trace ids, numbers. A build failure also says which step failed and
what it printed, for its build log (jobsdash/simulator/buildlogs.py).

Everything is drawn from a generator seeded by the job's id, so a job fails the same way on every
run and in every process; the dependency a function fails on is chosen by its name, so one
function keeps failing on the same package, as in life.

What it must not do: change a Job (jobs.py does), or emit anything.
"""

from __future__ import annotations

import random
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobsdash.simulator.jobs import Job

NPM_ERR = "\x1b[37;40mnpm\x1b[0m \x1b[0m\x1b[31;40mERR!\x1b[0m \x1b[0m"  # npmlog's colours, as npm 6-8 print them
_RED, _RESET = "\x1b[31m", "\x1b[0m"
_POD_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' name suffixes: no vowels, no 0, 1 or 3
_NODE_PACKAGES = [("lodash", "^9.0.0"), ("express", "^6.1.0"), ("axios", "^2.0.0")]
_PY_PACKAGES = [("numpy", "0.1"), ("pandas", "9.9.0"), ("scikit-learn", "0.0.1")]
_GATEWAY = [(502, "Bad Gateway"), (502, "Bad Gateway"), (503, "Service Unavailable")]


@dataclass(frozen=True)
class Failure:
    """Why a job failed. For a build, also the step that failed, its output (with the tool's
    ANSI colours) and its exit code (None: the build was cancelled, as on a timeout)."""

    reason: str
    command: str = ""
    output: tuple[str, ...] = ()
    exit_code: int | None = 1


def failure_for(job: Job, tenant: str) -> Failure:
    """How `job` fails: the same for the same job id."""
    rng = random.Random(f"{job.id}:failure")
    maker = _MAKERS.get(job.type, _generic)
    return maker(job, tenant, rng)


def echoed(reason: str) -> Failure:
    """A build failure given as a reason only (a test's, a parent's): the step prints it."""
    return Failure(reason, "npm run build", tuple(reason.split("\n")), 1)


def registry_outage(job: Job, tenant: str) -> str:
    """A deploy that failed while the image registry was down: the seeded history's incident."""
    image = job.request.get("imageName", f"registry.waylay.io/{tenant}/{_name(job)[2]}")
    return (
        f'Deployment failed: Failed to pull image "{image}": rpc error: code = Unavailable desc = '
        "registry.waylay.io: 503 Service Unavailable"
    )


def runtime_is_python(job: Job) -> bool:
    runtime = str((job.function or {}).get("runtime") or job.request.get("runtimeName") or "")
    return "python" in runtime or runtime.startswith("byoml")


def _name(job: Job) -> tuple[str, str, str]:
    function = job.function or {}
    name = str(function.get("name") or job.request.get("plugName") or "function")
    version = str(function.get("version") or "1.0.0")
    slug = "".join(c if c.isalnum() else "-" for c in name.lower())
    return name, version, slug


def _pod(slug: str, rng: random.Random) -> str:
    replica_set = "".join(rng.choice(_POD_ALPHABET) for _ in range(rng.choice((9, 10))))
    return f"{slug}-{replica_set}-{''.join(rng.choice(_POD_ALPHABET) for _ in range(5))}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _by_name(name: str, choices: list[Any]) -> Any:
    return choices[zlib.crc32(name.encode()) % len(choices)]


def _build(job: Job, tenant: str, rng: random.Random) -> Failure:
    name, version, _ = _name(job)
    python = runtime_is_python(job)
    install = "pip install --no-cache-dir -r requirements.txt" if python else "npm ci --omit=dev"
    kind = rng.choices(["dependency", "compile", "oom", "timeout"], [50, 20 if not python else 0, 18, 12])[0]
    if kind == "timeout":
        limit = rng.choice((600, 900))
        return Failure(f"Build timed out after {limit} seconds (build id {_uuid(rng)})", install, (), None)
    if kind == "oom":
        reason = f'Build failed: process "/bin/sh -c {install}" did not complete successfully: exit code: 137'
        return Failure(reason, install, ("Killed",), 137)
    if kind == "compile":
        line, column = rng.randint(12, 140), rng.randint(3, 30)
        output = (
            "",
            f"> {name}@{version} build",
            "> tsc -p .",
            "",
            f"\x1b[96msrc/handler.ts\x1b[0m:\x1b[93m{line}\x1b[0m:\x1b[93m{column}\x1b[0m - \x1b[91merror\x1b[0m"
            "\x1b[90m TS2339: \x1b[0mProperty 'temprature' does not exist on type 'Payload'.",
            "",
            f"\x1b[7m{line}\x1b[0m     const value = payload.temprature;",
            "",
            "Found 1 error in src/handler.ts\x1b[90m:" + str(line) + "\x1b[0m",
        )
        reason = 'Build failed: process "/bin/sh -c npm run build" did not complete successfully: exit code: 2'
        return Failure(reason, "npm run build", output, 2)
    if python:
        package, wanted = _by_name(name, _PY_PACKAGES)
        wanted = f"{wanted.rsplit('.', 1)[0]}.{rng.randint(0, 9)}"
        major = rng.randint(1, 2)
        versions = ", ".join(f"{major}.{minor}.{rng.randint(0, 4)}" for minor in range(rng.randint(3, 6)))
        first = f"ERROR: Could not find a version that satisfies the requirement {package}=={wanted}"
        first += f" (from versions: {versions})"
        last = f"ERROR: No matching distribution found for {package}=={wanted}"
        output = (f"{_RED}{first}{_RESET}", f"{_RED}{last}{_RESET}")
        return Failure(f"Build failed: {last}", install, output, 1)
    package, wanted = _by_name(name, _NODE_PACKAGES)
    wanted = f"{wanted[0]}{wanted[1:].split('.')[0]}.{rng.randint(0, 4)}.{rng.randint(0, 9)}"
    stamp = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 2 * 365 * 86400))
    log_name = f"{stamp:%Y-%m-%dT%H_%M_%S}_{rng.randint(0, 999):03d}Z-debug-0.log"
    notarget = [
        f"No matching version found for {package}@{wanted}.",
        "In most cases you or one of your dependencies are requesting",
        "a package version that doesn't exist.",
    ]
    output = (
        f"{NPM_ERR}\x1b[35mcode\x1b[0m ETARGET",
        *(f"{NPM_ERR}\x1b[35mnotarget\x1b[0m {text}" for text in notarget),
        "",
        f"{NPM_ERR} A complete log of this run can be found in:",
        f"{NPM_ERR}     /root/.npm/_logs/{log_name}",
    )
    reason = "Build failed: npm ERR! code ETARGET\n" + "\n".join(f"npm ERR! notarget {text}" for text in notarget)
    return Failure(reason, install, output, 1)


def _deploy(job: Job, tenant: str, rng: random.Random) -> Failure:
    _, _, slug = _name(job)
    image = job.request.get("imageName", f"registry.waylay.io/{tenant}/{slug}")
    kind = rng.choices(["pull", "oom", "schedule", "gateway"], [35, 25, 20, 20])[0]
    if kind == "pull":
        return Failure(f'Deployment failed: Back-off pulling image "{image}": ImagePullBackOff (pod {_pod(slug, rng)})')
    if kind == "oom":
        limits = (job.request.get("deploySpecOverrides") or {}).get("limits") or {}
        limit = limits.get("memory", "256Mi")
        return Failure(
            f"Deployment failed: container {slug} in pod {_pod(slug, rng)} was OOMKilled "
            f"(exit code 137, memory limit {limit})"
        )
    if kind == "schedule":
        nodes = rng.choice((3, 4, 6))
        return Failure(
            f"Deployment failed: 0/{nodes} nodes are available: {nodes} Insufficient memory. preemption: "
            f"0/{nodes} nodes are available: {nodes} No preemption victims found for incoming pod."
        )
    status, phrase = rng.choice(_GATEWAY)
    return Failure(f"Deployment failed: openfaas gateway returned {status} {phrase} (x-request-id: {_uuid(rng)})")


def _verify(job: Job, tenant: str, rng: random.Random) -> Failure:
    _, _, slug = _name(job)
    kind = rng.choices(["unhealthy", "crash", "probe"], [45, 35, 20])[0]
    if kind == "unhealthy":
        replicas = rng.randint(1, 3)
        return Failure(
            f"Verification failed: function did not become healthy within {rng.choice((120, 180, 300))}s "
            f"(0/{replicas} replicas ready)"
        )
    if kind == "probe":
        address = f"10.244.{rng.randint(0, 7)}.{rng.randint(2, 250)}"
        return Failure(
            f'Verification failed: Liveness probe failed: Get "http://{address}:8080/_/health": '
            "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )
    lead = f"Verification failed: container {slug} exited with code 1"
    if runtime_is_python(job):
        module = _by_name(slug, ["sklearn", "torch", "requests"])
        frames = (
            "Traceback (most recent call last):",
            f'  File "/home/app/index.py", line {rng.randint(4, 9)}, in <module>',
            "    from function import handler",
            '  File "/home/app/function/handler.py", line 3, in <module>',
            f"    import {module}",
            f"ModuleNotFoundError: No module named '{module}'",
        )
        return Failure("\n".join((lead, *frames)))
    module = _by_name(slug, ["node-fetch", "@waylay/sdk", "moment-timezone"])
    return Failure(
        f"{lead}: Error: Cannot find module '{module}'\nRequire stack:\n"
        f"- /home/app/function/handler.js\n- /home/app/index.js"
    )


def _undeploy(job: Job, tenant: str, rng: random.Random) -> Failure:
    _, version, slug = _name(job)
    if rng.random() < 0.6:
        status, phrase = rng.choice(_GATEWAY)
        return Failure(
            f"Undeploy failed: openfaas gateway returned {status} {phrase} (trace id {rng.getrandbits(128):032x})"
        )
    kind = (job.function or {}).get("functionType", "plugs")
    token = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(20))
    return Failure(
        f"Undeploy failed: could not delete gs://waylay-registry-{tenant}/{kind}/{slug}/{version}/: "
        f"403 Forbidden (request id {token})"
    )


def _scale(job: Job, tenant: str, rng: random.Random) -> Failure:
    _, _, slug = _name(job)
    if rng.random() < 0.55:
        used = rng.choice(("7Gi", "7680Mi", "7900Mi"))
        return Failure(
            f'Scale failed: pods "{_pod(slug, rng)}" is forbidden: exceeded quota: compute-resources, '
            f"requested: limits.memory={rng.choice(('512Mi', '1Gi'))}, used: limits.memory={used}, "
            "limited: limits.memory=8Gi"
        )
    replicas = job.request.get("replicas") or rng.randint(2, 5)
    return Failure(f"Scale failed: deployment {slug} did not reach {replicas} ready replicas within 60s")


def _batch(job: Job, tenant: str, rng: random.Random) -> Failure:
    total = len(job.children) or rng.randint(2, 5)
    failed = sum(child.state == "failed" for child in job.children) or rng.randint(1, total)
    return Failure(f"Batch failed: {failed} of {total} child jobs failed")


def _notify(job: Job, tenant: str, rng: random.Random) -> Failure:
    return Failure(
        f"Notification failed: webhook https://hooks.{tenant}.example/waylay returned 500 Internal Server Error "
        f"(request id {_uuid(rng)})"
    )


def _generic(job: Job, tenant: str, rng: random.Random) -> Failure:
    address = f"10.96.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    bucket = f"gs://waylay-registry-{tenant}"
    return Failure(f"Cleanup failed: storage bucket {bucket} not reachable: dial tcp {address}:443: i/o timeout")


_MAKERS = {
    "build": _build,
    "deploy": _deploy,
    "verify": _verify,
    "undeploy": _undeploy,
    "scale": _scale,
    "batch": _batch,
    "notify": _notify,
}
