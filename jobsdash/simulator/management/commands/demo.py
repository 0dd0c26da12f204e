"""`manage.py demo`: the simulator and the dashboard together, for `make run`.

Starts `manage.py simulator` (two tenants, six new jobs a minute each) on a free port, points the
demo tenants at it, creates the demo user, starts daphne for the dashboard, prints where to log
in, and stops both children on Ctrl-C (SIGINT) or SIGTERM. Run `migrate` first.
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from jobsdash.tenants.models import AuthMode, Membership, Tenant

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-jobs-dashboard"
# slug, display name, API key, auth mode
DEMO_TENANTS = [
    ("demo", "Demo (simulated registry)", "demo-key", AuthMode.BASIC),
    ("demo-ops", "Demo ops (token auth)", "demo-ops-key", AuthMode.TOKEN),
]
START_TIMEOUT = 60.0


class _Interrupted(Exception):
    """Ctrl-C while starting up."""


def _drain(pipe: IO[bytes]) -> None:
    for line in pipe:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()


class Command(BaseCommand):
    help = (
        "Run the demo: a simulated Waylay registry (new jobs every few seconds) and the dashboard "
        "under daphne. Prints the login URL and the demo user's credentials; Ctrl-C stops both."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--rate", type=float, default=6.0, help="New jobs a minute per demo tenant.")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, host: str, port: int, rate: float, seed: int, **options: Any) -> None:
        self._children: list[subprocess.Popen[bytes]] = []
        self._stopping = False
        previous = {signum: signal.signal(signum, self._on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            secrets_by_slug = {slug: secrets.token_urlsafe(24) for slug, *_ in DEMO_TENANTS}
            simulator_url = self._start_simulator(rate, seed, secrets_by_slug)
            self._prepare_database(simulator_url, secrets_by_slug)
            url = f"http://{host}:{port}"
            self._start_dashboard(host, port, url)
            self.stdout.write(
                self.style.SUCCESS(f"\njobsdash demo: log in at {url}/accounts/login/")
                + f"\n  username: {DEMO_USER}\n  password: {DEMO_PASSWORD}"
                + f"\n  simulated Waylay registry: {simulator_url} ({rate:g} new jobs a minute per tenant)"
                + "\nCtrl-C stops everything.\n"
            )
            sys.stdout.flush()
            self._wait()
        except _Interrupted:
            pass
        finally:
            self._stop_children()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _spawn(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(args, cwd=settings.BASE_DIR, **kwargs)
        self._children.append(process)
        return process

    def _start_simulator(self, rate: float, seed: int, secrets_by_slug: dict[str, str]) -> str:
        args = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "simulator", "--port", "0"]
        args += ["--rate", str(rate), "--seed", str(seed), "--keepalive", "10", "--exit-with-parent"]
        for slug, _name, key, _mode in DEMO_TENANTS:
            args += ["--tenant", f"{slug}:{key}:{secrets_by_slug[slug]}"]
        process = self._spawn(args, stdout=subprocess.PIPE)
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not self._stopping:
            if process.poll() is not None:
                raise CommandError(f"the simulator exited with status {process.returncode}")
            ready, _, _ = select.select([process.stdout], [], [], 0.2)
            if ready:
                line = process.stdout.readline().decode(errors="replace")
                if "listening on " in line:
                    # Whatever it prints later must not fill the pipe and stall it.
                    threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
                    return line.split("listening on ", 1)[1].split()[0]
        if self._stopping:
            raise _Interrupted
        raise CommandError("the simulator did not start")

    @transaction.atomic
    def _prepare_database(self, simulator_url: str, secrets_by_slug: dict[str, str]) -> None:
        """Idempotent: the same user and tenants every run, pointed at this run's simulator."""
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USER)
        user.set_password(DEMO_PASSWORD)
        user.save()
        for slug, name, key, mode in DEMO_TENANTS:
            tenant = Tenant.objects.filter(slug=slug).first() or Tenant(slug=slug)
            tenant.name, tenant.gateway_url, tenant.accounts_url = name, simulator_url, ""
            tenant.api_key, tenant.auth_mode = key, mode
            tenant.set_api_secret(secrets_by_slug[slug])
            tenant.save()
            Membership.objects.get_or_create(user=user, tenant=tenant)

    def _start_dashboard(self, host: str, port: int, url: str) -> None:
        args = [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "jobsdash.asgi:application"]
        process = self._spawn(args, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not self._stopping:
            if process.poll() is not None:
                raise CommandError(f"daphne exited with status {process.returncode} (is port {port} free?)")
            try:
                with urllib.request.urlopen(f"{url}/accounts/login/", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        if self._stopping:
            raise _Interrupted
        raise CommandError(f"the dashboard did not answer on {url} within {START_TIMEOUT:g}s")

    def _wait(self) -> None:
        while not self._stopping:
            time.sleep(0.2)
            exited = [process for process in self._children if process.poll() is not None]
            if exited and not self._stopping:
                time.sleep(0.5)  # a terminal's Ctrl-C reaches the children too; let ours arrive
                if not self._stopping:
                    raise CommandError(f"{exited[0].args[1:3]} exited with status {exited[0].returncode}")

    def _stop_children(self) -> None:
        for process in self._children:
            if process.poll() is None:
                process.terminate()
        for process in self._children:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._children:
            self.stdout.write("jobsdash demo stopped.")
