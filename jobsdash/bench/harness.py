"""Start the processes a benchmark measures, on 127.0.0.1 only, and always stop them.

    with Harness() as harness:
        target = harness.start(list_ttl=3600)     # simulator + migrated temp DB + ONE daphne
        ...                                       # measure target.app_url as target.username
    # every subprocess is gone here, on success, error or Ctrl-C

Each process runs in its own session (process group) and is stopped with SIGTERM, then SIGKILL
after a grace period. Logs go to files in a temporary folder; a process that dies early raises
BenchError with the tail of its log.
"""

from __future__ import annotations

import base64
import logging
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
SLUG = "bench"
USERNAME = "bench"
_STOP_GRACE = 5.0

_SETUP = """
import os
from django.contrib.auth.models import User
from jobsdash.tenants.models import Membership, Tenant
env = os.environ
tenant = Tenant(slug=env["BENCH_SLUG"], name="Bench", gateway_url=env["BENCH_GATEWAY"], api_key=env["BENCH_KEY"])
tenant.set_api_secret(env["BENCH_SECRET"])
tenant.save()
user = User.objects.create_user(username=env["BENCH_USER"], password=env["BENCH_PASSWORD"])
Membership.objects.create(user=user, tenant=tenant)
"""


class BenchError(Exception):
    """The benchmark could not run (a process would not start, a login failed...)."""


@dataclass
class Target:
    """What a mode measures: the simulator, the daphne process and the bench login."""

    sim_url: str
    app_url: str
    daphne: subprocess.Popen[bytes]
    slug: str
    username: str
    password: str

    @property
    def origin(self) -> str:
        """An Origin the websocket check accepts (a host of ALLOWED_HOSTS)."""
        return self.app_url

    @property
    def ws_url(self) -> str:
        return self.app_url.replace("http://", "ws://", 1) + f"/ws/t/{self.slug}/jobs/"


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's soft limit of open files (children inherit it); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if new > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        return new
    return soft


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Harness:
    """Owns the temporary folder and every subprocess of one benchmark run."""

    def __init__(self, redis_url: str = "", say: Any = None) -> None:
        self.redis_url = redis_url
        self.say = say or (lambda text: None)
        self.workdir = Path(tempfile.mkdtemp(prefix="jobsdash-bench-"))
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def __enter__(self) -> Harness:
        raise_fd_limit()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for name, process in reversed(self.processes):
            self._stop(name, process)
        self.processes.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- processes ---------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C does not reach it; we stop it ourselves
        )
        log.close()
        self.processes.append((name, process))
        return process

    def _stop(self, name: str, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(_STOP_GRACE)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in %.0f s; killing it", name, _STOP_GRACE)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(_STOP_GRACE)
        except ProcessLookupError:
            pass

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def wait_http(self, name: str, process: subprocess.Popen[bytes], url: str, timeout: float = 30.0) -> None:
        """Poll `url` until it answers (any status), or raise when the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise BenchError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
                try:
                    client.get(url)
                    return
                except httpx.TransportError:
                    time.sleep(0.1)
        raise BenchError(f"{name} did not answer {url} within {timeout:.0f} s:\n{self.log_tail(name)}")

    def wait_tcp(self, name: str, process: subprocess.Popen[bytes], port: int, timeout: float = 30.0) -> None:
        """Wait until 127.0.0.1:`port` accepts connections, or raise when the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            try:
                socket.create_connection((HOST, port), timeout=1.0).close()
                return
            except OSError:
                time.sleep(0.1)
        raise BenchError(f"{name} did not listen on {port} within {timeout:.0f} s:\n{self.log_tail(name)}")

    def run(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        process = self.spawn(name, argv, env)
        try:
            code = process.wait(120)
        except subprocess.TimeoutExpired:
            code = -1
        if code != 0:
            raise BenchError(f"{name} failed ({code}):\n{self.log_tail(name)}")

    # --- the whole target --------------------------------------------------------------------

    def app_env(self, list_ttl: int | None) -> dict[str, str]:
        """The daphne process's environment: production-like settings, a fresh SQLite file."""
        env = {
            "DJANGO_SETTINGS_MODULE": "jobsdash.bench.settings",
            "DATABASE_URL": f"sqlite:///{self.workdir / 'bench.sqlite3'}",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "JOBSDASH_CREDENTIALS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
            "JOBSDASH_SECURE_COOKIES": "false",
            "JOBSDASH_BENCH_VIEWS": "1",
            "JOBSDASH_LOG_LEVEL": "WARNING",
            "REDIS_URL": self.redis_url,
        }
        if list_ttl is not None:
            env["JOBSDASH_CACHE_TTL_LIST"] = str(list_ttl)
        return env

    def start(self, list_ttl: int | None = None, seed: int = 1, backlog: int = 0) -> Target:
        """The simulator (`backlog` more finished jobs than its seeded week), a migrated database
        with the bench tenant and user, and ONE daphne."""
        key, secret, password = "bench-key", secrets.token_urlsafe(24), secrets.token_urlsafe(16)
        sim_port = free_port()
        sim_url = f"http://{HOST}:{sim_port}"
        self.say(f"starting the simulator on {sim_url}")
        simulator = self.spawn(
            "simulator",
            [sys.executable, "manage.py", "simulator", "--host", HOST, "--port", str(sim_port),
             "--tenant", f"{SLUG}:{key}:{secret}", "--seed", str(seed), "--rate", "0", "--backlog", str(backlog)],
        )  # fmt: skip
        env = self.app_env(list_ttl)
        self.say("migrating a temporary SQLite database")
        self.run("migrate", [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
        setup_env = {**env, "BENCH_SLUG": SLUG, "BENCH_GATEWAY": sim_url, "BENCH_KEY": key, "BENCH_SECRET": secret}
        setup_env.update({"BENCH_USER": USERNAME, "BENCH_PASSWORD": password})
        self.run("setup", [sys.executable, "manage.py", "shell", "-c", _SETUP], setup_env)
        self.wait_http("simulator", simulator, f"{sim_url}/_sim/health")
        app_port = free_port()
        app_url = f"http://{HOST}:{app_port}"
        self.say(f"starting ONE daphne process on {app_url}")
        daphne = self.spawn(
            "daphne",
            [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(app_port), "jobsdash.asgi:application"],
            env,
        )
        self.wait_http("daphne", daphne, f"{app_url}/accounts/login/")
        return Target(sim_url, app_url, daphne, SLUG, USERNAME, password)

    def start_broadcast(self) -> tuple[str, subprocess.Popen[bytes]]:
        """The bare `websockets` broadcast server (the fan-out ceiling): (ws URL, process)."""
        port = free_port()
        process = self.spawn("broadcast", [sys.executable, "-m", "jobsdash.bench.broadcast", "--port", str(port)])
        self.wait_tcp("broadcast", process, port)
        return f"ws://{HOST}:{port}", process


async def login(client: httpx.AsyncClient, target: Target) -> None:
    """Log in through the login form: `client` keeps the session cookie."""
    page = await client.get(f"{target.app_url}/accounts/login/")
    token = client.cookies.get("csrftoken")
    if page.status_code != 200 or not token:
        raise BenchError(f"the login page answered {page.status_code} without a CSRF cookie")
    answer = await client.post(
        f"{target.app_url}/accounts/login/",
        data={"username": target.username, "password": target.password, "csrfmiddlewaretoken": token},
    )
    if answer.status_code != 302 or "sessionid" not in client.cookies:
        raise BenchError(f"logging in failed: {answer.status_code}")
