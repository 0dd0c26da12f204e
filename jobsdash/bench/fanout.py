"""`bench fanout`: one upstream event delivered to N websockets, jobsdash against a bare
`websockets` broadcast server, in one run.

jobsdash: N logged-in sockets on `/ws/t/<slug>/jobs/` of ONE daphne process (so one upstream
stream); each event is a raw SSE `active` event pushed into the simulator's stream
(`POST /_sim/emit`), which the relay reads, numbers and fans out. Ceiling: the same N sockets on
the broadcast server; each event is the frame jobsdash would send, handed to the server over its
`/send` socket. Latency runs from just before the trigger to each socket's receipt, so both
include one local hop to the sender (an HTTP POST to the simulator plus its SSE write for
jobsdash, a websocket message for the ceiling).

RSS per idle socket: the server's RSS (psutil) with 1 socket connected and settled, then with N,
the difference divided by N - 1.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import connect

from jobsdash.bench.harness import Harness, Target, login
from jobsdash.bench.stats import machine_line, ms, percentile, ratio, table
from jobsdash.bench.wsclients import SocketPool

_TIMEOUT = 30.0


@dataclass
class FanoutOptions:
    sockets: int = 1000
    events: int = 50
    payload_bytes: int = 1000
    gap: float = 0.1  # seconds between one event fully delivered and the next
    deliver_timeout: float = 15.0  # per event
    settle: float = 3.0  # seconds before reading RSS
    parallel_connects: int = 50


@dataclass
class FanoutResult:
    name: str
    sockets: int = 0
    connect_errors: list[str] = field(default_factory=list)
    connect_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # every (event, socket)
    all_sockets: list[float] = field(default_factory=list)  # per event: until the last socket had it
    expected: int = 0
    late_events: int = 0
    dropped: int = 0
    rss_one: int = 0
    rss_all: int = 0

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_all - self.rss_one) / max(1, self.sockets - 1) / 1024

    @property
    def lost(self) -> int:
        return self.expected - len(self.latencies)


def event_data(seq: int, payload_bytes: int) -> dict[str, Any]:
    """A job event shaped like the registry's, padded to about `payload_bytes` of JSON."""
    data: dict[str, Any] = {
        "_links": {"job": {"href": f"/registry/v2/jobs/build/bench-{seq}", "jobType": "build"}},
        "job": {"type": "build", "id": f"bench-{seq}"},
        "data": {"prev": "waiting"},
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "function": {"name": "bench-fn", "version": "1.0.0", "runtime": "node20", "functionType": "plugs"},
        "benchSeq": seq,
    }
    pad = payload_bytes - len(json.dumps(data)) - len(', "pad": ""')
    data["pad"] = "x" * max(0, pad)
    return data


def _rss(pid: int) -> int:
    """Median of a few samples: one reading can catch a transient allocation."""
    process = psutil.Process(pid)
    samples = []
    for _ in range(5):
        samples.append(process.memory_info().rss)
        time.sleep(0.1)
    return int(statistics.median(samples))


async def fan_out(
    result: FanoutResult,
    pool: SocketPool,
    pid: int,
    trigger: Callable[[int], Awaitable[None]],
    options: FanoutOptions,
    say: Callable[[str], None],
) -> None:
    """Connect, read RSS, deliver events 0..events (0 is a warm-up, not counted), close."""
    await pool.connect(1)
    await asyncio.sleep(options.settle)
    result.rss_one = await asyncio.to_thread(_rss, pid)
    began = time.perf_counter()
    await pool.connect(options.sockets - 1, options.parallel_connects)
    result.connect_seconds = time.perf_counter() - began
    result.connect_errors = pool.connect_errors
    await asyncio.sleep(options.settle)
    result.rss_all = await asyncio.to_thread(_rss, pid)
    result.sockets = pool.open
    say(f"{result.name}: {result.sockets} sockets open; sending {options.events} events")
    try:
        for seq in range(options.events + 1):
            pool.expect(seq)
            await trigger(seq)
            complete = await pool.delivered(seq, options.deliver_timeout)
            if seq == 0:
                continue
            got = pool.latencies[seq]
            result.expected += pool.expected[seq]
            result.latencies.extend(got)
            if complete:
                result.all_sockets.append(max(got))
            else:
                result.late_events += 1
            await asyncio.sleep(options.gap)
        result.dropped = pool.dropped
    finally:
        await pool.close()


async def measure(
    target: Target, ceiling_url: str, ceiling_pid: int, options: FanoutOptions, say: Callable[[str], None]
) -> list[FanoutResult]:
    async with httpx.AsyncClient(timeout=_TIMEOUT, trust_env=False) as client:
        await login(client, target)
        cookie = f"sessionid={client.cookies['sessionid']}"

        async def emit(seq: int) -> None:
            text = f"event: active\ndata: {json.dumps(event_data(seq, options.payload_bytes))}\n\n"
            answer = await client.post(f"{target.sim_url}/_sim/emit", json={"tenant": target.slug, "text": text})
            answer.raise_for_status()

        jobsdash = FanoutResult("jobsdash (daphne + relay)")
        say(f"jobsdash: connecting {options.sockets} websockets to {target.ws_url}")
        pool = SocketPool(target.ws_url, origin=target.origin, cookie=cookie)
        await fan_out(jobsdash, pool, target.daphne.pid, emit, options, say)

    async with connect(f"{ceiling_url}/send", compression=None, proxy=None) as sender:

        async def send(seq: int) -> None:
            # The frame jobsdash sends for this event (the relay's own seq numbering aside).
            await sender.send(
                json.dumps({"seq": seq + 1, "event": "active", "data": event_data(seq, options.payload_bytes)})
            )

        ceiling = FanoutResult("bare websockets broadcast (ceiling)")
        say(f"ceiling: connecting {options.sockets} websockets to {ceiling_url}")
        pool = SocketPool(f"{ceiling_url}/", origin=None)
        await fan_out(ceiling, pool, ceiling_pid, send, options, say)
    return [jobsdash, ceiling]


def report(results: list[FanoutResult], options: FanoutOptions) -> str:
    jobsdash, ceiling = results
    header = [
        "server",
        "sockets",
        "events",
        "lost",
        "p50 ms",
        "p99 ms",
        "max ms",
        "all-sockets p50 ms",
        "all-sockets p99 ms",
        "p99 / ceiling",
        "RSS KiB / idle socket",
    ]
    rows = []
    for r in results:
        rows.append(
            [
                r.name,
                str(r.sockets),
                str(options.events),
                str(r.lost),
                ms(percentile(r.latencies, 0.5)),
                ms(percentile(r.latencies, 0.99)),
                ms(max(r.latencies, default=float("nan"))),
                ms(percentile(r.all_sockets, 0.5)),
                ms(percentile(r.all_sockets, 0.99)),
                ratio(percentile(r.latencies, 0.99), percentile(ceiling.latencies, 0.99)),
                f"{r.kib_per_socket:.1f}",
            ]
        )
    lines = [table(header, rows), ""]
    p99_ratio = percentile(jobsdash.latencies, 0.99) / percentile(ceiling.latencies, 0.99)
    lines.append(
        f"Targets: p99 within 2x the ceiling: {p99_ratio:.2f}x -> {'met' if p99_ratio <= 2 else 'MISSED'}; "
        f"under 40 KiB per idle socket: {jobsdash.kib_per_socket:.1f} KiB -> "
        f"{'met' if jobsdash.kib_per_socket < 40 else 'MISSED'}."
    )
    for r in results:
        extra = []
        if r.connect_errors:
            extra.append(f"{len(r.connect_errors)} sockets failed to connect (first: {r.connect_errors[0]})")
        if r.late_events:
            extra.append(f"{r.late_events} events not delivered to every socket within {options.deliver_timeout:g} s")
        if r.dropped:
            extra.append(f"{r.dropped} sockets closed by the server")
        extra.append(f"connecting took {r.connect_seconds:.1f} s")
        extra.append(f"RSS {r.rss_one / 2**20:.1f} MiB with 1 socket, {r.rss_all / 2**20:.1f} MiB with {r.sockets}")
        lines.append(f"{r.name}: " + "; ".join(extra) + ".")
    lines.append(machine_line())
    return "\n".join(lines)


def run(options: FanoutOptions, redis_url: str, say: Callable[[str], None]) -> str:
    with Harness(redis_url=redis_url, say=say) as harness:
        target = harness.start()
        say("starting the bare websockets broadcast server")
        ceiling_url, ceiling = harness.start_broadcast()
        results = asyncio.run(measure(target, ceiling_url, ceiling.pid, options, say))
        if target.daphne.poll() is not None:
            say(f"daphne exited during the run:\n{harness.log_tail('daphne')}")
    return report(results, options)
