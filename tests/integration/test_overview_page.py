"""The overview on the job list page agrees with the jobs the simulator returned."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.pages import element_by_id, elements, inside

pytestmark = pytest.mark.django_db


def _counts(page: str, kind: str) -> dict[str, int]:
    """The overview's counts per `kind` (state or type): each item's key and its number."""
    found = elements(page)
    (listing,) = [n for n, e in enumerate(found) if e.tag == "ul" and e.get("data-counts") == kind]
    items = {n: e["data-key"] for n, e in enumerate(found) if e.tag == "li" and listing in e.ancestors}
    return {items[e.ancestors[-1]]: int(e.text) for e in found if "n" in e.classes and e.ancestors[-1] in items}


def _stat(page: str | bytes, name: str) -> int:
    """The overview's figure of `name` (total, failed)."""
    (figure,) = [e for e in elements(page) if e.get("data-count") == name]
    return int(figure.text)


@pytest.mark.parametrize("query", ["", "createdAfter=P7D", "type=build&type=deploy", "state=failed&limit=5"])
def test_the_overview_counts_the_jobs_the_upstream_returned(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client], query: str
) -> None:
    page = login(make_user("alice", acme)).get(f"/t/acme/jobs/?{query}").content.decode()
    jobs = httpx.get(f"{sim.url}/registry/v2/jobs/?{query}", auth=("acme-key", "acme-secret")).json()["jobs"]
    assert _stat(page, "total") == len(jobs)
    assert _stat(page, "failed") == sum(j["state"] == "failed" for j in jobs)
    assert _counts(page, "state") == Counter(j["state"] for j in jobs)
    assert _counts(page, "type") == Counter(j["type"] for j in jobs)


def _upstream(sim, query: str) -> list[dict]:
    return httpx.get(f"{sim.url}/registry/v2/jobs/?{query}", auth=("acme-key", "acme-secret")).json()["jobs"]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _windows() -> list[str]:
    """Absolute windows (the page and the test ask the simulator for the same jobs), and none."""
    now = datetime.now(UTC).replace(microsecond=0)

    def iso(ago: timedelta) -> str:
        return (now - ago).isoformat().replace("+00:00", "Z")

    return [
        f"createdAfter={iso(timedelta(days=7))}",
        f"createdAfter={iso(timedelta(days=1))}&createdBefore={iso(timedelta(hours=2))}",
        f"createdAfter={iso(timedelta(hours=6))}",
        f"createdAfter={iso(timedelta(days=3))}&type=deploy&type=build",
        "state=failed",
    ]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
@pytest.mark.parametrize("window", range(5))
def test_the_histograms_numbers_are_the_simulators_jobs_per_bucket_and_state(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client], window: int, zone: str
) -> None:
    query = _windows()[window]
    page = login(make_user("alice", acme)).get(f"/t/acme/jobs/overview/?{query}&tz={zone}").content
    jobs = _upstream(sim, query)
    assert element_by_id(page, "overview")["data-zone"] == zone
    header = [
        th.text for th in elements(page, "th") if th.get("scope") == "col" and th.ancestors and "data-state" in th.attrs
    ]
    states = {j["state"] for j in jobs} | {"failed"}
    assert header[0] == "failed" and set(header) == states  # a column per state, failures first
    rows = elements(page, "tr")
    buckets = [row for row in rows if "data-start" in row.attrs]
    cells = [e for e in elements(page, "td") if e.get("data-state")]
    per_row = len(header) + 1
    assert len(cells) == per_row * len(buckets)
    local = ZoneInfo(zone)
    for index, row in enumerate(buckets):
        start, end = _time(row["data-start"]), _time(row["data-end"])
        last = index == len(buckets) - 1
        inside = [j for j in jobs if start <= _time(j["createdAt"]) and (_time(j["createdAt"]) < end or last)]
        shown = {c["data-state"]: int(c.text) for c in cells[index * per_row : (index + 1) * per_row]}
        assert shown == {**{s: sum(j["state"] == s for j in inside) for s in header}, "total": len(inside)}, row.attrs
        assert start.astimezone(local).second == 0 and start.astimezone(local).minute % 5 == 0  # aligned locally
    assert sum(int(c.text) for c in cells if c["data-state"] == "total") == len(jobs)
    # The bars say the same, failures at the base of each.
    found = elements(page)
    for position, bar in enumerate(found):
        if "bucket" not in bar.classes:
            continue
        segments = [e for e in found if "seg" in e.classes and e.ancestors[-1] == position]
        assert sum(int(s["data-count"]) for s in segments) == int(bar["data-total"]) > 0
        if int(bar["data-failed"]):
            assert segments[0]["data-state"] == "failed"
            assert float(segments[0]["y"]) == max(float(s["y"]) for s in segments)  # the lowest


def test_a_bar_lists_the_jobs_of_its_bucket(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    client = login(make_user("alice", acme))
    query = _windows()[0]
    page = client.get(f"/t/acme/jobs/?{query}&type=deploy").content
    bars = elements(page, "a", "bucket")
    assert bars
    for bar in bars[:5]:
        listed = client.get(bar["href"]).content
        ids = [row["data-job-id"] for row in elements(listed, "tr", "job-row")]
        assert len(ids) == int(bar["data-total"]) and {
            row["data-job-type"] for row in elements(listed, "tr", "job-row")
        } == {"deploy"}
        start, end = _time(bar["data-start"]), _time(bar["data-end"])
        assert all(start <= _time(row["data-created"]) <= end for row in elements(listed, "tr", "job-row"))


def test_durations_are_the_percentiles_of_the_simulators_jobs(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    query = _windows()[0]
    page = login(make_user("alice", acme)).get(f"/t/acme/jobs/?{query}").content
    jobs = _upstream(sim, query)
    found = elements(page)
    (table,) = [n for n, e in enumerate(found) if e.get("id") == "durations-by-type"]
    rows = {
        e["data-key"]: n for n, e in enumerate(found) if e.tag == "tr" and table in e.ancestors and e.get("data-key")
    }
    assert set(rows) == {j["type"] for j in jobs}
    measures = {
        "run": lambda j: j["state"] in ("completed", "failed") and (j.get("processedAt"), j.get("finishedAt")),
        "wait": lambda j: (j.get("createdAt"), j.get("processedAt")),
    }
    for job_type, row in rows.items():
        for measure, ends in measures.items():
            spans = [ends(j) for j in jobs if j["type"] == job_type]
            values = sorted(max(0.0, (_time(b) - _time(a)).total_seconds()) for a, b in filter(None, spans) if a and b)
            at = {
                c["data-value"]: n
                for n, c in enumerate(found)
                if c.get("data-measure") == measure and row in c.ancestors
            }
            cells = {name: found[n] for name, n in at.items()}
            assert int(cells["count"].text) == len(values), (job_type, measure)
            if values:  # nearest-rank percentiles, a real job's value each
                p50, p95 = values[math.ceil(0.5 * len(values)) - 1], values[math.ceil(0.95 * len(values)) - 1]
                assert [float(cells[k]["data-seconds"]) for k in ("p50", "p95", "max")] == [p50, p95, values[-1]]
                (slowest,) = [e for e in found if e.tag == "a" and at["max"] in e.ancestors]  # links to that job
                job = next(j for j in jobs if slowest["href"] == f"/t/acme/jobs/{j['type']}/{j['id']}/")
                a, b = ends(job)
                assert max(0.0, (_time(b) - _time(a)).total_seconds()) == values[-1]


def test_a_list_cut_by_its_limit_says_so_and_charts_only_what_it_listed(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    client = login(make_user("alice", acme))
    page = client.get("/t/acme/jobs/?createdAfter=P7D&limit=5").content
    note = element_by_id(page, "limit-note")
    assert (
        "listed 5 jobs" in "".join(e.text for e in elements(page) if note.attrs is e.attrs or False)
        or b"listed 5 jobs" in page
    )
    assert sum(int(c.text) for c in elements(page, "td") if c.get("data-state") == "total") == 5
    (more,) = [a for a in elements(page, "a") if a.text == "List up to 1000"]
    assert "limit=1000" in more["href"] and "createdAfter=P7D" in more["href"]
    assert b'id="limit-note"' not in client.get("/t/acme/jobs/?createdAfter=P7D&limit=1000").content


def test_a_list_cut_inside_a_millisecond_still_says_its_window_holds_more(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    # Three jobs in one millisecond, older than one other: a limit of 3 cuts inside the tie, so
    # the page shows the newest job alone and leaves the tie to the older page.
    def stamp(moment: datetime) -> str:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    start = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)  # before the seeded week
    for _ in range(3):
        sim.create_job("acme", "scale", created_at=stamp(start))
    sim.create_job("acme", "scale", created_at=stamp(start + timedelta(seconds=1)))
    client = login(make_user("alice", acme))
    window = f"createdAfter={stamp(start - timedelta(seconds=1))}&createdBefore={stamp(start + timedelta(seconds=2))}"
    page = client.get(f"/t/acme/jobs/?type=scale&{window}&limit=3").content
    assert len(elements(page, "tr", "job-row")) == 1
    assert [a["href"] for a in elements(page, "a") if a.get("rel") == "next"]  # older jobs follow
    (said,) = inside(page, "limit-note", "strong")
    assert " ".join(said.text.split()) == (
        "The registry listed 1 job, up to the list's limit (3) without splitting a millisecond:"
    )
    (more,) = [a for a in elements(page, "a") if a.text == "List up to 1000"]
    assert "limit=1000" in more["href"]


def test_the_overview_renders_alone_for_the_pages_filter_to_replace_the_pages(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    client = login(make_user("alice", acme))
    page = client.get("/t/acme/jobs/?type=build&state=failed&embed=1").content.decode()
    url = element_by_id(page, "overview")["data-url"]
    assert url == "/t/acme/jobs/overview/?state=failed&type=build&embed=1"
    part = client.get(url).content.decode()
    jobs = httpx.get(f"{sim.url}/registry/v2/jobs/?type=build&state=failed", auth=("acme-key", "acme-secret")).json()
    assert _stat(part, "total") == len(jobs["jobs"])
    assert _counts(part, "state") == {"failed": len(jobs["jobs"])}
    assert element_by_id(part, "overview")["data-url"] == url  # fetched again
    assert all("embed=1" in a["href"] for a in elements(part, "a"))  # its links stay embedded
    assert client.get("/t/acme/jobs/overview/?state=bogus").status_code == 400


def test_a_signed_links_overview_is_its_filters_and_a_job_link_has_none(sim, acme) -> None:
    def token(**scope: object) -> str:
        return token_for(create_link(acme, None, lifetime=timedelta(hours=1), **scope))

    deploys = token(scope=EmbedLink.Scope.LIST, query=parse_list_query({"type": ["deploy"]}))
    part = Client().get(f"/e/{deploys}/overview/?type=build").content.decode()  # the link's filter, not the URL's
    assert _counts(part, "type").keys() == {"deploy"}
    # Its bars open nothing (the link shows its own filter only), yet each says what it holds.
    assert elements(part, "a", "bucket") == [] and elements(part, "g", "bucket")
    assert all(bar["aria-label"] and bar["tabindex"] == "0" for bar in elements(part, "g", "bucket"))
    assert all(row.get("href") is None for row in elements(part, "a"))
    one_job = token(scope=EmbedLink.Scope.JOB, job_type="build", job_id="x")
    assert Client().get(f"/e/{one_job}/overview/").status_code == 404
