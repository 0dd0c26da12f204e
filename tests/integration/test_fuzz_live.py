"""Bad input at the websocket: arbitrary query strings on `/ws/t/<slug>/jobs/`, and any message
from the browser (text, binary, empty, malformed, oversized, many). The socket is refused, or
closed cleanly (4008: it is one-way); the consumer and the relay keep serving everyone else."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobsdash.live.consumer import CLOSE_ONE_WAY, parse_query, parse_token
from jobsdash.simulator.jobs import XSS_JOB
from jobsdash.waylay.errors import InvalidQuery
from tests.fixtures.fuzzing import FUZZ, raw_queries, unknown_names, values
from tests.fixtures.live import LIVE, TIMEOUT, closed, connected, events, on_sim, open_socket

pytestmark = LIVE

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
        # Accepted sockets are live: the first frame is a status, not an error close (4011).
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
        st.integers(4000, 70_000).map(lambda n: ("text", "é" * n)),
        st.integers(4000, 70_000).map(lambda n: ("bytes", b"\xff" * n)),
    ),
    min_size=1,
    max_size=8,
)


@FUZZ
@given(sent=messages)
async def test_any_message_from_the_browser_closes_its_socket_cleanly_and_others_keep_going(
    sim: Any, member: bytes, sent: list[tuple[str, Any]]
) -> None:
    bystander = await connected(member)
    talker = await connected(member)
    for kind, payload in sent:
        # send_input, not send_to: empty frames are legal too.
        await talker.send_input({"type": "websocket.receive", kind: payload})
    assert await closed(talker) == CLOSE_ONE_WAY
    job = await on_sim(sim.create_job, "acme", "notify")
    assert (await events(bystander, 1))[0]["data"]["job"]["id"] == job["id"]
    await bystander.disconnect()


@pytest.mark.parametrize(
    "message",
    [
        {"bytes_data": b"\xc3\x28\xa0\xa1" * 10_000},  # invalid UTF-8, binary
        {"text_data": "\ud800" * 5000},  # lone surrogates, as a broken client could send
        {"text_data": "x" * 5_000_000},
        {"text_data": '{"type": "ping"}'},  # what a client library might send to keep alive
    ],
)
async def test_a_message_closes_its_socket_with_4008_and_it_gets_no_more_frames(
    sim: Any, member: bytes, message: dict[str, Any]
) -> None:
    quiet = await connected(member)
    talker = await connected(member)
    await talker.send_to(**message)
    assert await closed(talker) == CLOSE_ONE_WAY
    job = await on_sim(sim.create_job, "acme", "build")
    assert (await events(quiet, 1))[0]["data"]["job"]["id"] == job["id"]
    # Fanned out to every subscription at once: had the talker still one, the frame would be there.
    assert await talker.receive_nothing(timeout=0.1)
    await quiet.disconnect()
