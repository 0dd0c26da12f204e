"""The verify -> build -> deploy family tree on the job page."""

from __future__ import annotations

import html
from urllib.parse import quote

import httpx
import pytest
from django.test import Client

from tests.fixtures.pages import elements

pytestmark = pytest.mark.django_db


def nodes(page: str) -> list[tuple[str, str, str]]:
    """(id, type, state) of each job of the family tree, in order: a node and the badge it opens with."""
    found = []
    tree = elements(page)
    for n, element in enumerate(tree):
        if element.tag == "li" and "data-job-id" in element.attrs:
            badge = next(e for e in tree[n + 1 :] if "badge" in e.classes)
            found.append((element["data-job-id"], element["data-job-type"], badge["data-state"]))
    return found


def _get(sim, job_type: str, job_id: str) -> dict:
    url = f"{sim.url}/registry/v2/jobs/{job_type}/{quote(job_id, safe='')}"
    return httpx.get(url, auth=("acme-key", "acme-secret")).json()["job"]


def _family_from_the_upstream(sim) -> tuple[dict, list[dict]]:
    """A seeded verify job and its children, found by reading every build and deploy job."""
    auth = ("acme-key", "acme-secret")
    jobs = httpx.get(
        f"{sim.url}/registry/v2/jobs/", params={"type": ["build", "deploy"], "limit": 1000}, auth=auth
    ).json()["jobs"]
    children: dict[str, list[dict]] = {}
    for job in jobs:
        parent = _get(sim, job["type"], job["id"])["job"].get("parent")
        if parent:
            children.setdefault(parent["id"], []).append(job)
    verify_id, kids = next((pid, kids) for pid, kids in children.items() if len(kids) == 2)
    return _get(sim, "verify", verify_id), kids


def test_a_verify_job_shows_its_build_and_deploy_children(sim, alice: Client) -> None:
    verify, children = _family_from_the_upstream(sim)
    page = alice.get(f"/t/acme/jobs/verify/{quote(verify['job']['id'], safe='')}/").content.decode()
    tree = nodes(page)
    assert tree[0] == (verify["job"]["id"], "verify", verify["state"])
    assert sorted(tree[1:]) == sorted((c["id"], c["type"], c["state"]) for c in children)
    assert [t for _, t, _ in tree[1:]] == ["build", "deploy"]
    assert "(this job)" in page


def test_a_child_shows_its_parent_and_siblings_with_links(sim, alice: Client) -> None:
    verify, children = _family_from_the_upstream(sim)
    child = next(c for c in children if c["type"] == "deploy")
    page = alice.get(f"/t/acme/jobs/deploy/{quote(child['id'], safe='')}/").content.decode()
    tree = [(i, t) for i, t, _ in nodes(page)]
    assert tree[0] == (verify["job"]["id"], "verify")
    assert set(tree[1:]) == {(c["id"], c["type"]) for c in children}
    assert f'href="/t/acme/jobs/verify/{html.escape(verify["job"]["id"])}/"' in page


def test_a_job_without_family_has_no_tree(sim, alice: Client) -> None:
    scale = httpx.get(f"{sim.url}/registry/v2/jobs/", params={"type": "scale"}, auth=("acme-key", "acme-secret"))
    job_id = scale.json()["jobs"][0]["id"]
    assert 'id="family-tree"' not in alice.get(f"/t/acme/jobs/scale/{quote(job_id, safe='')}/").content.decode()
