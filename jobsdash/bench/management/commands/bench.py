"""`manage.py bench pages|fanout|soak`: the benchmark (the measuring lives in the app's modules)."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

_HELP = """\
Benchmark jobsdash on ONE daphne process against the Waylay simulator, everything on 127.0.0.1
(both started here as subprocesses, with a temporary SQLite database, and stopped at the end,
also on Ctrl-C or SIGTERM). Prints markdown tables (docs/benchmarks.md records the latest runs).

pages:  p50/p99 latency of the list API (warm and cold), the list page of 100 and of 1,000
        rows and a failed job's page (warm), each paired and interleaved with /healthz of the
        same process as the ceiling; and the incident link: --burst browsers opening one fresh
        link at once, against as many simultaneous /healthz, counting upstream calls.
        Targets: warm list API within 1.5x, list page of 100 rows within 3x and of 1,000 rows
        within 10x, failed job page within 3x; the incident link exactly 1 upstream call, its
        last page within 3x of the last /healthz.
fanout: per-event delivery latency (p50/p99, from triggering the upstream event to each socket
        receiving it) to N connected websockets, daphne's RSS per idle socket, and the same
        fan-out by a bare `websockets` broadcast server as the ceiling.
        Targets: p99 within 2x the ceiling, under 40 KiB per idle socket.
soak:   N websockets plus a steady stream of page and API requests and upstream events for
        --minutes; errors, latency and RSS per time window.
        Targets: zero errors, no RSS growth after warm-up.
"""


class Command(BaseCommand):
    help = _HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        from argparse import RawDescriptionHelpFormatter

        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "mode", nargs="?", default="pages", choices=["pages", "fanout", "soak"], help="Default: pages."
        )
        parser.add_argument("--redis-url", default="", help="Give daphne this REDIS_URL (default: none, in-memory).")
        pages = parser.add_argument_group("pages")
        pages.add_argument("--concurrency", type=int, default=1, help="Requests in flight (default 1).")
        pages.add_argument("--seconds", type=float, default=10.0, help="Measured seconds per scenario (default 10).")
        pages.add_argument("--warmup", type=float, default=2.0, help="Unmeasured seconds first (default 2).")
        pages.add_argument("--max-requests", type=int, default=200_000, help="Per scenario, on top of the time.")
        pages.add_argument("--upstream-latency-ms", type=int, default=0, help="Simulator latency (default 0).")
        pages.add_argument("--burst", type=int, default=100, help="Browsers opening the incident link (default 100).")
        pages.add_argument("--bursts", type=int, default=5, help="Rounds of the incident link (default 5).")
        live = parser.add_argument_group("fanout and soak")
        live.add_argument("--sockets", type=int, default=1000, help="Websockets to connect (default 1000).")
        live.add_argument("--events", type=int, default=50, help="fanout: events to deliver (default 50).")
        live.add_argument("--payload-bytes", type=int, default=1000, help="fanout: size of an event (default 1000).")
        live.add_argument("--settle", type=float, default=3.0, help="Seconds before reading RSS (default 3).")
        soak = parser.add_argument_group("soak")
        soak.add_argument("--minutes", type=float, default=3.0, help="Duration (default 3).")
        soak.add_argument("--window", type=float, default=30.0, help="Seconds per reported window (default 30).")
        soak.add_argument("--rate", type=float, default=20.0, help="Page and API requests a second (default 20).")
        soak.add_argument("--event-every", type=float, default=2.0, help="Seconds between upstream events (default 2).")

    def handle(self, *args: Any, mode: str, **options: Any) -> None:
        # Imported here: `--help` works without the benchmark's client libraries.
        from jobsdash.bench.harness import BenchError

        signal.signal(signal.SIGTERM, _interrupt)  # clean up the subprocesses on kill too
        try:
            report = getattr(self, f"_{mode}")(options)
        except BenchError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted; the subprocesses were stopped") from None
        self.stdout.write(report)

    def _say(self, text: str) -> None:
        self.stderr.write(f"bench: {text}")
        sys.stderr.flush()

    def _pages(self, options: dict[str, Any]) -> str:
        from jobsdash.bench import pages

        if options["concurrency"] < 1 or options["seconds"] <= 0 or options["burst"] < 1 or options["bursts"] < 0:
            raise CommandError("--concurrency, --seconds and --burst must be positive, --bursts at least 0")
        settings = pages.PagesOptions(
            concurrency=options["concurrency"],
            seconds=options["seconds"],
            warmup=max(0.0, options["warmup"]),
            max_requests=options["max_requests"],
            upstream_latency_ms=options["upstream_latency_ms"],
            burst=options["burst"],
            bursts=options["bursts"],
        )
        return pages.run(settings, options["redis_url"], self._say)

    def _fanout(self, options: dict[str, Any]) -> str:
        from jobsdash.bench import fanout

        if options["sockets"] < 2 or options["events"] < 1:
            raise CommandError("--sockets must be at least 2 and --events at least 1")
        settings = fanout.FanoutOptions(
            sockets=options["sockets"],
            events=options["events"],
            payload_bytes=options["payload_bytes"],
            settle=max(0.0, options["settle"]),
        )
        return fanout.run(settings, options["redis_url"], self._say)

    def _soak(self, options: dict[str, Any]) -> str:
        from jobsdash.bench import soak

        if options["minutes"] <= 0 or options["window"] <= 0 or options["rate"] <= 0 or options["event_every"] <= 0:
            raise CommandError("--minutes, --window, --rate and --event-every must be positive")
        settings = soak.SoakOptions(
            sockets=max(1, options["sockets"]),
            minutes=options["minutes"],
            window=options["window"],
            rate=options["rate"],
            event_every=options["event_every"],
            payload_bytes=options["payload_bytes"],
        )
        return soak.run(settings, options["redis_url"], self._say)


def _interrupt(signum: int, frame: Any) -> None:
    # As a SIGINT: asyncio.run then cancels its main task cleanly and raises KeyboardInterrupt.
    os.kill(os.getpid(), signal.SIGINT)
