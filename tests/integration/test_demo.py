"""`manage.py demo` (what `make run` runs): the dashboard answers, Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.fixtures.processes import ROOT, free_port


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    """A database of its own (the demo writes a user and tenants), migrated, and no Redis."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    return env


def test_the_demo_serves_the_dashboard_and_stops_on_ctrl_c(demo_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port)],
            cwd=ROOT,
            env=demo_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "log in at" not in log_path.read_text():
            assert demo.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        output = log_path.read_text()
        assert f"http://127.0.0.1:{port}/accounts/login/" in output
        assert "username: demo" in output and "password: " in output
        page = httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10)
        assert page.status_code == 200 and 'name="password"' in page.text
        children = psutil.Process(demo.pid).children()
        assert len(children) == 2  # the simulator and daphne

        demo.send_signal(signal.SIGINT)
        assert demo.wait(30) == 0, log_path.read_text()
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
