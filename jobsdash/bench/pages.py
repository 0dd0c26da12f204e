"""`bench pages`: throughput and latency of the list page and API, warm and cold, against the
cheapest logged-in view, side by side on ONE daphne process.

Each scenario runs a closed loop of `concurrency` workers sharing one logged-in httpx client for
`seconds` (after `warmup` seconds whose numbers are dropped). Warm scenarios repeat one URL, so
after the first request the per-tenant cache answers (the list TTL is raised for this run);
the cold scenario gives every request its own `createdBefore`, so every request misses and goes
to the simulator. Upstream list calls are counted at the simulator per scenario, which shows
that warm really was warm and cold really was cold.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from jobsdash.bench.harness import Harness, Target, login
from jobsdash.bench.stats import machine_line, ms, percentile, ratio, table

WARM_TTL = 3600  # seconds: the warm scenarios must not see their entry expire mid-run
_REQUEST_TIMEOUT = 30.0


@dataclass
class PagesOptions:
    concurrency: int = 8
    seconds: float = 10.0
    warmup: float = 2.0
    max_requests: int = 200_000  # per scenario: a bound on top of the time
    upstream_latency_ms: int = 0


@dataclass
class Result:
    name: str
    path: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    elapsed: float = 0.0
    upstream_calls: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)


async def drive(
    client: httpx.AsyncClient,
    url_of: Callable[[int], str],
    result: Result,
    concurrency: int,
    seconds: float,
    max_requests: int,
    start_index: int = 0,
) -> int:
    """Closed loop: `concurrency` workers request url_of(i) for i = start_index, ... until time or
    `max_requests` runs out. Latencies of 200s go to `result`; anything else counts as an error.
    Returns the next unused index."""
    next_index = start_index
    stop_index = start_index + max_requests
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal next_index
        while time.monotonic() < deadline and next_index < stop_index:
            index, next_index = next_index, next_index + 1
            began = time.perf_counter()
            try:
                response = await client.get(url_of(index))
                problem = "" if response.status_code == 200 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            spent = time.perf_counter() - began
            if problem:
                result.errors += 1
                result.first_error = result.first_error or problem
            else:
                result.latencies.append(spent)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed += time.perf_counter() - began
    return next_index


async def _list_calls(sim: httpx.AsyncClient, target: Target) -> int:
    stats = (await sim.get(f"{target.sim_url}/_sim/stats")).json()
    return int(stats["requests"].get(target.slug, {}).get("list", 0))


def scenarios(target: Target) -> list[tuple[str, str, Callable[[int], str]]]:
    """(name, what is requested, index -> URL) of each scenario, the ceiling first."""
    base, slug = target.app_url, target.slug
    # Distinct past timestamps, one second apart: each is its own cache key and a real query.
    origin = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    def cold(index: int) -> str:
        stamp = (origin - timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{base}/api/t/{slug}/jobs/?createdBefore={stamp}"

    return [
        ("trivial view (ceiling)", "/bench/trivial", lambda i: f"{base}/bench/trivial"),
        ("list API, warm cache", f"/api/t/{slug}/jobs/", lambda i: f"{base}/api/t/{slug}/jobs/"),
        ("list page, warm cache", f"/t/{slug}/jobs/", lambda i: f"{base}/t/{slug}/jobs/"),
        ("list API, cold (every request misses)", f"/api/t/{slug}/jobs/?createdBefore=<distinct>", cold),
    ]


async def measure(target: Target, options: PagesOptions, say: Callable[[str], None]) -> list[Result]:
    limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
    async with (
        httpx.AsyncClient(timeout=_REQUEST_TIMEOUT, limits=limits, trust_env=False) as client,
        httpx.AsyncClient(timeout=_REQUEST_TIMEOUT, trust_env=False) as sim,
    ):
        await login(client, target)
        if options.upstream_latency_ms:
            faults = {"latency_ms": options.upstream_latency_ms, "endpoints": ["list"]}
            (await sim.post(f"{target.sim_url}/_sim/faults", json=faults)).raise_for_status()
        results = []
        for name, path, url_of in scenarios(target):
            say(f"measuring {name}: {options.concurrency} in flight, {options.warmup:g} + {options.seconds:g} s")
            # The warm-up fills the cache (warm) or just warms the code paths (cold, other keys).
            after = await drive(
                client, url_of, Result(name, path), options.concurrency, options.warmup, options.max_requests
            )
            result = Result(name, path)
            calls = await _list_calls(sim, target)
            await drive(client, url_of, result, options.concurrency, options.seconds, options.max_requests, after)
            result.upstream_calls = await _list_calls(sim, target) - calls
            results.append(result)
    return results


def report(results: list[Result], options: PagesOptions) -> str:
    ceiling = results[0]
    header = [
        "scenario",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p50 / ceiling",
        "p99 / ceiling",
        "upstream calls",
    ]
    rows = [
        [
            r.name,
            str(len(r.latencies)),
            str(r.errors),
            f"{r.rate:.0f}",
            ms(r.p50),
            ms(r.p99),
            ratio(r.p50, ceiling.p50),
            ratio(r.p99, ceiling.p99),
            str(r.upstream_calls),
        ]
        for r in results
    ]
    lines = [table(header, rows), ""]
    warm_api = results[1]
    worst = (
        max(warm_api.p50 / ceiling.p50, warm_api.p99 / ceiling.p99)
        if ceiling.latencies and warm_api.latencies
        else float("nan")
    )
    verdict = "met" if worst <= 1.5 else "MISSED"
    lines.append(
        f"Target: warm-cache list API within 1.5x the trivial view: p50 {ratio(warm_api.p50, ceiling.p50)}, "
        f"p99 {ratio(warm_api.p99, ceiling.p99)} -> {verdict}."
    )
    for r in results:
        if r.errors:
            lines.append(f"{r.name}: {r.errors} errors, first: {r.first_error}")
    if options.upstream_latency_ms:
        lines.append(f"Simulator list latency added: {options.upstream_latency_ms} ms.")
    lines.append(machine_line())
    return "\n".join(lines)


def run(options: PagesOptions, redis_url: str, say: Callable[[str], None]) -> str:
    """Start everything, measure, stop everything; the report (markdown)."""
    with Harness(redis_url=redis_url, say=say) as harness:
        target = harness.start(list_ttl=WARM_TTL)
        results = asyncio.run(measure(target, options, say))
        if target.daphne.poll() is not None:
            say(f"daphne exited during the run:\n{harness.log_tail('daphne')}")
    return report(results, options)
