"""`manage.py simulator`: run the Waylay registry jobs simulator on a real port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobsdash.simulator.app import build_app
from jobsdash.simulator.server import Server
from jobsdash.simulator.world import SimulatorConfig, TenantConfig

logger = logging.getLogger(__name__)


def _tenant(text: str) -> TenantConfig:
    try:
        return TenantConfig.parse(text)
    except ValueError:
        raise CommandError(f"--tenant must be SLUG:KEY:SECRET, got {text.split(':', 1)[0]}:...") from None


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    """A killed test run or demo never tears its children down; notice being orphaned instead."""
    while True:  # no event reports a parent's death: poll
        await asyncio.sleep(0.5)
        if os.getppid() != parent:
            break
    logger.warning("the simulator's parent process %s is gone; stopping", parent)
    stop.set()


class Command(BaseCommand):
    help = (
        "Run a simulated Waylay registry jobs API (list, get, SSE events, tokens) for the given "
        "tenants, plus the /_sim/ control endpoints (see jobsdash/simulator/README.md). "
        "Prints 'listening on http://HOST:PORT' once it accepts connections."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001, help="0 picks a free port (printed).")
        parser.add_argument("--tenant", action="append", default=[], metavar="SLUG:KEY:SECRET", help="Repeatable.")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the generated history and life.")
        parser.add_argument("--rate", type=float, default=0.0, help="New jobs a minute per tenant (0: none).")
        parser.add_argument("--keepalive", type=float, default=15.0, help="Seconds between SSE keep-alives.")
        parser.add_argument("--token-lifetime", type=int, default=3600, help="Seconds a token is valid.")
        parser.add_argument("--history", type=int, default=1000, help="Events kept per tenant for Last-Event-ID.")
        parser.add_argument(
            "--backlog", type=int, default=0, help="More finished jobs per tenant in the seeded week (default 0)."
        )
        parser.add_argument(
            "--event-ids",
            action="store_true",
            help="Send an SSE id: line with each job event and honour Last-Event-ID (the registry's spec "
            "documents neither: off by default).",
        )
        parser.add_argument(
            "--exit-with-parent",
            action="store_true",
            help="Stop when the process that started this one dies (test runs, the demo).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = [_tenant(text) for text in options["tenant"]]
        if not tenants:
            raise CommandError("give at least one --tenant SLUG:KEY:SECRET")
        if options["host"] not in ("127.0.0.1", "localhost", "::1"):
            raise CommandError("the simulator's control endpoints have no auth: bind it to 127.0.0.1 only")
        config = SimulatorConfig(
            tenants=tenants,
            seed=options["seed"],
            rate=options["rate"],
            keepalive=options["keepalive"],
            token_lifetime=options["token_lifetime"],
            history=options["history"],
            backlog=max(0, options["backlog"]),
            event_ids=options["event_ids"],
        )
        asyncio.run(self._serve(config, options["host"], options["port"], options["exit_with_parent"]))

    async def _serve(self, config: SimulatorConfig, host: str, port: int, exit_with_parent: bool) -> None:
        app = build_app(config)
        server = Server(app, host, port)
        await server.start()
        config.base_url = app.simulator.base_url = f"http://{host}:{server.port}"
        app.simulator.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        slugs = ", ".join(t.slug for t in config.tenants)
        self.stdout.write(f"Waylay simulator listening on {config.base_url} (tenants: {slugs})")
        sys.stdout.flush()
        serving = asyncio.ensure_future(server.serve_forever())
        if exit_with_parent:
            watch = asyncio.ensure_future(_watch_parent(os.getppid(), stop))
        await stop.wait()
        if exit_with_parent:
            watch.cancel()
        await server.close()
        await app.simulator.stop()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
