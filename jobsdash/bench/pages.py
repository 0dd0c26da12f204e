"""`bench pages`: what the pages and the API cost, each against `/healthz` of the same daphne
process, paired and interleaved, so that both see the same machine at the same moment.

- Steady scenarios: a closed loop of `concurrency` workers (one by default) sharing one
  logged-in httpx client, for `seconds` after `warmup` seconds whose numbers are dropped. Each
  worker requests the scenario's URL, then `/healthz`, then the URL again...: the ratio of their
  latencies (p50 to p50, p99 to p99) is the figure. With one request in flight the ratio is what
  a page costs against what the probe costs; with more, requests queue behind each other for the
  one process's CPU, and the probe's latency takes in the pages' (the incident link below is the
  scenario of many at once). Warm scenarios repeat one URL, so after the first request the
  per-tenant cache answers (the list TTL is raised for the run); the cold one gives every request
  its own `createdBefore`, so every request misses and goes to the simulator.
- The incident link: `burst` browsers open one fresh link at the same moment (a list URL nobody
  asked for before, so the cache is cold), against `burst` simultaneous `/healthz`: the time
  until the last page arrived, against the time until the last probe did, over `bursts` rounds
  with a fresh link each. Upstream calls are counted at the simulator: the round must cost one.

Upstream calls (list and get) are counted at the simulator per scenario, which shows that warm
really was warm and cold really was cold. The simulator holds `backlog` more finished jobs than
its seeded week, so that a list of 1,000 rows exists.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx

from jobsdash.bench.harness import BenchError, Harness, Target, login
from jobsdash.bench.stats import machine_line, ms, percentile, ratio, table

WARM_TTL = 3600  # seconds: the warm scenarios must not see their entry expire mid-run
BACKLOG = 1000  # finished jobs the simulator adds to its week, for the 1,000-row list
_REQUEST_TIMEOUT = 60.0
PROBE = "/healthz"


@dataclass
class PagesOptions:
    concurrency: int = 1
    seconds: float = 10.0
    warmup: float = 2.0
    max_requests: int = 200_000  # per scenario: a bound on top of the time
    upstream_latency_ms: int = 0
    burst: int = 100
    bursts: int = 5


@dataclass
class Latencies:
    values: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    def add(self, spent: float, problem: str) -> None:
        if problem:
            self.errors += 1
            self.first_error = self.first_error or problem
        else:
            self.values.append(spent)

    @property
    def p50(self) -> float:
        return percentile(self.values, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.values, 0.99)


@dataclass
class Scenario:
    name: str
    path: str  # what is requested, for the report
    url_of: Callable[[int], str]
    target: float | None = None  # the ratio to the probe it must stay within, if any


@dataclass
class Result:
    scenario: Scenario
    page: Latencies = field(default_factory=Latencies)
    probe: Latencies = field(default_factory=Latencies)
    elapsed: float = 0.0
    upstream_calls: int = 0

    @property
    def rate(self) -> float:
        return len(self.page.values) / self.elapsed if self.elapsed else 0.0

    @property
    def worst_ratio(self) -> float:
        if not self.page.values or not self.probe.values:
            return float("nan")
        return max(self.page.p50 / self.probe.p50, self.page.p99 / self.probe.p99)


@dataclass
class Burst:
    """One round of the incident link: the last page's time and the last probe's, and the upstream
    calls the round made."""

    page_last: float
    probe_last: float
    upstream_calls: int
    errors: int
    first_error: str = ""

    @property
    def ratio(self) -> float:
        return self.page_last / self.probe_last if self.probe_last else float("nan")


async def _get(client: httpx.AsyncClient, url: str) -> tuple[float, str]:
    began = time.perf_counter()
    try:
        response = await client.get(url)
        problem = "" if response.status_code == 200 else f"HTTP {response.status_code} for {url}"
    except httpx.HTTPError as exc:
        problem = f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - began, problem


async def drive(
    client: httpx.AsyncClient,
    target: Target,
    scenario: Scenario,
    result: Result,
    options: PagesOptions,
    seconds: float,
    first: int = 0,
) -> int:
    """Closed loop, interleaved: each of `concurrency` workers requests the scenario's URL, then
    the probe, until time or `most` requests run out. Returns the next unused index."""
    next_index, stop_index = first, first + options.max_requests
    deadline = time.monotonic() + seconds
    probe = f"{target.app_url}{PROBE}"

    async def worker() -> None:
        nonlocal next_index
        while time.monotonic() < deadline and next_index < stop_index:
            index, next_index = next_index, next_index + 1
            result.page.add(*await _get(client, scenario.url_of(index)))
            result.probe.add(*await _get(client, probe))

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(options.concurrency)))
    result.elapsed += time.perf_counter() - began
    return next_index


async def _upstream_calls(sim: httpx.AsyncClient, target: Target) -> int:
    stats = (await sim.get(f"{target.sim_url}/_sim/stats")).json()
    counts = stats["requests"].get(target.slug, {})
    return int(counts.get("list", 0)) + int(counts.get("get", 0))


def _past(index: int) -> str:
    """A distinct past timestamp per index, one second apart: each its own cache key and query."""
    moment = _ORIGIN - timedelta(seconds=index)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_ORIGIN = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


async def _failed_job_page(client: httpx.AsyncClient, target: Target) -> str:
    """A failed job's page with a family (a verify flow), as an incident link points at."""
    listed = await client.get(
        f"{target.app_url}/api/t/{target.slug}/jobs/", params={"state": "failed", "type": "verify"}
    )
    jobs = listed.json().get("jobs", []) if listed.status_code == 200 else []
    if not jobs:
        raise BenchError(f"the simulator lists no failed verify job ({listed.status_code})")
    job = jobs[0]
    return f"/t/{target.slug}/jobs/{job['type']}/{quote(job['id'], safe='')}/"


def scenarios(target: Target, failed_job: str) -> list[Scenario]:
    base, slug = target.app_url, target.slug
    return [
        Scenario("logged-in trivial view", "/bench/trivial", lambda i: f"{base}/bench/trivial"),
        Scenario("list API, warm", f"/api/t/{slug}/jobs/", lambda i: f"{base}/api/t/{slug}/jobs/", 1.5),
        Scenario(
            "list page, warm, 100 rows",
            f"/t/{slug}/jobs/?limit=100",
            lambda i: f"{base}/t/{slug}/jobs/?limit=100",
            3.0,
        ),
        Scenario(
            "list page, warm, 1,000 rows",
            f"/t/{slug}/jobs/?limit=1000",
            lambda i: f"{base}/t/{slug}/jobs/?limit=1000",
            10.0,
        ),
        Scenario("failed job page, warm", failed_job, lambda i: f"{base}{failed_job}", 3.0),
        Scenario(
            "list API, cold (every request misses)",
            f"/api/t/{slug}/jobs/?createdBefore=<distinct>",
            lambda i: f"{base}/api/t/{slug}/jobs/?createdBefore={_past(i)}",
        ),
    ]


async def _burst_round(
    browsers: httpx.AsyncClient, sim: httpx.AsyncClient, target: Target, size: int, index: int
) -> Burst:
    probe = f"{target.app_url}{PROBE}"
    began = time.perf_counter()
    probes = await asyncio.gather(*(_get(browsers, probe) for _ in range(size)))
    probe_last = time.perf_counter() - began
    link = f"{target.app_url}/t/{target.slug}/jobs/?createdBefore={_past(1_000_000 + index)}&limit=100"
    calls = await _upstream_calls(sim, target)
    began = time.perf_counter()
    pages = await asyncio.gather(*(_get(browsers, link) for _ in range(size)))
    page_last = time.perf_counter() - began
    problems = [problem for _, problem in (*probes, *pages) if problem]
    return Burst(
        page_last, probe_last, await _upstream_calls(sim, target) - calls, len(problems), (problems or [""])[0]
    )


async def measure(
    target: Target, options: PagesOptions, say: Callable[[str], None]
) -> tuple[list[Result], list[Burst]]:
    limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
    wide = httpx.Limits(max_connections=options.burst, max_keepalive_connections=options.burst)
    async with (
        httpx.AsyncClient(timeout=_REQUEST_TIMEOUT, limits=limits, trust_env=False) as client,
        httpx.AsyncClient(timeout=_REQUEST_TIMEOUT, limits=wide, trust_env=False) as browsers,
        httpx.AsyncClient(timeout=_REQUEST_TIMEOUT, trust_env=False) as sim,
    ):
        await login(client, target)
        await login(browsers, target)
        if options.upstream_latency_ms:
            faults = {"latency_ms": options.upstream_latency_ms, "endpoints": ["list", "get"]}
            (await sim.post(f"{target.sim_url}/_sim/faults", json=faults)).raise_for_status()
        results = []
        for scenario in scenarios(target, await _failed_job_page(client, target)):
            pace = f"{options.concurrency} in flight, {options.warmup:g} + {options.seconds:g} s"
            say(f"measuring {scenario.name}: {pace}")
            # The warm-up fills the cache (warm) or just warms the code paths (cold, other keys).
            warm = Result(scenario)
            after = await drive(client, target, scenario, warm, options, options.warmup)
            result = Result(scenario)
            calls = await _upstream_calls(sim, target)
            await drive(client, target, scenario, result, options, options.seconds, after)
            result.upstream_calls = await _upstream_calls(sim, target) - calls
            results.append(result)
        bursts = []
        for index in range(options.bursts):
            say(f"incident link, round {index + 1} of {options.bursts}: {options.burst} browsers at once")
            bursts.append(await _burst_round(browsers, sim, target, options.burst, index))
    return results, bursts


def report(results: list[Result], bursts: list[Burst], options: PagesOptions) -> str:
    header = [
        "scenario",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "/healthz p50 ms",
        "/healthz p99 ms",
        "p50 / probe",
        "p99 / probe",
        "target",
        "upstream calls",
    ]
    rows = [
        [
            r.scenario.name,
            str(len(r.page.values)),
            str(r.page.errors + r.probe.errors),
            f"{r.rate:.0f}",
            ms(r.page.p50),
            ms(r.page.p99),
            ms(r.probe.p50),
            ms(r.probe.p99),
            ratio(r.page.p50, r.probe.p50),
            ratio(r.page.p99, r.probe.p99),
            f"{r.scenario.target:g}x" if r.scenario.target else "-",
            str(r.upstream_calls),
        ]
        for r in results
    ]
    lines = [table(header, rows), ""]
    burst_header = ["round", "last page ms", "last /healthz ms", "ratio", "upstream calls", "errors"]
    burst_rows = [
        [str(n), ms(b.page_last), ms(b.probe_last), f"{b.ratio:.2f}x", str(b.upstream_calls), str(b.errors)]
        for n, b in enumerate(bursts, start=1)
    ]
    lines += [
        f"Incident link: {options.burst} simultaneous opens of one fresh link (a list of 100 rows, cold cache) "
        f"against {options.burst} simultaneous {PROBE}, one fresh link per round:",
        "",
        table(burst_header, burst_rows),
        "",
    ]
    lines.append("Targets (ratio to /healthz of the same process, the worse of p50 and p99):")
    for r in results:
        if r.scenario.target:
            verdict = "met" if r.worst_ratio <= r.scenario.target else "MISSED"
            lines.append(f"- {r.scenario.name}: within {r.scenario.target:g}x: {r.worst_ratio:.2f}x -> {verdict}")
    if bursts:
        median = statistics.median(b.ratio for b in bursts)
        calls = sorted({b.upstream_calls for b in bursts})
        verdict = "met" if median <= 3.0 and calls == [1] else "MISSED"
        lines.append(
            f"- incident link: exactly 1 upstream call per round (calls: {', '.join(map(str, calls))}) and the last "
            f"page within 3x of the last probe (median {median:.2f}x, worst {max(b.ratio for b in bursts):.2f}x) "
            f"-> {verdict}"
        )
    for r in results:
        for what, latencies in (("page", r.page), ("probe", r.probe)):
            if latencies.errors:
                lines.append(f"{r.scenario.name}: {latencies.errors} {what} errors, first: {latencies.first_error}")
    for n, b in enumerate(bursts, start=1):
        if b.errors:
            lines.append(f"incident link round {n}: {b.errors} errors, first: {b.first_error}")
    if options.upstream_latency_ms:
        lines.append(f"Simulator list and get latency added: {options.upstream_latency_ms} ms.")
    lines.append(machine_line())
    return "\n".join(lines)


def run(options: PagesOptions, redis_url: str, say: Callable[[str], None]) -> str:
    """Start everything, measure, stop everything; the report (markdown)."""
    with Harness(redis_url=redis_url, say=say) as harness:
        target = harness.start(list_ttl=WARM_TTL, backlog=BACKLOG)
        results, bursts = asyncio.run(measure(target, options, say))
        if target.daphne.poll() is not None:
            say(f"daphne exited during the run:\n{harness.log_tail('daphne')}")
    return report(results, bursts, options)
