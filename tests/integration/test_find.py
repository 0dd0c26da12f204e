"""Finding a job by what was pasted (`/t/<slug>/find/?q=`) against the simulator on a real port:
ids, dashboard URLs, registry URLs and `_links` hrefs with stray spaces land on the job's page;
an id of unknown type is tried as every type at once; nothing of another tenant is revealed."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.test import Client

from jobsdash.waylay.queries import JOB_TYPES
from tests.fixtures.pages import Element, element_by_id, elements

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(sim: Any) -> dict[str, Any]:
    """A seeded deploy job of acme, as the registry lists it."""
    listed = httpx.get(f"{sim.url}/registry/v2/jobs/", params={"type": "deploy", "limit": "1"}, auth=sim.auth("acme"))
    return listed.json()["jobs"][0]


def _page_of(job: dict[str, Any]) -> str:
    return f"/t/acme/jobs/{job['type']}/{quote(job['id'], safe='')}/"


def _article(page: bytes) -> Element:
    (article,) = elements(page, "article", "job-detail")
    return article


def _found(client: Client, q: str, **extra: str) -> str:
    answer = client.get("/t/acme/find/", {"q": q, **extra})
    assert answer.status_code == 302, (q, answer.status_code)
    return answer["Location"]


def test_an_id_with_stray_spaces_or_chat_quoting_lands_on_the_jobs_page(
    sim: Any, alice: Client, seeded: dict[str, Any]
) -> None:
    job_id = seeded["id"]
    assert "$" in job_id
    for typed in (job_id, f"  {job_id}\t", f"`{job_id}`", f'"{job_id}".', f"deploy {job_id}", f"deploy/{job_id}"):
        article = _article(alice.get(_found(alice, typed)).content)
        assert (article["data-job-type"], article["data-job-id"]) == ("deploy", job_id), typed


def test_an_id_of_unknown_type_is_tried_as_every_type_at_once(sim: Any, alice: Client, seeded: dict[str, Any]) -> None:
    sim.set_faults(latency_ms=100, endpoints=["get"])  # long enough for the lookups to overlap
    location = _found(alice, seeded["id"])
    assert location.startswith("/t/acme/jobs/deploy/")
    assert sim.count("get", "acme") == len(JOB_TYPES)  # one get per type the registry's get accepts
    assert sim.max_in_flight("get", "acme") > 1  # at once, not one after the other
    gets = sim.count("get", "acme")
    _found(alice, f"deploy {seeded['id']}")
    assert sim.count("get", "acme") == gets  # a given type: one lookup, from the cache


def test_dashboard_and_registry_urls_land_on_the_jobs_page(sim: Any, alice: Client, seeded: dict[str, Any]) -> None:
    page = _page_of(seeded)
    pasted = [
        f"http://testserver{page}",
        page,
        f"http://jobs.example.com{page}log/",
        f"<http://testserver{page}?tz=UTC>",
        f"http://testserver/api/t/acme/jobs/deploy/{quote(seeded['id'], safe='')}/",
        f"{sim.url}/registry/v2/jobs/deploy/{quote(seeded['id'], safe='')}",
        seeded["_links"]["job"]["href"],  # the summary's _links href, `$` unencoded
        f'"href": "{seeded["_links"]["job"]["href"]}",',
        seeded["_links"]["event"]["href"],
        f" {seeded['_links']['job']['href']} ",
    ]
    for typed in pasted:
        location = _found(alice, typed)
        article = _article(alice.get(location).content)
        assert (article["data-job-type"], article["data-job-id"]) == ("deploy", seeded["id"]), typed


def test_an_embedded_member_stays_embedded(sim: Any, alice: Client, seeded: dict[str, Any]) -> None:
    assert _found(alice, seeded["id"], embed="1").endswith("/?embed=1")


def test_nothing_found_is_a_404_that_says_so_and_keeps_what_was_typed(sim: Any, alice: Client) -> None:
    typed = "  6ccc8843-d78d-49e8-84c4-3734a4af9929$IfM2FyNLQ8CEjQGA9w7Ht "
    answer = alice.get("/t/acme/find/", {"q": typed})
    assert answer.status_code == 404
    text = answer.content.decode()
    assert "No such job" in text and "6ccc8843-d78d-49e8-84c4-3734a4af9929$IfM2FyNLQ8CEjQGA9w7Ht" in text
    assert element_by_id(answer.content, "find-q")["value"] == typed


def test_another_tenants_job_is_not_found_and_nothing_of_it_is_read(sim: Any, alice: Client, globex: Any) -> None:
    theirs = sim.create_job("globex", "build")
    for typed in (theirs["id"], f"http://testserver/t/globex/jobs/build/{quote(theirs['id'], safe='')}/"):
        answer = alice.get("/t/acme/find/", {"q": typed})
        assert answer.status_code == 404, typed
    assert "another tenant's page (<code>globex</code>)" in answer.content.decode()
    assert sim.count("get", "globex") == sim.count("list", "globex") == 0
    assert alice.get("/t/globex/find/", {"q": theirs["id"]}).status_code == 404  # not a member there


def test_a_url_naming_another_tenant_is_looked_up_in_this_one(sim: Any, alice: Client, seeded: dict[str, Any]) -> None:
    location = _found(alice, f"http://testserver/t/globex/jobs/deploy/{quote(seeded['id'], safe='')}/")
    assert location.startswith("/t/acme/jobs/deploy/")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "6ccc8843…",
        "build job 6ccc8843...",
        "http://testserver/t/acme/jobs/?type=build",
        "https://api.waylay.io/registry/v2/jobs/compile/abc",
        "http://testserver/e/some-token/",
        "x" * 600,
        "bad\x01id",
    ],
)
def test_text_that_names_no_job_is_a_400_naming_q(sim: Any, alice: Client, typed: str) -> None:
    answer = alice.get("/t/acme/find/", {"q": typed})
    assert answer.status_code == 400
    assert "names no job" in answer.content.decode()
    assert sim.count("get", "acme") == 0


def test_an_unreachable_registry_is_said_so_not_taken_for_no_such_job(
    sim: Any, alice: Client, seeded: dict[str, Any], settings: Any
) -> None:
    settings.UPSTREAM_RETRY_DELAYS = ()
    sim.set_faults(error_status=503, endpoints=["get"])
    answer = alice.get("/t/acme/find/", {"q": "no-such-job$anywhere"})
    assert answer.status_code == 503 and "Waylay is unreachable" in answer.content.decode()
