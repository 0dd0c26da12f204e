"""Simulated build logs: BuildKit's plain progress output for a function image (node or python
runtime), coloured as BuildKit and the tools inside it print on a terminal (step headers blue,
errors red, cancellation yellow, npm's and pip's own colours, a 256-colour and a true-colour
line), and for a failed build the failing step's output and BuildKit's error section (the step,
its output again, the Dockerfile excerpt, `ERROR: failed to solve: ...`).

Each log is drawn from a generator seeded by the job's id: the same job always has the same log.

What it must not do: change a Job, or decide how a build fails (reasons.py does).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from jobsdash.simulator.reasons import Failure, runtime_is_python

if TYPE_CHECKING:
    from jobsdash.simulator.jobs import Job

BLUE, RED, YELLOW, GREEN, CYAN, BOLD, RESET = (
    "\x1b[34m",
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[32m",
    "\x1b[36m",
    "\x1b[1m",
    "\x1b[0m",
)
_NPM_HTTP = "\x1b[37;40mnpm\x1b[0m \x1b[0m\x1b[32;40mhttp\x1b[0m \x1b[0m\x1b[35mfetch\x1b[0m"
_NPM_WARN = "\x1b[37;40mnpm\x1b[0m \x1b[0m\x1b[30;43mWARN\x1b[0m \x1b[0m\x1b[35mdeprecated\x1b[0m"
_PIP_BAR = "\x1b[38;2;114;156;31m" + "\u2501" * 40 + RESET  # pip's progress bar, true colour


def build_log(job: Job, failure: Failure | None = None, size: int = 0) -> list[str]:
    """The log of `job`'s build; with `failure`, up to its failing step and BuildKit's error
    section; with `size`, its install step keeps going until the log is about that many bytes."""
    rng = random.Random(f"{job.id}:log")
    python = runtime_is_python(job)
    name, version = str((job.function or {}).get("name", "function")), str((job.function or {}).get("version", ""))
    image = job.request.get("imageName", "image")
    base = "python:3.11-slim" if python else "node:20-alpine"
    install = "pip install --no-cache-dir -r requirements.txt" if python else "npm ci --omit=dev"
    steps = [
        ("WORKDIR /home/app/function", []),
        ("COPY requirements.txt ./" if python else "COPY package*.json ./", []),
    ]
    steps.append((f"RUN {install}", _pip_install(rng, size) if python else _npm_install(rng, size)))
    steps.append(("COPY . .", []))
    if not python:
        steps.append(("RUN npm run build", _npm_build(rng, name, version)))
    total = len(steps) + 1
    log = [
        '#0 building with "default" instance using docker driver',
        "",
        f"{BLUE}#1 [internal] load build definition from Dockerfile{RESET}",
        f"#1 transferring dockerfile: {rng.randint(600, 1400) / 1000:.2f}kB done",
        "#1 DONE 0.0s",
        "",
        f"{BLUE}#2 [internal] load metadata for docker.io/library/{base}{RESET}",
        f"#2 DONE {rng.uniform(0.4, 2.5):.1f}s",
        "",
        f"{BLUE}#3 [1/{total}] FROM docker.io/library/{base}@sha256:{rng.getrandbits(256):064x}{RESET}",
        "#3 CACHED",
    ]
    dockerfile = ["# syntax=docker/dockerfile:1", f"FROM docker.io/library/{base}", *(step for step, _ in steps)]
    number = 4
    for index, (instruction, output) in enumerate(steps, start=2):
        command = instruction.removeprefix("RUN ")
        log += ["", f"{BLUE}#{number} [{index}/{total}] {instruction}{RESET}"]
        failing = failure is not None and command == failure.command
        stamped = _stamped(rng, failure.output if failure is not None and failing else output)
        log += [f"#{number} {line}" for line in stamped]
        if failure is not None and failing:
            return log + _error_section(number, index, total, dockerfile, failure, stamped)
        took = float(stamped[-1].split()[0]) + rng.uniform(0.1, 0.6) if stamped else rng.uniform(0.1, 1.5)
        log.append(f"#{number} DONE {took:.1f}s")
        number += 1
    if failure is not None:  # a step this recipe does not have: it fails after the last one
        log += ["", f"{BLUE}#{number} [{total}/{total}] RUN {failure.command}{RESET}"]
        stamped = _stamped(rng, failure.output)
        log += [f"#{number} {line}" for line in stamped]
        return log + _error_section(number, total, total, [*dockerfile, f"RUN {failure.command}"], failure, stamped)
    log += [
        "",
        f"{BLUE}#{number} exporting to image{RESET}",
        f"#{number} exporting layers {rng.uniform(0.2, 3):.1f}s done",
        f"#{number} writing image sha256:{rng.getrandbits(256):064x} done",
        f"#{number} naming to {image} done",
        f"#{number} DONE {rng.uniform(0.3, 3.5):.1f}s",
    ]
    return log


def _stamped(rng: random.Random, lines: tuple[str, ...] | list[str]) -> list[str]:
    """The lines of a step's output with BuildKit's seconds since the step began."""
    clock, stamped = rng.uniform(0.2, 1.5), []
    for line in lines:
        stamped.append(f"{clock:.3f} {line}")
        clock += rng.uniform(0.001, 0.3)
    return stamped


def _error_section(
    number: int, index: int, total: int, dockerfile: list[str], failure: Failure, stamped: list[str]
) -> list[str]:
    """BuildKit's report of a failed step: the error, the step's last output, the Dockerfile around it."""
    if failure.exit_code is None:  # cancelled: the registry's timeout stopped it
        return [f"{YELLOW}#{number} CANCELED{RESET}", f"{RED}ERROR: failed to solve: Canceled: context canceled{RESET}"]
    process = f'process "/bin/sh -c {failure.command}" did not complete successfully: exit code: {failure.exit_code}'
    section = [f"{RED}#{number} ERROR: {process}{RESET}", "------", f" > [{index}/{total}] RUN {failure.command}:"]
    section += [*stamped[-10:], "------"]
    line = dockerfile.index(f"RUN {failure.command}") + 1
    section += [f"Dockerfile:{line}", "--------------------"]
    for shown in range(max(1, line - 2), min(len(dockerfile), line + 2) + 1):
        marker = ">>>" if shown == line else "   "
        section.append(f"  {shown:>2} | {marker} {dockerfile[shown - 1]}")
    section += ["--------------------", f"{RED}ERROR: failed to solve: {process}{RESET}"]
    return section


def _npm_install(rng: random.Random, size: int) -> list[str]:
    lines = [
        f"{_NPM_WARN} inflight@1.0.6: This module is not supported, and leaks memory. Do not use it.",
        f"{_NPM_WARN} glob@7.2.3: Glob versions prior to v9 are no longer supported",
    ]
    total = 0
    while size and total < size:  # the verbose install of a huge dependency tree
        package = f"pkg-{rng.getrandbits(24):06x}"
        line = f"{_NPM_HTTP} GET 200 https://registry.npmjs.org/{package} {rng.randint(3, 400)}ms (cache miss)"
        lines.append(line)
        total += len(line) + 12  # with the step's "#N 12.345 " prefix
    packages = rng.randint(40, 900)
    lines += [
        "",
        f"added {packages} packages, and audited {packages + 1} packages in {rng.randint(2, 60)}s",
        "",
        f"{rng.randint(5, 120)} packages are looking for funding",
        "  run `npm fund` for details",
        "",
        f"found {BOLD}{GREEN}0{RESET} vulnerabilities",
    ]
    return lines


def _npm_build(rng: random.Random, name: str, version: str) -> list[str]:
    seconds = rng.uniform(1.5, 9)
    return [
        "",
        f"> {name}@{version} build",
        "> tsc -p .",
        "",
        f"\x1b[38;5;40m\u2714\x1b[0m compiled {rng.randint(3, 40)} files in {seconds:.1f}s",
    ]


def _pip_install(rng: random.Random, size: int) -> list[str]:
    packages = rng.sample(["numpy", "pandas", "scikit-learn", "requests", "pydantic", "joblib"], 3)
    if size:  # a huge requirements file
        packages += [f"pkg-{rng.getrandbits(24):06x}" for _ in range(size // 300)]
    lines = []
    for package in packages:
        version = f"{rng.randint(1, 2)}.{rng.randint(0, 26)}.{rng.randint(0, 9)}"
        megabytes = rng.uniform(0.1, 40)
        lines += [
            f"Collecting {package}=={version}",
            f"  Downloading {package}-{version}-cp311-cp311-manylinux_2_17_x86_64.whl ({megabytes:.1f} MB)",
            f"     {_PIP_BAR} {GREEN}{megabytes:.1f}/{megabytes:.1f} MB{RESET} {RED}{rng.uniform(5, 90):.1f} MB/s"
            f"{RESET} eta {CYAN}0:00:00{RESET}",
        ]
    lines += [
        "Installing collected packages: " + ", ".join(line.split()[1].split("==")[0] for line in lines[::3]),
        "Successfully installed " + " ".join(line.split()[1].replace("==", "-") for line in lines[::3]),
        f"{YELLOW}WARNING: Running pip as the 'root' user can result in broken permissions and conflicting "
        f"behaviour with the system package manager.{RESET}",
    ]
    return lines
