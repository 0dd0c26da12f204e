"""Failure groups against the simulator on a real port: the page, its partial, the API and the
list page's section group exactly the failed jobs the simulator holds for the filter; the cap on
detail reads and the partial flag; a second look costs no detail call; bad input and other
tenants; signed list links see the groups of their filter only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobsdash.jobs.signatures import signature, subject_of
from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.pages import element_by_id, elements, inside

pytestmark = pytest.mark.django_db

OUTAGE = (
    'Deployment failed: Failed to pull image "<image>": rpc error: code = Unavailable desc = '
    "registry.waylay.io: 503 Service Unavailable"
)


def _registry(sim: Any, path: str, **params: Any) -> Any:
    answer = httpx.get(f"{sim.url}/registry/v2/jobs/{path}", params=params, auth=sim.auth("acme"), timeout=10)
    answer.raise_for_status()
    return answer.json()


def _expected_groups(sim: Any, params: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """The simulator's failed jobs for the filter, by the signature of their failedReason."""
    groups: dict[str, set[tuple[str, str]]] = {}
    for job in _registry(sim, "", **params, state="failed")["jobs"]:
        document = _registry(sim, f"{job['type']}/{quote(job['id'], safe='')}")
        reason = document["job"]["job"]["failedReason"]
        groups.setdefault(signature(reason, subject_of(document)), set()).add((job["type"], job["id"]))
    return groups


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"type": "deploy"},
        {"createdAfter": "P2D"},
        {"type": ["build", "verify"], "limit": "4"},
        {"functionType": "plugs"},
    ],
)
def test_the_groups_are_the_failed_jobs_the_simulator_holds_for_the_filter(
    sim: Any, alice: Client, params: dict[str, Any]
) -> None:
    expected = _expected_groups(sim, params)
    answer = alice.get("/api/t/acme/failures/", params)
    assert answer.status_code == 200
    document = answer.json()
    got = {group["signature"]: {(job["type"], job["id"]) for job in group["jobs"]} for group in document["groups"]}
    assert got == expected
    assert all(group["count"] == len(group["jobs"]) for group in document["groups"])
    listed = sum(len(jobs) for jobs in expected.values())
    assert (document["partial"], document["listed"], document["grouped"]) == (False, listed, listed)
    # Most recent failure first.
    assert [g["lastSeen"] for g in document["groups"]] == sorted(
        (g["lastSeen"] for g in document["groups"]), reverse=True
    )


def test_the_seeded_incident_is_one_group_with_its_functions_and_times(sim: Any, alice: Client) -> None:
    (outage,) = [g for g in alice.get("/api/t/acme/failures/?type=deploy").json()["groups"] if g["signature"] == OUTAGE]
    assert outage["count"] == 5 and outage["types"] == ["deploy"]
    documents = [_registry(sim, f"deploy/{quote(job['id'], safe='')}")["job"] for job in outage["jobs"]]
    assert set(outage["functions"]) == {f"{d['function']['name']}@{d['function']['version']}" for d in documents}
    finished = sorted(d["finishedAt"] for d in documents)
    assert (outage["firstSeen"], outage["lastSeen"]) == (finished[0], finished[-1])


def test_the_failures_page_shows_each_group_with_links_and_markdown(sim: Any, alice: Client) -> None:
    page = alice.get("/t/acme/failures/?type=deploy")
    assert page.status_code == 200
    groups = elements(page.content, "li", "failure-group")
    outage = next(g for g in groups if g["data-signature"] == OUTAGE)
    assert outage["data-count"] == "5"
    section = element_by_id(page.content, "failure-groups")
    assert section["data-url"] == "/t/acme/failures/groups/?state=failed&type=deploy"
    # The section alone, as live updates fetch it, is the same groups.
    alone = alice.get(section["data-url"])
    assert [g["data-signature"] for g in elements(alone.content, "li", "failure-group")] == [
        g["data-signature"] for g in groups
    ]
    (copy,) = [b for b in elements(page.content, "button", "copy") if OUTAGE.split(":")[0] in b["data-copy"]][:1]
    markdown = copy["data-copy"]
    assert markdown.startswith("**5 failures** · `Deployment failed: Failed to pull image")
    assert (
        "http://testserver/t/acme/jobs/deploy/" in markdown
        and "[All 5 in jobsdash](http://testserver/t/acme/jobs/?" in markdown
    )


def test_a_groups_list_link_lists_its_failures(sim: Any, alice: Client) -> None:
    page = alice.get("/t/acme/failures/?type=deploy")
    (link,) = [a for a in elements(page.content, "a", "failure-list-link") if "5 in the list" in a.text]
    listed = alice.get(link["href"])
    ids = {row["data-job-id"] for row in elements(listed.content, "tr", "job-row")}
    outage = next(
        g for g in alice.get("/api/t/acme/failures/?type=deploy").json()["groups"] if g["signature"] == OUTAGE
    )
    assert {job["id"] for job in outage["jobs"]} <= ids
    assert {row["data-state"] for row in elements(listed.content, "tr", "job-row")} == {"failed"}


def test_details_beyond_the_cap_are_not_read_and_the_groups_say_they_are_partial(
    sim: Any, alice: Client, settings: Any
) -> None:
    settings.FAILURE_DETAILS_CAP = 4
    failed = _registry(sim, "", state="failed")["jobs"]
    assert len(failed) > 4
    document = alice.get("/api/t/acme/failures/").json()
    assert (document["partial"], document["listed"], document["grouped"]) == (True, len(failed), 4)
    assert sim.count("get", "acme") == 4
    # The most recent four were read.
    assert {(j["type"], j["id"]) for g in document["groups"] for j in g["jobs"]} == {
        (job["type"], job["id"]) for job in failed[:4]
    }
    page = alice.get("/t/acme/failures/").content.decode()
    assert f"grouped 4 of {len(failed)} failures" in page
    assert sim.count("get", "acme") == 4  # the page found the same four in the cache


def test_a_second_look_costs_no_detail_call(sim: Any, alice: Client) -> None:
    failed = len(_registry(sim, "", state="failed")["jobs"])
    assert alice.get("/t/acme/failures/").status_code == 200
    assert sim.count("get", "acme") == failed
    for url in ("/t/acme/failures/", "/api/t/acme/failures/", "/t/acme/jobs/", "/t/acme/failures/groups/?top=3"):
        assert alice.get(url).status_code == 200
    assert sim.count("get", "acme") == failed


def test_an_unreadable_detail_is_left_out_and_the_groups_are_partial(sim: Any, alice: Client) -> None:
    failed = len(_registry(sim, "", state="failed")["jobs"])
    sim.set_faults(error_status=404, error_times=1, endpoints=["get"])
    document = alice.get("/api/t/acme/failures/").json()
    assert (document["partial"], document["listed"], document["grouped"]) == (True, failed, failed - 1)


def test_the_list_page_shows_its_first_groups_and_links_to_all(sim: Any, alice: Client) -> None:
    page = alice.get("/t/acme/jobs/")
    # The page does not wait for the failed jobs' details: it reads the list, and its section says
    # where the groups come from (its script fetches them; without one, a link leads to them).
    assert (sim.count("list", "acme"), sim.count("get", "acme")) == (1, 0)
    section = element_by_id(page.content, "failure-groups")
    assert section["data-url"] == "/t/acme/failures/groups/?state=failed&top=5"
    assert [a["href"] for a in inside(page.content, "failure-groups", "a")] == ["/t/acme/failures/?state=failed"]
    everything = alice.get("/api/t/acme/failures/").json()["groups"]
    assert len(everything) > 5
    groups = alice.get(section["data-url"]).content
    assert [g["data-signature"] for g in elements(groups, "li", "failure-group")] == [
        g["signature"] for g in everything[:5]
    ]
    more = [a for a in elements(groups, "a") if a.text == f"All {len(everything)} failure groups"]
    assert more and more[0]["href"] == "/t/acme/failures/?state=failed"


def test_groups_the_registry_cannot_give_say_so_and_the_list_is_shown(sim: Any, alice: Client) -> None:
    assert alice.get("/t/acme/jobs/").status_code == 200  # the list is cached, the failed jobs are not
    sim.set_faults(error_status=503, endpoints=["list"])
    answer = alice.get("/t/acme/failures/groups/?state=failed&top=5")
    assert answer.status_code == 503
    section = element_by_id(answer.content, "failure-groups")
    assert section["data-url"] == "/t/acme/failures/groups/?state=failed&top=5"  # the next failure tries again
    assert "Waylay did not answer" in answer.content.decode()
    assert alice.get("/t/acme/jobs/").status_code == 200


def test_a_filter_without_failed_states_has_nothing_to_group(sim: Any, alice: Client) -> None:
    assert alice.get("/api/t/acme/failures/?state=completed").json() == {
        "groups": [],
        "partial": False,
        "listed": 0,
        "grouped": 0,
    }
    assert b"failure-groups" not in alice.get("/t/acme/jobs/?state=completed").content
    assert "leave out failed jobs" in alice.get("/t/acme/failures/?state=completed").content.decode()
    assert sim.count("get", "acme") == 0


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("type=compile", "type"), ("createdAfter=yesterday", "createdAfter"), ("limit=-3", "limit")],
)
def test_bad_input_is_a_400_naming_the_parameter(sim: Any, alice: Client, query: str, parameter: str) -> None:
    api = alice.get(f"/api/t/acme/failures/?{query}")
    assert api.status_code == 400 and api.json()["parameter"] == parameter
    page = alice.get(f"/t/acme/failures/?{query}")
    assert page.status_code == 400 and f"<strong>{parameter}</strong>" in page.content.decode()
    assert alice.get(f"/t/acme/failures/groups/?{query}").status_code == 400
    assert alice.get("/t/acme/failures/groups/?top=0").status_code == 400
    assert sim.count("list", "acme") == 0


def test_another_tenants_failures_are_a_404(
    sim: Any, alice: Client, globex: Tenant, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    for url in ("/t/globex/failures/", "/t/globex/failures/groups/", "/api/t/globex/failures/"):
        assert alice.get(url).status_code == 404, url
    assert sim.count("list", "globex") == sim.count("get", "globex") == 0
    assert login(make_user("gus", globex)).get("/t/globex/failures/").status_code == 200


def _link_page(acme: Tenant, query: str) -> tuple[str, bytes]:
    link = create_link(
        acme, None, scope=EmbedLink.Scope.LIST, lifetime=timedelta(hours=1), query=parse_list_query(_qs(query))
    )
    token = token_for(link)
    return token, Client().get(f"/e/{token}/").content


def _qs(query: str) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        pairs.setdefault(name, []).append(value)
    return pairs


def test_a_signed_list_link_sees_the_groups_of_its_filter_only(sim: Any, acme: Tenant) -> None:
    token, page = _link_page(acme, "type=deploy")
    # The page fetches the link's own groups, whatever a URL asks; no job page is linked.
    section = element_by_id(page, "failure-groups")
    assert section["data-url"] == f"/e/{token}/failures/?top=5"
    groups = elements(Client().get(section["data-url"]).content, "li", "failure-group")
    assert groups and OUTAGE in {g["data-signature"] for g in groups}
    expected = _expected_groups(sim, {"type": "deploy"})
    assert {g["data-signature"] for g in groups} <= set(expected)
    alone = Client().get(f"/e/{token}/failures/?type=build&state=completed")
    assert {g["data-signature"] for g in elements(alone.content, "li", "failure-group")} <= set(expected)
    assert not [a for a in elements(alone.content, "a") if "/t/acme/" in a.get("href")]
    # A link whose states leave out failed jobs shows none.
    _, completed = _link_page(acme, "state=completed")
    assert b"failure-group" not in completed
