"""Walking a tenant's job history on the list page against the simulator: "Older" (rel="next")
and "Newer" (rel="prev") show every job the registry retains exactly once, jobs created in the
same millisecond included, wherever the pages are cut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from django.test import Client

from tests.fixtures.pages import elements

pytestmark = pytest.mark.django_db


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def tied(sim: Any) -> list[str]:
    """Jobs created in the same millisecond, besides the seeded flows (whose three jobs tie): seven
    at one instant, four at the next millisecond, two at the one after."""
    start = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=123_000)
    made = []
    for offset, count in ((0, 7), (1, 4), (2, 2)):
        for _ in range(count):
            made.append(
                sim.create_job("acme", "scale", created_at=_stamp(start + timedelta(milliseconds=offset)))["id"]
            )
    return made


def _upstream(sim: Any, **params: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{sim.url}/registry/v2/jobs/", params={"limit": "1000", **params}, auth=sim.auth("acme"))
    answer.raise_for_status()
    return answer.json()["jobs"]


def _visit(client: Client, url: str) -> tuple[list[tuple[str, str]], dict[str, str], str]:
    """The (id, createdAt) of the rows of a list page, its history links by rel, and its text."""
    page = client.get(url)
    assert page.status_code == 200, url
    rows = [(row["data-job-id"], row["data-created"]) for row in elements(page.content, "tr", "job-row")]
    links = {a["rel"]: a["href"] for a in elements(page.content, "a") if a.get("rel") in ("next", "prev")}
    return rows, links, page.content.decode()


def _walk(client: Client, url: str, rel: str) -> tuple[list[list[tuple[str, str]]], str]:
    """The rows of each page from `url` following `rel` links to the end, and the last page's text."""
    pages = []
    for _ in range(500):
        rows, links, text = _visit(client, url)
        pages.append(rows)
        if rel not in links:
            return pages, text
        url = links[rel]
    raise AssertionError("the walk does not end")


def _created(rows: list[tuple[str, str]]) -> list[datetime]:
    return [datetime.fromisoformat(created.replace("Z", "+00:00")) for _, created in rows]


@pytest.mark.parametrize("limit", ["3", "5"])
def test_older_then_newer_walk_the_whole_history_once_whatever_the_cut(
    sim: Any, tied: list[str], alice: Client, limit: str
) -> None:
    everything = [job["id"] for job in _upstream(sim)]
    assert set(tied) <= set(everything)

    pages, last = _walk(alice, f"/t/acme/jobs/?limit={limit}", "next")
    walked = [row for page in pages for row in page]
    assert sorted(job_id for job_id, _ in walked) == sorted(everything)  # none skipped, none twice
    assert _created(walked) == sorted(_created(walked), reverse=True)  # newest first across pages
    assert "No older jobs retained by the registry." in last
    for page in pages:  # a page holds at most `limit` jobs, unless they all share one millisecond
        assert len(page) <= int(limit) or len({created for _, created in page}) == 1, page
    # The seven jobs of one millisecond are on one page, even with pages of two.
    assert any(set(tied[:7]) <= {job_id for job_id, _ in page} for page in pages)

    oldest_page = [page for page in pages if page][-1]  # the last page may be empty: it says so
    created_before = _stamp(_created(oldest_page)[0] + timedelta(milliseconds=1))
    back, first = _walk(alice, f"/t/acme/jobs/?limit={limit}&createdBefore={created_before}", "prev")
    walked_back = [row for page in reversed(back) for row in page]
    assert sorted(job_id for job_id, _ in walked_back) == sorted(everything)
    assert _created(walked_back) == sorted(_created(walked_back), reverse=True)
    assert "No newer" not in first and back[-1] and back[-1][0][0] == everything[0]  # up to the newest job


def test_the_links_keep_the_filter_and_the_walk_ends_at_the_filters_own_bound(
    sim: Any, tied: list[str], alice: Client
) -> None:
    wanted = {job["id"] for job in _upstream(sim, type="scale", createdAfter="P5D")}
    assert set(tied) <= wanted
    pages, last = _walk(alice, "/t/acme/jobs/?type=scale&createdAfter=P5D&limit=3&embed=1", "next")
    assert sorted(job_id for page in pages for job_id, _ in page) == sorted(wanted)
    assert "No older jobs created after P5D." in last
    rows, links, _ = _visit(alice, "/t/acme/jobs/?type=scale&createdAfter=P5D&limit=3&embed=1")
    older = links["next"]
    for kept in ("type=scale", "createdAfter=P5D", "limit=3", "embed=1", "createdBefore="):
        assert kept in older, kept
    _, links, _ = _visit(alice, older)
    newer = links["prev"]
    assert "createdBefore" not in newer and "after=" in newer and "embed=1" in newer
    assert _visit(alice, newer)[0] == rows  # back where the walk began


def test_a_newer_page_of_the_newest_jobs_is_the_newest_page(sim: Any, alice: Client) -> None:
    newest = _upstream(sim)[:3]
    before_them = _stamp(datetime.fromisoformat(newest[-1]["createdAt"].replace("Z", "+00:00")) - timedelta(seconds=1))
    rows, links, _ = _visit(alice, f"/t/acme/jobs/?after={before_them}&limit=10")
    assert [job_id for job_id, _ in rows] == [job["id"] for job in newest]
    assert "prev" not in links and "next" in links


def test_a_bad_history_start_is_a_400_naming_it(sim: Any, alice: Client) -> None:
    page = alice.get("/t/acme/jobs/?after=yesterday")
    assert page.status_code == 400
    assert "after" in page.content.decode() and sim.count("list", "acme") == 0
