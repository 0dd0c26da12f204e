"""The overview on the job list page agrees with the jobs the simulator returned."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

RECT = re.compile(
    r'<rect class="bar state-([a-z-]+)" data-job-id="([^"]+)" data-job-type="([^"]+)"\s+'
    r'x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"'
)


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
    bars = RECT.findall(page)
    assert len(bars) == len(jobs)
    lanes = []
    for state, job_id, job_type, x, y, width in bars:
        job = jobs[html.unescape(job_id)]
        assert (state, job_type) == (job["state"], job["type"])
        created = datetime.fromisoformat(job["createdAt"].replace("Z", "+00:00")).timestamp()
        assert float(x) == pytest.approx((created - start) / (end - start) * 1000, abs=0.01)
        if job.get("finishedAt"):
            finished = datetime.fromisoformat(job["finishedAt"].replace("Z", "+00:00")).timestamp()
            expected = max(2.0, (min(finished, end) - created) / (end - start) * 1000)
            assert float(width) == pytest.approx(expected, abs=0.02)
        lanes.append((created, float(y)))
    assert [y for _, y in sorted(lanes)] == sorted(y for _, y in lanes)  # oldest job on top
    assert 'href="/t/acme/jobs/' in re.search(r"<svg.*?</svg>", page, re.S).group(0)  # a click opens the job
