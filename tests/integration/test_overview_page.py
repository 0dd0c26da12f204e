"""The overview on the job list page agrees with the jobs the simulator returned."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.pages import element_by_id, elements

pytestmark = pytest.mark.django_db


def _counts(page: str, kind: str) -> dict[str, int]:
    block = re.search(rf'data-counts="{kind}".*?</ul>', page, re.S).group(0)
    return {key: int(n) for key, n in re.findall(r'data-key="([^"]+)">.*?<span class="n">(\d+)</span>', block, re.S)}


@pytest.mark.parametrize("query", ["", "createdAfter=P7D", "type=build&type=deploy", "state=failed&limit=5"])
def test_the_overview_counts_the_jobs_the_upstream_returned(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client], query: str
) -> None:
    page = login(make_user("alice", acme)).get(f"/t/acme/jobs/?{query}").content.decode()
    jobs = httpx.get(f"{sim.url}/registry/v2/jobs/?{query}", auth=("acme-key", "acme-secret")).json()["jobs"]
    assert int(re.search(r'data-count="total">(\d+)<', page).group(1)) == len(jobs)
    assert int(re.search(r'data-count="failed">(\d+)<', page).group(1)) == sum(j["state"] == "failed" for j in jobs)
    assert _counts(page, "state") == Counter(j["state"] for j in jobs)
    assert _counts(page, "type") == Counter(j["type"] for j in jobs)


def test_the_timeline_draws_each_job_from_created_to_finished(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    page = login(make_user("alice", acme)).get("/t/acme/jobs/?createdAfter=P7D").content.decode()
    jobs = {
        j["id"]: j
        for j in httpx.get(f"{sim.url}/registry/v2/jobs/?createdAfter=P7D", auth=("acme-key", "acme-secret")).json()[
            "jobs"
        ]
    }
    start = int(re.search(r'data-start="(\d+)"', page).group(1)) / 1000
    end = int(re.search(r'data-end="(\d+)"', page).group(1)) / 1000
    bars = elements(page, "rect", "bar")
    assert len(bars) == len(jobs)
    lanes = []
    for bar in bars:
        job = jobs[bar["data-job-id"]]
        x, y, width = bar["x"], bar["y"], bar["width"]
        assert (bar.classes, bar["data-job-type"]) == (["bar", f"state-{job['state']}"], job["type"])
        created = datetime.fromisoformat(job["createdAt"].replace("Z", "+00:00")).timestamp()
        assert float(x) == pytest.approx((created - start) / (end - start) * 1000, abs=0.01)
        if job.get("finishedAt"):
            finished = datetime.fromisoformat(job["finishedAt"].replace("Z", "+00:00")).timestamp()
            expected = max(2.0, (min(finished, end) - created) / (end - start) * 1000)
            assert float(width) == pytest.approx(expected, abs=0.02)
        lanes.append((created, float(y)))
    assert [y for _, y in sorted(lanes)] == sorted(y for _, y in lanes)  # oldest job on top
    assert 'href="/t/acme/jobs/' in re.search(r"<svg.*?</svg>", page, re.S).group(0)  # a click opens the job


def test_the_overview_renders_alone_for_the_pages_filter_to_replace_the_pages(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    client = login(make_user("alice", acme))
    page = client.get("/t/acme/jobs/?type=build&state=failed&embed=1").content.decode()
    url = element_by_id(page, "overview")["data-url"]
    assert url == "/t/acme/jobs/overview/?state=failed&type=build&embed=1"
    part = client.get(url).content.decode()
    jobs = httpx.get(f"{sim.url}/registry/v2/jobs/?type=build&state=failed", auth=("acme-key", "acme-secret")).json()
    assert int(re.search(r'data-count="total">(\d+)<', part).group(1)) == len(jobs["jobs"])
    assert _counts(part, "state") == {"failed": len(jobs["jobs"])}
    assert element_by_id(part, "overview")["data-url"] == url  # fetched again
    assert all("embed=1" in href for href in re.findall(r'href="([^"]+)"', part))  # its links stay embedded
    assert client.get("/t/acme/jobs/overview/?state=bogus").status_code == 400


def test_a_signed_links_overview_is_its_filters_and_a_job_link_has_none(sim, acme) -> None:
    def token(**scope: object) -> str:
        return token_for(create_link(acme, None, lifetime=timedelta(hours=1), **scope))

    deploys = token(scope=EmbedLink.Scope.LIST, query=parse_list_query({"type": ["deploy"]}))
    part = Client().get(f"/e/{deploys}/overview/?type=build").content.decode()  # the link's filter, not the URL's
    assert _counts(part, "type").keys() == {"deploy"}
    one_job = token(scope=EmbedLink.Scope.JOB, job_type="build", job_id="x")
    assert Client().get(f"/e/{one_job}/overview/").status_code == 404
