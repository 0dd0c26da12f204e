"""`manage.py check --deploy` with the production environment of the README: clean."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from cryptography.fernet import Fernet

from tests.fixtures.processes import ROOT


def production_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JOBSDASH_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="jobsdash.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        JOBSDASH_CREDENTIALS_KEY=Fernet.generate_key().decode(),
        DJANGO_ALLOWED_HOSTS="jobs.example.com",
        JOBSDASH_SECURE_COOKIES="true",
        JOBSDASH_SSL_REDIRECT="true",
        JOBSDASH_HSTS_SECONDS="31536000",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        REDIS_URL="redis://127.0.0.1:6379/15",
    )
    return env


def test_check_deploy_is_clean_with_the_production_environment() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output
