"""A job's progress on its page against the simulator: a bar for a percentage, an object's fields
readably, anything else as text, rendered alone at `…/progress/` for live updates (a signed job
link's at `/e/<token>/progress/`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.pages import element_by_id, elements, inside

pytestmark = pytest.mark.django_db


def test_a_percentage_is_a_bar_on_the_job_page_and_alone(sim: Any, alice: Client) -> None:
    job = sim.create_job("acme", "build")
    sim.advance("acme", "build", job["id"], to="active")  # the simulator's jobs start at 10 %
    page = alice.get(f"/t/acme/jobs/build/{job['id']}/").content
    shown = element_by_id(page, "job-progress")
    assert shown["data-url"] == f"/t/acme/jobs/build/{job['id']}/progress/"
    (bar,) = inside(page, "job-progress", "progress")
    assert (bar["value"], bar["max"], bar["aria-label"]) == ("10.0", "100", "Progress")
    sim.set_progress("acme", "build", job["id"], 62.5)
    cache.clear()  # a page sees it with the job's next event (which refreshes the cached job); no event here
    alone = alice.get(shown["data-url"])
    assert alone.status_code == 200
    (bar,) = inside(alone.content, "job-progress", "progress")
    assert bar["value"] == "62.5" and [e.text for e in elements(alone.content, "span", "progress-label")] == ["62.5 %"]


def test_an_object_shows_its_fields_and_a_bar_when_one_is_a_percentage(sim: Any, alice: Client) -> None:
    job = sim.create_job("acme", "build")
    sim.set_progress("acme", "build", job["id"], {"step": "<b>push</b>", "layers": {"done": 3, "of": 7}, "percent": 40})
    cache.clear()  # as above: no event says so
    part = alice.get(f"/t/acme/jobs/build/{job['id']}/progress/").content
    fields = [
        (dt.text, dd.text)
        for dt, dd in zip(inside(part, "job-progress", "dt"), inside(part, "job-progress", "dd"), strict=True)
    ]
    assert fields == [("step", "<b>push</b>"), ("layers", '{"done": 3, "of": 7}'), ("percent", "40")]
    assert b"<b>push" not in part  # escaped
    assert [bar["value"] for bar in inside(part, "job-progress", "progress")] == ["40.0"]
    sim.set_progress("acme", "build", job["id"], 250)  # a number, not a percentage
    cache.clear()
    part = alice.get(f"/t/acme/jobs/build/{job['id']}/progress/").content
    assert inside(part, "job-progress", "progress") == []
    assert [e.text for e in elements(part, "span", "progress-text")] == ["250"]


def test_a_signed_job_links_visitor_gets_its_jobs_progress_only(sim: Any, acme: Any) -> None:
    job = sim.create_job("acme", "build")
    token = token_for(
        create_link(
            acme, None, lifetime=timedelta(hours=1), scope=EmbedLink.Scope.JOB, job_type="build", job_id=job["id"]
        )
    )
    anonymous = Client()
    assert element_by_id(anonymous.get(f"/e/{token}/").content, "job-progress")["data-url"] == f"/e/{token}/progress/"
    assert anonymous.get(f"/e/{token}/progress/").status_code == 200
    listing = token_for(
        create_link(acme, None, lifetime=timedelta(hours=1), scope=EmbedLink.Scope.LIST, query=parse_list_query({}))
    )
    assert anonymous.get(f"/e/{listing}/progress/").status_code == 404
    assert anonymous.get(f"/t/acme/jobs/build/{job['id']}/progress/").status_code == 302  # a member's page: log in
