"""`bench soak`: N websockets plus a steady stream of page and API requests and upstream events,
for minutes, on ONE daphne process; errors, latency and RSS per time window.

Requests are paced (open loop: request i is due at start + i / rate, sent late if every worker
is busy) and rotate over the list page and API (plain and filtered) and a job's detail page and
API, with the default cache TTLs, so the cache both hits and misses as in real use. Every
`event_every` seconds an upstream event is pushed into the simulator's stream and timed to every
socket. An error is any non-200 answer or failed request, any socket the server closed, any
event a socket did not get.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import psutil

from jobsdash.bench.fanout import event_data
from jobsdash.bench.harness import Harness, Target, login
from jobsdash.bench.stats import machine_line, ms, percentile, slope, table
from jobsdash.bench.wsclients import SocketPool

_TIMEOUT = 30.0
_GRACE = 10.0  # seconds the last events get to arrive after the run
_RSS_EVERY = 5.0


@dataclass
class SoakOptions:
    sockets: int = 1000
    minutes: float = 3.0
    window: float = 30.0
    rate: float = 20.0  # requests a second
    workers: int = 16
    event_every: float = 2.0
    payload_bytes: int = 1000


@dataclass
class SoakRecord:
    requests: list[tuple[float, float, bool]] = field(default_factory=list)  # (at, seconds, ok)
    errors: Counter[str] = field(default_factory=Counter)
    events: list[tuple[float, int]] = field(default_factory=list)  # (at, seq)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (at, bytes)
    connect_errors: list[str] = field(default_factory=list)
    sockets: int = 0
    dropped: int = 0
    latencies: dict[int, list[float]] = field(default_factory=dict)
    expected: dict[int, int] = field(default_factory=dict)
    duration: float = 0.0


def _urls(target: Target, job: dict[str, str] | None) -> list[str]:
    base, slug = target.app_url, target.slug
    urls = [
        f"{base}/t/{slug}/jobs/",
        f"{base}/api/t/{slug}/jobs/",
        f"{base}/t/{slug}/jobs/?state=failed&type=build",
        f"{base}/api/t/{slug}/jobs/?limit=20",
    ]
    if job:
        path = f"{quote(job['type'], safe='')}/{quote(job['id'], safe='')}/"
        urls += [f"{base}/t/{slug}/jobs/{path}", f"{base}/api/t/{slug}/jobs/{path}"]
    return urls


async def measure(target: Target, options: SoakOptions, say: Callable[[str], None]) -> SoakRecord:
    record = SoakRecord()
    limits = httpx.Limits(max_connections=options.workers, max_keepalive_connections=options.workers)
    async with (
        httpx.AsyncClient(timeout=_TIMEOUT, limits=limits, trust_env=False) as client,
        httpx.AsyncClient(timeout=_TIMEOUT, trust_env=False) as control,
    ):
        await login(client, target)
        listing = (await client.get(f"{target.app_url}/api/t/{target.slug}/jobs/?limit=1")).json()
        urls = _urls(target, (listing.get("jobs") or [None])[0])
        say(f"connecting {options.sockets} websockets")
        pool = SocketPool(target.ws_url, origin=target.origin, cookie=f"sessionid={client.cookies['sessionid']}")
        await pool.connect(options.sockets)
        record.connect_errors, record.sockets = pool.connect_errors, pool.open
        say(f"{pool.open} sockets open; soaking for {options.minutes:g} min at {options.rate:g} requests/s")
        process = psutil.Process(target.daphne.pid)
        start = time.perf_counter()
        deadline = start + options.minutes * 60
        slot = 0

        async def worker() -> None:
            nonlocal slot
            while True:
                index, slot = slot, slot + 1
                due = start + index / options.rate
                if due >= deadline:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                began = time.perf_counter()
                try:
                    response = await client.get(urls[index % len(urls)])
                    problem = "" if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    problem = type(exc).__name__
                record.requests.append((began - start, time.perf_counter() - began, not problem))
                if problem:
                    record.errors[problem] += 1

        async def events() -> None:
            seq = 0
            while time.perf_counter() + options.event_every < deadline:
                seq += 1
                pool.expect(seq)
                record.events.append((time.perf_counter() - start, seq))
                text = f"event: active\ndata: {json.dumps(event_data(seq, options.payload_bytes))}\n\n"
                try:
                    (
                        await control.post(f"{target.sim_url}/_sim/emit", json={"tenant": target.slug, "text": text})
                    ).raise_for_status()
                except httpx.HTTPError as exc:
                    record.errors[f"simulator emit: {type(exc).__name__}"] += 1
                await asyncio.sleep(options.event_every)

        async def memory() -> None:
            while time.perf_counter() < deadline:
                record.rss.append((time.perf_counter() - start, process.memory_info().rss))
                await asyncio.sleep(min(_RSS_EVERY, max(0.0, deadline - time.perf_counter())))
            record.rss.append((time.perf_counter() - start, process.memory_info().rss))

        await asyncio.gather(memory(), events(), *(worker() for _ in range(options.workers)))
        record.duration = time.perf_counter() - start
        if record.events:
            await pool.delivered(record.events[-1][1], _GRACE)
        record.latencies = {seq: list(pool.latencies[seq]) for _, seq in record.events}
        record.expected = {seq: pool.expected[seq] for _, seq in record.events}
        record.dropped = pool.dropped
        await pool.close()
    return record


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def report(record: SoakRecord, options: SoakOptions) -> str:
    planned = options.minutes * 60
    windows = max(1, math.ceil(planned / options.window - 1e-9))
    header = [
        "window",
        "requests",
        "errors",
        "req p50 ms",
        "req p99 ms",
        "events",
        "lost",
        "event p50 ms",
        "event p99 ms",
        "daphne RSS MiB",
    ]
    rows = []
    for w in range(windows):
        lo = w * options.window
        hi = (w + 1) * options.window if w < windows - 1 else math.inf  # the last one takes the tail
        requests = [r for r in record.requests if lo <= r[0] < hi]
        seqs = [seq for at, seq in record.events if lo <= at < hi]
        event_latencies = [x for seq in seqs for x in record.latencies[seq]]
        lost = sum(record.expected[seq] - len(record.latencies[seq]) for seq in seqs)
        rss = [value for at, value in record.rss if lo <= at < hi + 0.5] or [0]
        rows.append(
            [
                f"{_clock(lo)}-{_clock(min(hi, planned))}",
                str(len(requests)),
                str(sum(1 for r in requests if not r[2])),
                ms(percentile([r[1] for r in requests if r[2]], 0.5)),
                ms(percentile([r[1] for r in requests if r[2]], 0.99)),
                str(len(seqs)),
                str(lost),
                ms(percentile(event_latencies, 0.5)),
                ms(percentile(event_latencies, 0.99)),
                f"{rss[-1] / 2**20:.1f}",
            ]
        )
    lost_total = sum(record.expected[seq] - len(record.latencies[seq]) for _, seq in record.events)
    failed = sum(record.errors.values())
    errors = failed + lost_total + record.dropped + len(record.connect_errors)
    lines = [table(header, rows), ""]
    lines.append(
        f"{record.sockets} sockets, {len(record.requests)} requests ({failed} failed), {len(record.events)} events "
        f"({lost_total} socket deliveries lost), {record.dropped} sockets closed by the server, "
        f"{len(record.connect_errors)} sockets failed to connect."
    )
    if record.errors:
        lines.append("Request errors: " + ", ".join(f"{name} x{count}" for name, count in record.errors.most_common()))
    if record.connect_errors:
        lines.append(f"First connect error: {record.connect_errors[0]}")
    verdicts = [f"zero errors: {errors} -> {'met' if errors == 0 else 'MISSED'}"]
    after_warmup = [(at / 60, value / 2**20) for at, value in record.rss if at >= options.window]
    span = (after_warmup[-1][0] - after_warmup[0][0]) if after_warmup else 0.0
    if windows >= 3 and span > 0:
        # Fitted over every sample after the first window (the warm-up): RSS wobbles by a few
        # MiB as the allocator and the cache churn, so two single readings would say little.
        per_minute = slope(after_warmup)
        base = after_warmup[0][1]
        values = [value for _, value in after_warmup]
        flat = per_minute * span <= max(2.0, base * 0.02)  # allocator noise: 2 MiB or 2 %
        verdicts.append(
            f"no RSS growth after warm-up: fitted {per_minute:+.2f} MiB/min over {span:.1f} min "
            f"(range {min(values):.1f}-{max(values):.1f} MiB) -> {'met' if flat else 'MISSED'}"
        )
    else:
        verdicts.append("no RSS growth after warm-up: run too short to tell (needs 3 windows)")
    lines.append("Targets: " + "; ".join(verdicts) + ".")
    lines.append(machine_line())
    return "\n".join(lines)


def run(options: SoakOptions, redis_url: str, say: Callable[[str], None]) -> str:
    with Harness(redis_url=redis_url, say=say) as harness:
        target = harness.start()
        record = asyncio.run(measure(target, options, say))
        if target.daphne.poll() is not None:
            say(f"daphne exited during the run:\n{harness.log_tail('daphne')}")
    return report(record, options)
