"""Failure signatures on a table of real-looking failure reasons: which ones are one group, which
must never merge, and what people read."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobsdash.jobs.signatures import MAX_LENGTH, NO_REASON, Subject, signature, subject_of

# The tables keep each failure reason on one line, as it reads in a log: no wrapping.
# ruff: noqa: E501

TEMP = Subject(
    job_id="6ccc8843-d78d-49e8-84c4-3734a4af9929$IfM2FyNLQ8CEjQGA9w7Ht",
    function_name="temperature-alert",
    function_version="1.2.3",
    image="registry.waylay.io/acme/plugs-temperature-alert:1.2.3",
)
DOOR = Subject(
    job_id="0b9f3c2e-51aa-4c7e-9d0e-2f6a8b1c4d5e$Qw8_rT5yU2iO9pA3sD6fG",
    function_name="door-sensor",
    function_version="0.4.1",
    image="registry.waylay.io/acme/plugs-door-sensor:0.4.1",
)
CHURN = Subject(
    job_id="a3e1f9d2-7b6c-4e5a-8f90-1d2c3b4a5e6f$Zx7cV4bN1mL8kJ5hG2fDs",
    function_name="churn-model",
    function_version="2.0.0",
    image="registry.waylay.io/acme/kfserving-churn-model:2.0.0",
)
# A job event has no request, so no image: its signature must still match the document's.
DOOR_FROM_EVENT = Subject(DOOR.job_id, DOOR.function_name, DOOR.function_version, "")

NPM_ETARGET = """npm ERR! code ETARGET
npm ERR! notarget No matching version found for {package}@{wanted}.
npm ERR! notarget In most cases you or one of your dependencies are requesting
npm ERR! notarget a package version that doesn't exist.

npm ERR! A complete log of this run can be found in:
npm ERR!     /root/.npm/_logs/{stamp}-debug-0.log"""
NPMLOG_ETARGET = (  # as npm 6 colours it (npmlog: white/red on black, the title magenta)
    "\x1b[37;40mnpm\x1b[0m \x1b[0m\x1b[31;40mERR!\x1b[0m \x1b[0m\x1b[35mcode\x1b[0m ETARGET\n"
    "\x1b[37;40mnpm\x1b[0m \x1b[0m\x1b[31;40mERR!\x1b[0m \x1b[0m\x1b[35mnotarget\x1b[0m No matching version found "
    "for lodash@~9.1.2.\n"
)
TRACEBACK = """Traceback (most recent call last):
  File "/home/app/index.py", line {line}, in <module>
    from function import handler
  File "/home/app/function/handler.py", line 3, in <module>
    import {module}
ModuleNotFoundError: No module named '{module}'"""
CHAINED = """Traceback (most recent call last):
  File "/app/model.py", line 12, in load
    path = os.environ["MODEL_PATH"]
           ~~~~~~~~~~^^^^^^^^^^^^^^
KeyError: 'MODEL_PATH'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/server.py", line 30, in <module>
    model = load()
RuntimeError: model path not configured for {name}@{version}"""
PULL_NOT_FOUND = (
    'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
    'failed to resolve reference "{image}": {image}: not found'
)
PULL_UNAUTHORIZED = (
    'Failed to pull image "{image}": rpc error: code = Unknown desc = failed to pull and unpack image "{image}": '
    "unexpected status from HEAD request: 401 Unauthorized"
)
BUILD_STEP = 'Build failed: process "/bin/sh -c npm ci --omit=dev" did not complete successfully: exit code: {code}'

# (group, subject, failedReason). Same group <=> same signature, for every pair of rows.
TABLE: list[tuple[str, Subject, str]] = [
    # npm
    ("etarget-lodash", TEMP, "Build failed: " + NPM_ETARGET.format(package="lodash", wanted="^9.0.0", stamp="2024-05-01T12_00_00_123Z")),
    ("etarget-lodash", DOOR, "Build failed: " + NPM_ETARGET.format(package="lodash", wanted="~9.1.2", stamp="2024-06-11T08_13_54_007Z")),
    ("etarget-lodash-bare", DOOR, NPMLOG_ETARGET),
    ("etarget-express", TEMP, "Build failed: " + NPM_ETARGET.format(package="express", wanted="^6.0.0", stamp="2024-05-01T12_00_00_123Z")),
    ("npm-e404", TEMP, "npm ERR! code E404\nnpm ERR! 404 Not Found - GET https://registry.npmjs.org/@waylay%2fsdk-internal - Not found\nnpm ERR! 404\nnpm ERR! 404  '@waylay/sdk-internal@^1.4.0' is not in this registry."),
    ("npm-eresolve", TEMP, "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.\nnpm error code ERESOLVE\nnpm error ERESOLVE unable to resolve dependency tree\nnpm error\nnpm error While resolving: temperature-alert@1.2.3\nnpm error Found: react@18.2.0"),
    ("npm-eresolve", DOOR, "npm error code ERESOLVE\nnpm error ERESOLVE unable to resolve dependency tree\nnpm error\nnpm error While resolving: door-sensor@0.4.1\nnpm error Found: react@18.3.1"),
    # pip
    ("pip-numpy", CHURN, "ERROR: Could not find a version that satisfies the requirement numpy==0.1 (from versions: 1.3.0, 1.4.1, 1.5.0)\nERROR: No matching distribution found for numpy==0.1"),
    ("pip-numpy", CHURN, "ERROR: Could not find a version that satisfies the requirement numpy==0.2.1 (from versions: 1.3.0, 1.4.1, 1.5.0, 1.6.2, 2.0.0)\nERROR: No matching distribution found for numpy==0.2.1"),
    ("pip-pandas", CHURN, "ERROR: Could not find a version that satisfies the requirement pandas==9.9 (from versions: 1.5.3, 2.2.2)\nERROR: No matching distribution found for pandas==9.9"),
    ("pip-subprocess", CHURN, "error: subprocess-exited-with-error\n\n  \u00d7 Getting requirements to build wheel did not run successfully.\n  \u2502 exit code: 1\n  \u2570\u2500> [17 lines of output]"),
    # exit codes
    ("exit-1", TEMP, BUILD_STEP.format(code=1)),
    ("exit-1", DOOR, BUILD_STEP.format(code=1)),
    ("exit-137", TEMP, BUILD_STEP.format(code=137)),
    ("exit-2", DOOR, "Build failed: command terminated with exit code 2"),
    # OOMKilled
    ("oom-pod", TEMP, "OOMKilled: container temperature-alert in pod temperature-alert-6c9f5b8d7-x2x7q exceeded its memory limit (256Mi)"),
    ("oom-pod", DOOR, "OOMKilled: container door-sensor in pod door-sensor-7b8d5c9f6-kq2wz exceeded its memory limit (512Mi)"),
    ("oom-container", TEMP, "Container was OOMKilled (exit code 137)"),
    # timeouts with request ids
    ("build-timeout", TEMP, "Build timed out after 600 seconds (build id 3f2b9c1e-8a4d-4e2f-9b7a-1c2d3e4f5a6b)"),
    ("build-timeout", DOOR, "Build timed out after 900 seconds (build id 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d)"),
    ("deadline", TEMP, "context deadline exceeded (Client.Timeout exceeded while awaiting headers) request_id=req_8Fh3kL2pQ"),
    ("deadline", DOOR, "context deadline exceeded (Client.Timeout exceeded while awaiting headers) request_id=req_Zt93mmQw1"),
    ("unhealthy", TEMP, "Verification failed: function did not become healthy within 120s (0/1 replicas ready)"),
    ("unhealthy", DOOR, "Verification failed: function did not become healthy within 300s (1/3 replicas ready)"),
    ("etimedout", TEMP, "connect ETIMEDOUT 10.12.3.4:443"),
    ("etimedout", DOOR, "connect ETIMEDOUT 10.12.9.200:443"),
    ("econnrefused", TEMP, "connect ECONNREFUSED 10.96.0.12:8080"),
    # image pull errors
    ("pull-backoff", TEMP, 'Back-off pulling image "registry.waylay.io/acme/plugs-temperature-alert:1.2.3"'),
    ("pull-backoff", DOOR, 'Back-off pulling image "registry.waylay.io/acme/plugs-door-sensor:0.4.1"'),
    ("pull-backoff", DOOR_FROM_EVENT, 'Back-off pulling image "registry.waylay.io/acme/plugs-door-sensor:0.4.1"'),
    ("pull-not-found", TEMP, PULL_NOT_FOUND.format(image=TEMP.image)),
    ("pull-not-found", DOOR_FROM_EVENT, PULL_NOT_FOUND.format(image=DOOR.image)),
    ("pull-unauthorized", DOOR, PULL_UNAUTHORIZED.format(image=DOOR.image)),
    # HTTP 5xx with trace ids
    ("gateway-502", TEMP, "Undeploy failed: openfaas gateway returned 502 Bad Gateway (trace id 4bf92f3577b34da6a3ce929d0e0e4736)"),
    ("gateway-502", DOOR, "Undeploy failed: openfaas gateway returned 502 Bad Gateway (trace id 0af7651916cd43dd8448eb211c80319c)"),
    ("gateway-503", TEMP, "Undeploy failed: openfaas gateway returned 503 Service Unavailable (trace id 4bf92f3577b34da6a3ce929d0e0e4736)"),
    ("axios-500", TEMP, "Request failed with status code 500 (x-request-id: 7c9e6679-7425-40de-944b-e07fc1f90ae7)"),
    ("axios-500", DOOR, "Request failed with status code 500 (x-request-id: 16fd2706-8baf-433b-82eb-8c7fada847da)"),
    ("axios-504", DOOR, "Request failed with status code 504 (x-request-id: 16fd2706-8baf-433b-82eb-8c7fada847da)"),
    ("gateway-timeout", TEMP, "HTTP 504 Gateway Timeout from https://api.waylay.io/registry/v2/plugs/temperature-alert/versions/1.2.3 traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ("gateway-timeout", DOOR, "HTTP 504 Gateway Timeout from https://api.waylay.io/registry/v2/plugs/door-sensor/versions/0.4.1 traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    # Kubernetes events
    ("sched-memory", TEMP, "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."),
    ("sched-memory", DOOR, "0/5 nodes are available: 5 Insufficient memory. preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod."),
    ("sched-cpu", TEMP, "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."),
    ("crashloop", TEMP, "Back-off restarting failed container temperature-alert in pod temperature-alert-5f7b9c8d4-bxk2q_openfaas-fn-acme(8f14e45f-ceea-467f-a0e6-3f2b7a1c9d3e)"),
    ("crashloop", DOOR, "Back-off restarting failed container door-sensor in pod door-sensor-6d4b8f9c7-zr5tn_openfaas-fn-acme(0c5e8a2d-1f3b-4c6d-9e7f-8a9b0c1d2e3f)"),
    ("readiness-503", TEMP, "Readiness probe failed: HTTP probe failed with statuscode: 503"),
    ("readiness-500", TEMP, "Readiness probe failed: HTTP probe failed with statuscode: 500"),
    ("liveness-refused", TEMP, 'Liveness probe failed: Get "http://10.244.1.17:8080/_/health": dial tcp 10.244.1.17:8080: connect: connection refused'),
    ("liveness-refused", DOOR, 'Liveness probe failed: Get "http://10.244.3.5:8080/_/health": dial tcp 10.244.3.5:8080: connect: connection refused'),
    ("quota", TEMP, 'pods "temperature-alert-6c9f5b8d7-x2x7q" is forbidden: exceeded quota: compute-resources, requested: limits.memory=2Gi, used: limits.memory=7Gi, limited: limits.memory=8Gi'),
    ("quota", DOOR, 'pods "door-sensor-7b8d5c9f6-kq2wz" is forbidden: exceeded quota: compute-resources, requested: limits.memory=512Mi, used: limits.memory=7800Mi, limited: limits.memory=8Gi'),
    # Python tracebacks
    ("py-sklearn", CHURN, TRACEBACK.format(line=5, module="sklearn")),
    ("py-sklearn", CHURN, "\x1b[1;35mTraceback\x1b[0m (most recent call last):\n" + TRACEBACK.format(line=7, module="sklearn").split("\n", 1)[1]),
    ("py-torch", CHURN, TRACEBACK.format(line=5, module="torch")),
    ("py-chained", CHURN, CHAINED.format(name="churn-model", version="2.0.0")),
    ("py-chained", TEMP, CHAINED.format(name="temperature-alert", version="1.2.3")),
    ("py-lead", CHURN, "Verification failed: container churn-model exited with code 1\n" + TRACEBACK.format(line=5, module="sklearn")),
    # the registry's own
    ("scale-max", TEMP, "Scale failed: replicas 12 exceeds the maximum of 10 for this tenant"),
    ("scale-max", DOOR, "Scale failed: replicas 20 exceeds the maximum of 16 for this tenant"),
    ("batch", TEMP, "Batch failed: 2 of 5 child jobs failed"),
    ("batch", DOOR, "Batch failed: 3 of 4 child jobs failed"),
    ("parent", TEMP, "parent job failed: build 0b9f3c2e-51aa-4c7e-9d0e-2f6a8b1c4d5e$Qw8_rT5yU2iO9pA3sD6fG"),
    ("parent", DOOR, "parent job failed: build 6ccc8843-d78d-49e8-84c4-3734a4af9929$IfM2FyNLQ8CEjQGA9w7Ht"),
    ("child-etarget", TEMP, "child build job failed: Build failed: " + NPM_ETARGET.format(package="lodash", wanted="^9.0.0", stamp="2024-05-01T12_00_00_123Z")),
    ("own-id", TEMP, f"Job {TEMP.job_id} failed after 3 attempts"),
    ("own-id", DOOR, f"Job {DOOR.job_id} failed after 5 attempts"),
    ("stalled", TEMP, "job stalled more than allowable limit"),
    ("segfault", TEMP, "2024-05-01T12:00:00.123Z ERROR worker crashed: signal 11 (SIGSEGV)"),
    ("segfault", DOOR, "2024-06-02T23:59:59Z ERROR worker crashed: signal 11 (SIGSEGV)"),
    ("sigkill", TEMP, "2024-05-01T12:00:00.123Z ERROR worker crashed: signal 9 (SIGKILL)"),
    ("no-reason", TEMP, ""),
    ("no-reason", DOOR, "   \n\t\n"),
]  # fmt: skip

# Failures that differ only in what tells them apart: never one group.
MUST_NOT_MERGE = [
    ("exit-1", "exit-137"),
    ("exit-1", "exit-2"),
    ("etarget-lodash", "etarget-express"),
    ("pip-numpy", "pip-pandas"),
    ("gateway-502", "gateway-503"),
    ("axios-500", "axios-504"),
    ("readiness-503", "readiness-500"),
    ("sched-memory", "sched-cpu"),
    ("pull-not-found", "pull-unauthorized"),
    ("py-sklearn", "py-torch"),
    ("segfault", "sigkill"),
    ("etimedout", "econnrefused"),
    ("etarget-lodash", "child-etarget"),
]


def _signatures() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for group, subject, reason in TABLE:
        found.setdefault(group, set()).add(signature(reason, subject))
    return found


def test_the_table_is_big_enough_to_mean_something() -> None:
    assert len(TABLE) >= 30
    assert sum(len(list(rows)) > 1 for _, rows in itertools.groupby(sorted(g for g, _, _ in TABLE))) >= 20


@pytest.mark.parametrize(("group", "subject", "reason"), TABLE, ids=[f"{g}-{i}" for i, (g, _, _) in enumerate(TABLE)])
def test_each_failure_has_the_signature_of_its_group(group: str, subject: Subject, reason: str) -> None:
    first = next((s, r) for g, s, r in TABLE if g == group)
    assert signature(reason, subject) == signature(first[1], first[0])


def test_different_groups_never_share_a_signature() -> None:
    owners: dict[str, str] = {}
    for group, found in _signatures().items():
        (only,) = found
        assert owners.setdefault(only, group) == group, f"{group} and {owners[only]} share {only!r}"


@pytest.mark.parametrize(("one", "other"), MUST_NOT_MERGE)
def test_pairs_that_differ_in_what_matters_do_not_merge(one: str, other: str) -> None:
    found = _signatures()
    assert found[one] != found[other]


@pytest.mark.parametrize(
    ("reason", "subject", "expected"),
    [
        ("Build failed: " + NPM_ETARGET.format(package="lodash", wanted="^9.0.0", stamp="2024-05-01T12_00_00_123Z"), TEMP, "Build failed: npm ERR! code ETARGET No matching version found for lodash@<version>"),
        (NPMLOG_ETARGET, DOOR, "npm ERR! code ETARGET No matching version found for lodash@<version>"),
        (
            "ERROR: Could not find a version that satisfies the requirement numpy==0.1 (from versions: 1.3.0, 1.4.1)",
            CHURN,
            "ERROR: Could not find a version that satisfies the requirement numpy==<version> "
            "(from versions: <version>, …)",
        ),
        (BUILD_STEP.format(code=137), TEMP, BUILD_STEP.format(code=137)),
        (
            "OOMKilled: container door-sensor in pod door-sensor-7b8d5c9f6-kq2wz exceeded its memory limit (512Mi)",
            DOOR,
            "OOMKilled: container <function> in pod <function>-<pod> exceeded its memory limit (<size>)",
        ),
        (
            "Build timed out after 600 seconds (build id 3f2b9c1e-8a4d-4e2f-9b7a-1c2d3e4f5a6b)",
            TEMP,
            "Build timed out after <duration> (build id <id>)",
        ),
        (PULL_NOT_FOUND.format(image=DOOR.image), DOOR_FROM_EVENT, PULL_NOT_FOUND.format(image="<image>")),
        (
            "Undeploy failed: openfaas gateway returned 503 Service Unavailable (trace id 0af7651916cd43dd8448eb211c80319c)",
            TEMP,
            "Undeploy failed: openfaas gateway returned 503 Service Unavailable (trace id <id>)",
        ),
        (
            "Back-off restarting failed container temperature-alert in pod temperature-alert-5f7b9c8d4-bxk2q_openfaas-fn-acme"
            "(8f14e45f-ceea-467f-a0e6-3f2b7a1c9d3e)",
            TEMP,
            "Back-off restarting failed container <function> in pod <function>-<pod>_openfaas-fn-acme(<id>)",
        ),
        (TRACEBACK.format(line=5, module="sklearn"), CHURN, "ModuleNotFoundError: No module named 'sklearn'"),
        (CHAINED.format(name="churn-model", version="2.0.0"), CHURN, "RuntimeError: model path not configured for <function>@<version>"),
        (
            "Verification failed: container churn-model exited with code 1\n" + TRACEBACK.format(line=5, module="sklearn"),
            CHURN,
            "Verification failed: container <function> exited with code 1: ModuleNotFoundError: No module named 'sklearn'",
        ),
        ("Batch failed: 2 of 5 child jobs failed", TEMP, "Batch failed: <n> of <n> child jobs failed"),
        (f"Job {TEMP.job_id} failed after 3 attempts", TEMP, "Job <id> failed after <n> attempts"),
        ("2024-05-01T12:00:00.123Z ERROR worker crashed: signal 11 (SIGSEGV)", TEMP, "<time> ERROR worker crashed: signal 11 (SIGSEGV)"),
        ("Request failed after 1m30.5s, 3 attempts, 12.5 MB sent, for alice@acme.example", TEMP, "Request failed after <duration>, <n> attempts, <size> sent, for <email>"),
        ("", TEMP, NO_REASON),
    ],
)  # fmt: skip
def test_signatures_read_well(reason: str, subject: Subject, expected: str) -> None:
    assert signature(reason, subject) == expected


def test_markup_in_a_reason_is_kept_as_text_and_the_jobs_own_name_is_stripped() -> None:
    xss = "<script>alert(1)</script>"
    assert signature(f"Build failed: {xss}", Subject(function_name=xss)) == "Build failed: <function>"
    assert signature(f"Build failed: {xss}") == f"Build failed: {xss.replace('1', '<n>')}"


def test_another_functions_name_is_not_stripped() -> None:
    reason = 'Back-off pulling image "registry.waylay.io/acme/plugs-door-sensor:0.4.1"'
    assert signature(reason, TEMP) == 'Back-off pulling image "registry.waylay.io/acme/plugs-door-sensor:<version>"'


def test_a_huge_reason_gives_a_short_single_line_signature() -> None:
    reason = "Build failed: " + "x" * 100_000 + "\nsecond line"
    found = signature(reason, TEMP)
    assert len(found) == MAX_LENGTH and found.endswith("…") and "\n" not in found


def test_the_subject_comes_alike_from_a_job_document_and_from_an_event() -> None:
    function = {"functionType": "plugs", "name": "door-sensor", "version": "0.4.1", "runtime": "plugs-node20"}
    document = {
        "job": {
            "type": "deploy",
            "function": function,
            "request": {"imageName": DOOR.image},
            "job": {"id": DOOR.job_id, "failedReason": "x"},
        }
    }
    event = {"job": {"type": "deploy", "id": DOOR.job_id}, "function": function, "data": {"failedReason": "x"}}
    assert subject_of(document) == DOOR
    assert subject_of(event) == DOOR_FROM_EVENT
    assert subject_of({"job": "odd"}) == subject_of(None) == Subject()


@given(st.text(max_size=400), st.text(max_size=30))
def test_any_text_gives_a_bounded_single_line(reason: str, name: str) -> None:
    found = signature(reason, Subject(function_name=name, job_id=name))
    assert found and len(found) <= MAX_LENGTH and "\n" not in found and "\x1b" not in found
