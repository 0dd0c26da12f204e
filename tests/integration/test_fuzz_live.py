"""Bad input at the websocket: arbitrary query strings on `/ws/t/<slug>/jobs/`, and oversized,
binary, malformed and too many messages from the browser. The socket is refused, ignored or closed
cleanly (1008/1009); the consumer and the relay keep serving everyone else."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobsdash.live.consumer import MAX_INCOMING_CHARS, MAX_INCOMING_PER_MINUTE, parse_query, parse_token
from jobsdash.simulator.jobs import XSS_JOB
from jobsdash.waylay.errors import InvalidQuery
from tests.integration.test_fuzz import raw_queries, unknown_names, values
from tests.integration.test_live_consumer import (
    TIMEOUT,
    _stop_relay,
    closed,
    connected,
    events,
    fast_live,
    member,
    on_sim,
    open_socket,
)

__all__ = ["_stop_relay", "fast_live", "member"]  # the live tests' fixtures apply here too

pytestmark = pytest.mark.django_db(transaction=True)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

WS_VALID = {
    "type": ["build", "deploy", "cleanup", ""],
    "id": [XSS_JOB[1], "abc", ""],
    "children": ["true", "false", ""],
    "since": ["0", "1", "12", ""],
    "token": ["not-a-token"],
}
ws_parameter = st.one_of(
    st.sampled_from(sorted(WS_VALID)).flatmap(
        lambda n: st.tuples(st.just(n), st.one_of(st.sampled_from(WS_VALID[n]), values))
    ),
    st.tuples(unknown_names, values),
)
slugs = st.one_of(st.just("acme"), st.sampled_from(["globex", "nope", "ACME"]))


def _acceptable(query: str) -> bool:
    """Whether a member's socket with this query should be accepted: valid parameters, no token."""
    try:
        parse_query(query.encode())
        return parse_token(query.encode()) is None
    except InvalidQuery:
        return False


@FUZZ
@given(pairs=st.lists(ws_parameter, max_size=6), raw=st.one_of(st.just(""), raw_queries), slug=slugs)
async def test_any_websocket_url_is_accepted_or_refused_never_a_crash(
    sim: Any, member: bytes, pairs: list[tuple[str, str]], raw: str, slug: str
) -> None:
    encoded = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs)
    query = "&".join(part for part in (encoded, raw) if part)
    socket, accepted = await open_socket(member, query, slug=slug)
    assert accepted == (slug == "acme" and _acceptable(query)), query
    if accepted:
        # Accepted sockets are live: the first frame is a status, not an error close (1011).
        output = await socket.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.send", output
        # A status, or `reload` when `since` is beyond what the stream's state holds.
        assert json.loads(output["text"])["event"] in ("status", "reload")
        await socket.disconnect()


async def test_the_consumer_serves_after_the_fuzzing(sim: Any, member: bytes) -> None:
    # Many refused and accepted sockets with odd queries, then an ordinary one still gets events.
    for query in ("type=%ff", "id=%00", "since=99999999999999999999", "type=build&id=" + "x" * 600, "children=1"):
        _, accepted = await open_socket(member, query)
        assert not accepted, query
    socket = await connected(member)
    job = await on_sim(sim.create_job, "acme", "build")
    assert (await events(socket, 1))[0]["data"]["job"]["id"] == job["id"]
    await socket.disconnect()


messages = st.lists(
    st.one_of(
        st.text(max_size=200).map(lambda t: ("text", t)),
        st.binary(max_size=200).map(lambda b: ("bytes", b)),
        st.integers(MAX_INCOMING_CHARS - 2, MAX_INCOMING_CHARS + 2).map(lambda n: ("text", "é" * n)),
        st.integers(MAX_INCOMING_CHARS - 2, MAX_INCOMING_CHARS + 2).map(lambda n: ("bytes", b"\xff" * n)),
    ),
    min_size=1,
    max_size=8,
)


@FUZZ
@given(sent=messages)
async def test_messages_from_the_browser_are_ignored_or_close_the_socket_cleanly(
    sim: Any, member: bytes, sent: list[tuple[str, Any]]
) -> None:
    socket = await connected(member)
    for kind, payload in sent:
        # send_input, not send_to: empty frames are legal too.
        await socket.send_input({"type": "websocket.receive", kind: payload})
    if any(len(payload) > MAX_INCOMING_CHARS for _, payload in sent):
        assert await closed(socket) == 1009
        return
    # Ignored: the socket still relays the next event.
    job = await on_sim(sim.create_job, "acme", "notify")
    assert (await events(socket, 1))[0]["data"]["job"]["id"] == job["id"]
    await socket.disconnect()


@pytest.mark.parametrize(
    "message",
    [
        {"bytes_data": b"\xc3\x28\xa0\xa1" * 10_000},  # invalid UTF-8, oversized, binary
        {"text_data": "\ud800" * (MAX_INCOMING_CHARS + 1)},  # lone surrogates, as a broken client could send
        {"text_data": "x" * 5_000_000},
    ],
)
async def test_an_oversized_message_closes_with_1009_and_others_keep_going(
    sim: Any, member: bytes, message: dict[str, Any]
) -> None:
    bystander = await connected(member)
    abuser = await connected(member)
    await abuser.send_to(**message)
    assert await closed(abuser) == 1009
    job = await on_sim(sim.create_job, "acme", "build")
    assert (await events(bystander, 1))[0]["data"]["job"]["id"] == job["id"]
    await bystander.disconnect()


async def test_a_flood_of_small_messages_closes_with_1008(sim: Any, member: bytes) -> None:
    socket = await connected(member)
    for index in range(MAX_INCOMING_PER_MINUTE + 5):
        await socket.send_to(text_data=f'{{"n": {index}}}')
    assert await closed(socket) == 1008
    # Its subscription is gone: the stream closes after the linger, as for any leaving socket.
    again = await connected(member)
    await again.disconnect()
