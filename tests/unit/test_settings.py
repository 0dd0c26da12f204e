"""Settings parsing: good values configure the right backends, bad values stop start-up naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from jobsdash import settings as s
from tests.fixtures.processes import ROOT

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'cache': s.CACHES['default']['BACKEND'], "
    "'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, "
    "'frames': s.FRAME_ANCESTORS, 'ttl': s.CACHE_TTL_LIST, 'retries': s.UPSTREAM_RETRY_DELAYS, "
    "'streams': s.UPSTREAM_MAX_STREAMS, 'ready': s.READY_CHECK_TIMEOUT}))"
)
_OURS = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "JOBSDASH_")


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    clean["DJANGO_SETTINGS_MODULE"] = "jobsdash.settings"
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def _settings(**env: str) -> dict:
    result = _start(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_runs_a_bare_checkout_on_sqlite_locmem_and_in_memory_layer() -> None:
    got = _settings()
    assert got["db"] == "django.db.backends.sqlite3"
    assert got["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert got["layer"] == "channels.layers.InMemoryChannelLayer"
    assert got["debug"] is True


def test_it_uses_postgres_and_redis_when_given() -> None:
    got = _settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/test", REDIS_URL="redis://127.0.0.1:6379/3")
    assert got["db"] == "django.db.backends.postgresql"
    assert got["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert got["layer"] == "channels_redis.core.RedisChannelLayer"


def test_the_upstream_and_readiness_tunables_come_from_the_environment() -> None:
    assert _settings()["retries"] == [0.2, 0.5]
    got = _settings(
        JOBSDASH_UPSTREAM_RETRY_DELAYS="1 2.5,4",
        JOBSDASH_UPSTREAM_MAX_STREAMS="7",
        JOBSDASH_READY_CHECK_TIMEOUT="0.5",
    )
    assert (got["retries"], got["streams"], got["ready"]) == ([1.0, 2.5, 4.0], 7, 0.5)
    assert _settings(JOBSDASH_UPSTREAM_RETRY_DELAYS="")["retries"] == []  # no retry


def test_it_reads_lists_with_commas_or_spaces() -> None:
    got = _settings(
        DJANGO_ALLOWED_HOSTS="a.example, b.example  c.example",
        JOBSDASH_FRAME_ANCESTORS="https://portal.example https://x.example:8443,",
    )
    assert got["hosts"] == ["a.example", "b.example", "c.example"]
    assert got["frames"] == ["https://portal.example", "https://x.example:8443"]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "nosuchdb://x/y"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://127.0.0.1:notaport"}, "REDIS_URL"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"DJANGO_DEBUG": "false"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "x" * 50}, "JOBSDASH_CREDENTIALS_KEY"),
        ({"JOBSDASH_CACHE_TTL_LIST": "five"}, "JOBSDASH_CACHE_TTL_LIST"),
        ({"JOBSDASH_FRAME_ANCESTORS": "portal.example"}, "JOBSDASH_FRAME_ANCESTORS"),
        ({"JOBSDASH_CSRF_TRUSTED_ORIGINS": "https://a.example/path"}, "JOBSDASH_CSRF_TRUSTED_ORIGINS"),
        ({"JOBSDASH_UPSTREAM_REQUEST_TIMEOUT": "0"}, "JOBSDASH_UPSTREAM_REQUEST_TIMEOUT"),
        ({"JOBSDASH_UPSTREAM_RETRY_DELAYS": "0.2 soon"}, "JOBSDASH_UPSTREAM_RETRY_DELAYS"),
        ({"JOBSDASH_UPSTREAM_MAX_STREAMS": "0"}, "JOBSDASH_UPSTREAM_MAX_STREAMS"),
        ({"JOBSDASH_READY_CHECK_TIMEOUT": "inf"}, "JOBSDASH_READY_CHECK_TIMEOUT"),
        ({"JOBSDASH_BENCH_VIEWS": "maybe"}, "JOBSDASH_BENCH_VIEWS"),
        ({"JOBSDASH_LIVE_LEASE_TTL": "soon"}, "JOBSDASH_LIVE_LEASE_TTL"),
        ({"JOBSDASH_LIVE_LINGER": "-1"}, "JOBSDASH_LIVE_LINGER"),
        ({"JOBSDASH_LIVE_BUFFER_SIZE": "0"}, "JOBSDASH_LIVE_BUFFER_SIZE"),
    ],
)
def test_it_refuses_to_start_on_a_bad_value_naming_it(env: dict[str, str], named: str) -> None:
    result = _start(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]


def test_env_helpers_parse_and_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "Off")
    monkeypatch.setenv("X_INT", "-3")
    monkeypatch.setenv("X_URL", "redis://h:1/0")
    assert s.env_bool("X_BOOL", True) is False
    assert s.env_bool("X_UNSET", True) is True
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        s.env_int("X_INT", 1)
    monkeypatch.setenv("X_FLOAT", " 0.25 ")
    monkeypatch.setenv("X_FLOATS", "0.2, 0.5 1")
    monkeypatch.setenv("X_NONE", "")
    assert s.env_float("X_FLOAT", 1.0) == 0.25
    with pytest.raises(ImproperlyConfigured, match="X_FLOAT"):
        s.env_float("X_FLOAT", 1.0, minimum=1.0)
    assert s.env_floats("X_FLOATS", ()) == (0.2, 0.5, 1.0)
    assert s.env_floats("X_NONE", (1.0,)) == ()  # set but empty: none
    assert s.env_floats("X_UNSET", (1.0,)) == (1.0,)
    assert s.env_url("X_URL", schemes=("redis",)) == "redis://h:1/0"
    with pytest.raises(ImproperlyConfigured, match="X_URL"):
        s.env_url("X_URL", schemes=("https",))


def test_the_float_helper_reads_numbers_and_refuses_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLOAT", " 2.5 ")
    assert s.env_float("X_FLOAT", 1.0) == 2.5
    assert s.env_float("X_UNSET", 1.5) == 1.5
    for bad in ("nan", "inf", "0.001", "later"):
        monkeypatch.setenv("X_FLOAT", bad)
        with pytest.raises(ImproperlyConfigured, match="X_FLOAT"):
            s.env_float("X_FLOAT", 1.0, minimum=0.01)
