"""The pieces a list page reuses (jobsdash.jobs.fragments): rendered once, and never shown to
anyone or anywhere they were not rendered for: other tenants, users, modes, time zones; and never
once the job or the list they were rendered from changed (an event, a refetch after a gap)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import Client

from jobsdash.jobs import cache, fragments
from jobsdash.jobs.display import job_row
from jobsdash.jobs.viewers import Viewer
from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.links.visitors import Visitor
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.pages import element_by_id, elements

pytestmark = pytest.mark.django_db

ROW = job_row(
    {
        "type": "build",
        "id": "6ccc8843-d78d-49e8-84c4-3734a4af9929$IfM2FyNLQ8CEjQGA9w7Ht",
        "state": "completed",
        "createdAt": "2024-05-01T12:00:00.000Z",
        "processedAt": "2024-05-01T12:00:01.000Z",
        "finishedAt": "2024-05-01T12:00:09.000Z",
        "function": {"name": "weather", "version": "1.0.0", "functionType": "plugs"},
    }
)


def _links(html: str) -> list[str]:
    return [a["href"] for a in elements(html, "a")]


def test_a_row_is_rendered_for_its_tenant_mode_and_link_only(make_tenant: Callable[..., Tenant]) -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    job = f"/build/{ROW.id}/"
    # The same job, as each would see it, one after the other in one process.
    assert set(_links(fragments.row_html(Viewer(acme), ROW))) == {f"/t/acme/jobs{job}"}
    assert set(_links(fragments.row_html(Viewer(globex), ROW))) == {f"/t/globex/jobs{job}"}
    assert set(_links(fragments.row_html(Viewer(acme, embedded=True), ROW))) == {f"/t/acme/jobs{job}?embed=1"}
    visitor = Visitor(acme, embedded=True, token="tok")
    assert _links(fragments.row_html(visitor, ROW)) == []  # a signed list link opens no job page
    assert set(_links(fragments.row_html(Viewer(acme), ROW))) == {f"/t/acme/jobs{job}"}
    # A tenant renamed (the same row of the database) is linked by its new name at once.
    acme.slug = "acme-corp"
    acme.save()
    assert set(_links(fragments.row_html(Viewer(Tenant.objects.get(pk=acme.pk)), ROW))) == {f"/t/acme-corp/jobs{job}"}


def test_a_changed_job_is_another_row(make_tenant: Callable[..., Tenant]) -> None:
    viewer = Viewer(make_tenant("acme"))
    failed = job_row({**_summary(ROW), "state": "failed"})
    assert elements(fragments.row_html(viewer, ROW), "tr")[0]["data-state"] == "completed"
    assert elements(fragments.row_html(viewer, failed), "tr")[0]["data-state"] == "failed"
    assert elements(fragments.row_html(viewer, ROW), "tr")[0]["data-state"] == "completed"


def _summary(row: Any) -> dict[str, Any]:
    return {
        "type": row.type,
        "id": row.id,
        "state": row.state,
        "createdAt": "2024-05-01T12:00:00.000Z",
        "processedAt": "2024-05-01T12:00:01.000Z",
        "finishedAt": "2024-05-01T12:00:09.000Z",
        "function": {"name": row.function_name, "version": row.function_version, "functionType": row.function_type},
    }


def test_members_get_the_same_rows_and_their_own_page(
    sim: Any, acme: Tenant, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    quinn, reese = login(make_user("quinn", acme)), login(make_user("reese", acme))
    pages = {name: client.get("/t/acme/jobs/?state=completed") for name, client in (("quinn", quinn), ("reese", reese))}
    rows = {name: [r["data-job-id"] for r in elements(page.content, "tr", "job-row")] for name, page in pages.items()}
    assert rows["quinn"] == rows["reese"] and rows["quinn"]
    for name, other in (("quinn", "reese"), ("reese", "quinn")):
        page = pages[name].content.decode()
        assert [e.text for e in elements(page, "span", "who")] == [name]
        assert other not in page
        (token,) = [e["value"] for e in elements(page, "input") if e.get("name") == "csrfmiddlewaretoken"][:1]
        other_tokens = {
            e["value"] for e in elements(pages[other].content, "input") if e.get("name") == "csrfmiddlewaretoken"
        }
        assert token not in other_tokens


def test_a_warm_list_renders_its_finished_rows_once(sim: Any, alice: Client) -> None:
    fragments.clear()  # from a cold process: earlier tests may have rendered the same rows
    # Jobs of a day ago and more: their "N d ago" does not change between the two requests.
    url = "/t/acme/jobs/?state=completed&createdBefore=P1D"
    first = alice.get(url)
    assert "jobs/partials/job_row.html" in [t.name for t in first.templates]
    again = alice.get(url)
    assert "jobs/partials/job_row.html" not in [t.name for t in again.templates]
    assert again.content.count(b'class="job-row"') == first.content.count(b'class="job-row"') > 0
    # The filter form too: rendered for the first values, reused for the same ones.
    assert "jobs/partials/filter_grid.html" not in [t.name for t in again.templates]


def test_each_mode_sees_its_own_rows_of_one_list(sim: Any, acme: Tenant, alice: Client) -> None:
    query = "type=deploy&state=completed"
    site = alice.get(f"/t/acme/jobs/?{query}").content
    embedded = alice.get(f"/t/acme/jobs/?{query}&embed=1").content
    link = create_link(
        acme,
        None,
        scope=EmbedLink.Scope.LIST,
        lifetime=timedelta(hours=1),
        query=parse_list_query({"type": ["deploy"], "state": ["completed"]}),
    )
    visited = Client().get(f"/e/{token_for(link)}/").content
    ids = [r["data-job-id"] for r in elements(site, "tr", "job-row")]
    assert ids and ids == [r["data-job-id"] for r in elements(embedded, "tr", "job-row")]
    assert ids == [r["data-job-id"] for r in elements(visited, "tr", "job-row")]

    def row_links(page: bytes) -> set[str]:
        found = elements(page)
        rows = [n for n, e in enumerate(found) if e.tag == "tr" and "job-row" in e.classes]
        return {e["href"] for e in found if e.tag == "a" and any(r in e.ancestors for r in rows)}

    assert row_links(site) and all(h.startswith("/t/acme/jobs/deploy/") and "embed" not in h for h in row_links(site))
    assert row_links(embedded) and all(h.endswith("?embed=1") for h in row_links(embedded))
    assert row_links(visited) == set()


def test_each_zone_gets_its_own_overview(sim: Any, alice: Client) -> None:
    for zone in ("UTC", "Asia/Tokyo", "UTC", "America/New_York"):
        page = alice.get(f"/t/acme/jobs/?createdAfter=P1D&tz={quote(zone)}").content
        assert element_by_id(page, "overview")["data-zone"] == zone
        assert f"times in {zone}".encode() in page


def test_a_refetch_after_a_gap_shows_the_change_and_not_the_rows_from_before(
    sim: Any, acme: Tenant, alice: Client
) -> None:
    job = sim.create_job("acme", "scale")
    sim.advance("acme", "scale", job["id"], to="active")

    def state() -> str:
        page = alice.get("/t/acme/jobs/?type=scale").content
        (found,) = [r["data-state"] for r in elements(page, "tr", "job-row") if r["data-job-id"] == job["id"]]
        return found

    assert state() == "active"
    sim.advance("acme", "scale", job["id"], to="failed", silent=True)  # a change no event tells of
    assert state() == "active"  # the list is still fresh in the cache: nothing could know
    async_to_sync(cache.on_stream_gap)(acme)  # the relay's stream reconnected: a gap
    assert state() == "failed"
    row = alice.get(f"/t/acme/jobs/scale/{quote(job['id'], safe='')}/row/?type=scale")
    assert elements(row.content, "tr", "job-row")[0]["data-state"] == "failed"


def test_a_job_event_brings_the_jobs_new_row(sim: Any, acme: Tenant, alice: Client) -> None:
    job = sim.create_job("acme", "scale")
    url = f"/t/acme/jobs/scale/{quote(job['id'], safe='')}/row/"
    assert elements(alice.get(url).content, "tr", "job-row")[0]["data-state"] == "waiting"
    sim.advance("acme", "scale", job["id"], to="active")
    async_to_sync(cache.on_job_event)(acme, "scale", job["id"])  # as the relay does for the event
    assert elements(alice.get(url).content, "tr", "job-row")[0]["data-state"] == "active"
    listed = alice.get("/t/acme/jobs/?type=scale").content
    assert [r["data-state"] for r in elements(listed, "tr", "job-row") if r["data-job-id"] == job["id"]] == ["active"]
