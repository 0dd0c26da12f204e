"""The live websocket's wire contract: the frames the server sends and the codes it closes with.
This is the one module that knows their shape (DESIGN.md, "Websocket frames"); the relay builds
frames here, the consumer sends their text as it is.

    >>> event_frame(13, "active", {"job": {"type": "build", "id": "b1"}}).text
    '{"seq":13,"event":"active","data":{"job":{"type":"build","id":"b1"}}}'
    >>> status_frame("connected", seq=12).text
    '{"event": "status", "data": {"upstream": "connected", "seq": 12}}'
    >>> reload_frame(40).text
    '{"event": "reload", "data": {"seq": 40}}'

- An event frame is one upstream event: `data` is the SSE event's JSON-decoded data (`ack` and
  `close` carry their text); `seq` grows by one per event of the stream. Keep-alives are not
  forwarded.
- A status frame says whether the relay reads the upstream (`connected`), is trying to
  (`reconnecting`), or the upstream refuses the tenant's credentials (`unauthorized`). On connect
  without `since=` it also carries the `seq` the socket's frames follow.
- A reload frame says that what the page shows may be out of date, so it should refetch it; live
  frames follow from `seq` + 1. The relay sends it whenever it cannot prove that the page has seen
  every change (relay.py, "Gaps").

After `close` the server closes the socket with 1000. A server may send only 1000 or 3000-4999
(autobahn, under daphne, refuses others, as browsers' `WebSocket.close()` does), so the other
codes are 4000 + the RFC 6455 code they stand for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STATUS_CONNECTED = "connected"
STATUS_RECONNECTING = "reconnecting"
STATUS_UNAUTHORIZED = "unauthorized"

CLOSE_ACCESS_ENDED = 4003  # as HTTP 403: the link or the membership that let it in has ended
CLOSE_ONE_WAY = 4008  # 1008 "policy": the browser sent a message; this socket only goes to it
CLOSE_FAILED = 4011  # 1011 "internal error": the socket could not be subscribed
CLOSE_TOO_SLOW = 4013  # 1013 "try again later": the socket could not keep up


@dataclass(frozen=True)
class Frame:
    """One websocket message, serialized once for all sockets. `seq` is None for status and
    reload frames; `upstream` is the status a status frame reports."""

    seq: int | None
    event: str
    text: str
    upstream: str | None = None
    # For a job event that a windowed reach must decide (events carry no creation time): when its
    # job was created, looked up by the process that delivers it (`Stream.dated`); never sent.
    created_at: datetime | None = None

    def data(self) -> Any:
        """The frame's `data`, decoded again (only a signed link's filter needs it)."""
        try:
            return json.loads(self.text).get("data")
        except (ValueError, AttributeError):
            return None


def event_frame(seq: int, name: str, data: Any) -> Frame:
    return Frame(seq, name, json.dumps({"seq": seq, "event": name, "data": data}, separators=(",", ":")))


def stored_frame(text: str) -> Frame:
    """An event frame read back from the stream state, where it is kept as its text."""
    decoded = json.loads(text)
    return Frame(decoded["seq"], decoded["event"], text)


def status_frame(status: str, seq: int | None = None) -> Frame:
    data: dict[str, Any] = {"upstream": status}
    if seq is not None:
        data["seq"] = seq
    return Frame(None, "status", json.dumps({"event": "status", "data": data}), upstream=status)


def reload_frame(seq: int) -> Frame:
    return Frame(None, "reload", json.dumps({"event": "reload", "data": {"seq": seq}}))
