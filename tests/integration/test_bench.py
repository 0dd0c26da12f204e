"""Smoke tests of `manage.py bench`: it runs end to end with tiny sizes and prints its tables.
Timings are never asserted (they belong to the benchmark's report, not to a test)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.fixtures.processes import ROOT


def _bench(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", "bench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _tables(output: str) -> list[list[list[str]]]:
    """The cells of each markdown table's rows in `output`, header and separator excluded."""
    tables: list[list[list[str]]] = []
    previous = False
    for line in output.splitlines():
        is_row = line.startswith("|")
        if is_row and not previous:
            tables.append([])
        if is_row and not set(line) <= set("|-"):
            tables[-1].append([cell.strip() for cell in line.strip("|").split("|")])
        previous = is_row
    return [rows[1:] for rows in tables]


def _rows(output: str) -> list[list[str]]:
    """The cells of the markdown table rows of `output`, header and separator excluded."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def test_it_says_what_it_measures() -> None:
    result = _bench("--help", timeout=60)
    assert result.returncode == 0
    for words in ("pages", "fanout", "soak", "/healthz", "1.5x", "1,000 rows", "40 KiB"):
        assert words in result.stdout


def test_it_measures_pages_side_by_side() -> None:
    result = _bench("pages", "--seconds", "0.5", "--warmup", "0.2", "--burst", "5", "--bursts", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    steady, bursts = _tables(result.stdout)
    assert [row[0] for row in steady] == [
        "logged-in trivial view",
        "list API, warm",
        "list page, warm, 100 rows",
        "list page, warm, 1,000 rows",
        "failed job page, warm",
        "list API, cold (every request misses)",
    ]
    for row in steady:
        assert int(row[1]) > 0, row  # requests measured, each paired with a probe
        assert row[2] == "0", row  # no errors
        assert row[8].endswith("x") and row[9].endswith("x"), row  # the ratios to the probe
    assert all(int(row[-1]) == 0 for row in steady[:5])  # warm means answered from the cache
    assert int(steady[5][-1]) == int(steady[5][1])  # cold means every request went upstream
    # The incident link: each round a fresh link, which the cache answers after one upstream call.
    assert [row[0] for row in bursts] == ["1", "2"]
    assert all(row[4] == "1" and row[5] == "0" for row in bursts), bursts
    for target in ("list API, warm: within 1.5x", "list page, warm, 100 rows: within 3x", "incident link"):
        assert target in result.stdout


def test_it_measures_fanout_against_the_ceiling() -> None:
    result = _bench("fanout", "--sockets", "5", "--events", "3", "--settle", "0.2")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _rows(result.stdout)
    assert [row[0] for row in rows] == ["jobsdash (daphne + relay)", "bare websockets broadcast (ceiling)"]
    for row in rows:
        assert row[1:4] == ["5", "3", "0"], row  # every socket connected and got every event
    assert "Targets: p99 within 2x the ceiling" in result.stdout


def test_it_soaks_with_sockets_and_requests() -> None:
    result = _bench(
        "soak", "--sockets", "3", "--minutes", "0.1", "--window", "2", "--rate", "10", "--event-every", "0.5"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _rows(result.stdout)
    assert [row[0] for row in rows] == ["0:00-0:02", "0:02-0:04", "0:04-0:06"]
    for row in rows:
        assert int(row[1]) > 0 and row[2] == "0", row  # requests, none failed
        assert row[6] == "0", row  # no event lost
    assert "3 sockets," in result.stdout
    assert "Targets: zero errors: 0 -> met" in result.stdout


def test_it_reads_percentiles_and_growth_as_documented() -> None:
    from jobsdash.bench.stats import percentile, slope

    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50.0, 99.0, 100.0)
    assert slope([(0.0, 10.0), (1.0, 12.0), (2.0, 14.0)]) == 2.0
    assert slope([(0.0, 10.0), (1.0, 9.0), (2.0, 10.0), (3.0, 9.0)]) < 0.0
