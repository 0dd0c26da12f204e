"""The ceiling of the fan-out benchmark: a bare `websockets` broadcast server, nothing else.

    python -m jobsdash.bench.broadcast --port 8765

Every connection is a listener, except those on `/send`: each text message received there is
sent as it is to every listener with `websockets.broadcast` (no auth, no routing, no queue per
socket). Binds 127.0.0.1 only; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from websockets.asyncio.server import ServerConnection, broadcast, serve

listeners: set[ServerConnection] = set()


async def handle(connection: ServerConnection) -> None:
    if connection.request is not None and connection.request.path == "/send":
        async for message in connection:
            broadcast(listeners, message)
        return
    listeners.add(connection)
    try:
        await connection.wait_closed()
    finally:
        listeners.discard(connection)


async def main(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # Like daphne's defaults for the measured side: no compression, a ping every 20 s.
    async with serve(handle, "127.0.0.1", port, compression=None, ping_interval=20, backlog=1024):
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
