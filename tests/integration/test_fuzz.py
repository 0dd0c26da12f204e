"""Bad input, generated: arbitrary strings and repetitions at every query parameter and path segment
of the pages, the API, the signed links and the websocket URL, against the simulator on a real port.

What a caller may see: never a 5xx; a rejection is a 400 naming the parameter (the page's text,
the API's JSON `parameter`) or a refused websocket handshake; 404 only for an unknown tenant or
job (or a path no route matches); 403 for a signed link that grants nothing.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.contrib.auth.models import User
from django.http import QueryDict
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.simulator.jobs import HUGE_LOG_JOB, XSS_JOB
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.errors import InvalidQuery
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.fuzzing import FUZZ, raw_queries, unknown_names, values
from tests.fixtures.pages import elements
from tests.fixtures.site import PASSWORD

LIST_PARAMETERS = ("type", "state", "functionType", "createdBefore", "createdAfter", "limit")
PAGE_PARAMETERS = (*LIST_PARAMETERS, "embed", "tz")
# Values the validators accept, so that a fair share of the queries reach the simulator.
VALID = {
    "type": ["build", "deploy", "verify", "undeploy", "batch", "scale", "notify", "build,deploy"],
    "state": ["completed", "failed", "active", "waiting", "waiting-children"],
    "functionType": ["plugs", "webscripts", "kfserving"],
    "createdBefore": ["2024-05-01", "2030-01-01T00:00:00Z", "P1D", "15m", "1000"],
    "createdAfter": ["PT1H", "P7D", "2020-01-01", "3d"],
    "limit": ["0", "1", "10", "10.0", "10000"],
    "embed": ["1", "0", ""],
    "tz": ["UTC", "Europe/Brussels", ""],
}
# Regressions: each was a 500 (OverflowError in the page's overview or its UTC times) or went
# upstream and came back as a 503, before validate_timestamp_spec checked the instant's range.
OUT_OF_RANGE = [
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01+05:00",
    "9999-12-31-23:59",
    "PT99999999999999H",
    "PT999999999999999M",
    "P1DT99999999999999S",
    "P99999999999999W",
    "P999999999999Y",
    "99999999999999y",
]


def value_for(name: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(VALID.get(name, ["x"])), values)


parameter = st.one_of(
    st.sampled_from(PAGE_PARAMETERS).flatmap(lambda n: st.tuples(st.just(n), value_for(n))),
    st.tuples(unknown_names, values),
)
queries = st.lists(parameter, max_size=8)


job_types = st.one_of(st.sampled_from(["build", "deploy", "cleanup", "notify"]), values)
job_ids = st.one_of(st.sampled_from([XSS_JOB[1], HUGE_LOG_JOB[1], "no-such-job"]), values)


def encode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)


def segment(value: str) -> str:
    return quote(value, safe="")


def named_in_page(body: str) -> str | None:
    """The parameter a 400 page names: the list's filter error, or the error page's message."""
    match = re.search(r"The filter <strong>([^<]+)</strong> is not valid", html.unescape(body))
    if match:
        return match[1]
    page = elements(body)
    for n, element in enumerate(page[:-1]):
        # The error page: its heading, then "parameter: what is wrong with it".
        if element.tag == "h1" and element.text == "Invalid parameter" and page[n + 1].tag == "p":
            return page[n + 1].text.split(":", 1)[0]
    return None


def assert_page_answer(response: Any, sent: set[str]) -> None:
    """A page's answer to bad input: 200, a 400 naming a parameter that was sent, or a 404."""
    assert response.status_code < 500, response.content[:500]
    assert response.status_code in (200, 400, 404), response.status_code
    if response.status_code == 400:
        named = named_in_page(response.content.decode())
        assert named in sent, (named, sent, response.content[:800])


def assert_api_answer(response: Any, sent: set[str]) -> None:
    assert response.status_code < 500, response.content[:500]
    assert response.status_code in (200, 400, 404), response.status_code
    if response.status_code == 400:
        document = json.loads(response.content)
        assert document.get("parameter") in sent, (document, sent)


# Pages and API: query parameters ------------------------------------------------------------------


@pytest.mark.django_db
@FUZZ
@given(pairs=queries)
def test_list_page_and_api_answer_any_query_without_a_5xx(alice: Client, pairs: list[tuple[str, str]]) -> None:
    query = encode(pairs)
    names = {name for name, _ in pairs}
    page = alice.get(f"/t/acme/jobs/?{query}")
    assert_page_answer(page, names)
    assert page.status_code != 404
    api = alice.get(f"/api/t/acme/jobs/?{query}")
    assert_api_answer(api, names)
    assert api.status_code != 404
    # The API validates exactly the upstream's six filters (`tz` and `embed` are the pages').
    assert (api.status_code == 200) == _accepted(query)


def _accepted(query: str) -> bool:
    try:
        parse_list_query(QueryDict(query))
    except InvalidQuery:
        return False
    return True


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["createdAfter", "createdBefore"])
def test_timestamps_out_of_range_are_a_400_naming_them(sim: Any, alice: Client, name: str) -> None:
    for value in OUT_OF_RANGE:
        query = encode([(name, value)])
        page = alice.get(f"/t/acme/jobs/?{query}")
        assert page.status_code == 400 and named_in_page(page.content.decode()) == name, value
        api = alice.get(f"/api/t/acme/jobs/?{query}")
        assert api.status_code == 400 and json.loads(api.content)["parameter"] == name, value
    assert sim.count("list", "acme") == 0
    # The edges themselves are fine.
    for value in ("0002-01-01", "9998-12-30T23:00:00Z", "P1000Y"):
        assert alice.get(f"/t/acme/jobs/?{encode([(name, value)])}").status_code == 200, value


@pytest.mark.django_db
@FUZZ
@given(raw=raw_queries)
def test_broken_escapes_and_invalid_utf8_in_the_query_are_no_5xx(alice: Client, raw: str) -> None:
    names = set(PAGE_PARAMETERS)
    assert_page_answer(alice.get(f"/t/acme/jobs/?{raw}"), names)
    assert_api_answer(alice.get(f"/api/t/acme/jobs/?{raw}"), names)


@pytest.mark.django_db
@FUZZ
@given(pairs=queries, job_type=job_types, job_id=job_ids)
def test_job_pages_and_api_answer_any_path_and_query_without_a_5xx(
    alice: Client, pairs: list[tuple[str, str]], job_type: str, job_id: str
) -> None:
    query = encode(pairs)
    names = {name for name, _ in pairs} | {"type", "id"}
    base = f"/t/acme/jobs/{segment(job_type)}/{segment(job_id)}/"
    for url in (base, f"{base}log/"):
        assert_page_answer(alice.get(f"{url}?{query}"), names)
    row = alice.get(f"{base}row/?{query}")
    if row.status_code == 204:  # the job is not in the query's filter, which must then be a valid one
        assert _accepted(query) and row.content == b""
    else:
        assert_page_answer(row, names)
    assert_api_answer(alice.get(f"/api{base}?{query}"), names)


@pytest.mark.django_db
@FUZZ
@given(slug=st.one_of(values, st.sampled_from(["acme", "globex", "ACME", "acme ", "nope"])), pairs=queries)
def test_any_tenant_slug_is_the_tenant_or_a_404(alice: Client, slug: str, pairs: list[tuple[str, str]]) -> None:
    query = encode(pairs)
    names = {name for name, _ in pairs} | {"type", "id"}
    for path in (f"/t/{segment(slug)}/jobs/", f"/t/{segment(slug)}/jobs/build/{segment(XSS_JOB[1])}/"):
        for url in (path, f"/api{path}"):
            response = alice.get(f"{url}?{query}")
            assert response.status_code < 500, (url, response.content[:500])
            if slug != "acme":
                # Not a member of globex; the others do not exist. A bad parameter may be
                # refused first, whatever the tenant: that tells nothing about it.
                assert response.status_code in (400, 404), url
                if response.status_code == 400:
                    (assert_api_answer if url.startswith("/api") else assert_page_answer)(response, names)


# Signed links -----------------------------------------------------------------------------------


@pytest.fixture
def list_token(acme: Tenant) -> str:
    return token_for(
        create_link(acme, None, scope=EmbedLink.Scope.LIST, lifetime=timedelta(hours=1), query=parse_list_query({}))
    )


@pytest.mark.django_db
@FUZZ
@given(token=st.one_of(values, st.just("VALID"), st.just("VALID:x")), pairs=queries, job_type=job_types, job_id=job_ids)
def test_signed_link_urls_refuse_bad_tokens_and_ignore_the_query(
    list_token: str, token: str, pairs: list[tuple[str, str]], job_type: str, job_id: str
) -> None:
    token = token.replace("VALID", list_token)
    anonymous = Client()
    query = encode(pairs)
    page = anonymous.get(f"/e/{segment(token)}/?{query}")
    row = anonymous.get(f"/e/{segment(token)}/row/{segment(job_type)}/{segment(job_id)}/?{query}")
    for response in (page, row):
        assert response.status_code < 500, response.content[:500]
    if token == list_token:
        assert page.status_code == 200  # the link's own filter, whatever the URL's query says
        assert row.status_code in (200, 400, 404)
        if row.status_code == 400:
            assert named_in_page(row.content.decode()) in ("type", "id")
    else:
        assert page.status_code in (403, 404)  # 404: a token with "/" matches no route
        assert row.status_code in (403, 404)


# Forms: link creation and the login's `next` -----------------------------------------------------


@pytest.mark.django_db
@FUZZ
@example(lifetime="1 day", scope="list", job_type="", job_id="", query="&" * 1001)  # was a bare 400
@given(
    lifetime=st.one_of(st.sampled_from(["1 hour", "1 day", "90 days"]), values),
    scope=st.one_of(st.sampled_from(["list", "job"]), values),
    job_type=job_types,
    job_id=job_ids,
    query=st.one_of(queries.map(encode), raw_queries, values),
)
def test_link_creation_answers_any_form_without_a_5xx(
    alice: Client, lifetime: str, scope: str, job_type: str, job_id: str, query: str
) -> None:
    form = {"lifetime": lifetime, "scope": scope, "job_type": job_type, "job_id": job_id, "query": query}
    answer = alice.post("/t/acme/links/", form)
    assert answer.status_code in (302, 400), (answer.status_code, answer.content[:300])
    if answer.status_code == 400:
        assert named_in_page(answer.content.decode()) in {*LIST_PARAMETERS, "lifetime", "job_type", "job_id", "query"}
    else:
        assert alice.get(answer["Location"]).status_code == 200


@pytest.fixture
def nina(make_user: Callable[..., User]) -> User:
    return make_user("nina")


@pytest.mark.django_db
@FUZZ
@given(target=st.one_of(values, st.sampled_from(["//evil.example.com/", "https://evil.example.com", "/\\evil"])))
def test_login_next_is_never_a_5xx_nor_an_open_redirect(nina: User, target: str) -> None:
    client = Client()
    assert client.get(f"/accounts/login/?next={segment(target)}").status_code == 200
    answer = client.post(f"/accounts/login/?next={segment(target)}", {"username": "nina", "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code
    # Somewhere on this site: no scheme, no host (browsers read a backslash as a slash).
    location = urlsplit(answer["Location"].strip().replace("\\", "/"))
    assert not location.scheme and not location.netloc, answer["Location"]
