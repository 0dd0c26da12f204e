"""Who is looking decides the links and the scope: a member's, in an iframe or not, and a signed
link's visitor's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.http import Http404

from jobsdash.jobs.viewers import Reach, Viewer
from jobsdash.links.visitors import Visitor
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.queries import ListQuery

ACME = Tenant(slug="acme")


def test_an_id_no_url_can_carry_shows_unlinked() -> None:
    assert Viewer(ACME).job_url("build", "x/y") == ""
    assert Viewer(ACME).job_url("build", "x$y") == "/t/acme/jobs/build/x$y/"
    assert Viewer(ACME).job_url("rebuild", "x") == ""  # not a type of the registry


def test_a_member_in_an_iframe_gets_links_that_stay_embedded() -> None:
    framed = Viewer(ACME, embedded=True)
    assert framed.job_url("build", "x") == "/t/acme/jobs/build/x/?embed=1"
    assert framed.list_url(ListQuery(type=("build",)), createdAfter="PT1H") == (
        "/t/acme/jobs/?type=build&createdAfter=PT1H&embed=1"
    )
    assert framed.list_permalink(ListQuery(type=("build",))) == "/t/acme/jobs/?type=build"  # to paste elsewhere


def test_the_row_url_is_a_template_with_braced_placeholders_and_the_filter() -> None:
    assert Viewer(ACME).row_url_template(ListQuery(state=("failed",))) == "/t/acme/jobs/{type}/{id}/row/?state=failed"


def test_a_visitor_sees_the_links_filter_on_one_page_and_its_urls_carry_the_token() -> None:
    builds = ListQuery(type=("build",))
    visitor = Visitor(ACME, embedded=True, reach=Reach(query=builds), token="tok:ID")
    assert visitor.list_query({"type": ["deploy"]}) == builds  # the link's filter, whatever the page asks
    assert visitor.job_url("build", "x") == ""  # no way to other pages
    assert visitor.row_url_template(builds) == "/e/tok:ID/row/{type}/{id}/"
    assert visitor.overview_url(builds) == "/e/tok:ID/overview/"
    assert visitor.list_permalink(builds) == visitor.job_permalink("build", "x") == "/e/tok:ID/"
    assert visitor.ws_url(type="build") == "/ws/t/acme/jobs/?type=build&token=tok%3AID"
    with pytest.raises(Http404):
        Visitor(ACME, embedded=True, reach=Reach(job=("build", "x")), token="t").list_query({})  # a job link


def test_a_filters_reach_takes_its_jobs_streams_and_events_only() -> None:
    reach = Reach(query=ListQuery(type=("deploy",), state=("failed",)))
    assert reach.allows_stream(None, None, False) and reach.allows_stream("deploy", None, False)
    assert not reach.allows_stream("build", None, False)
    assert not reach.allows_stream(None, "x", False) and not reach.allows_stream(None, None, True)
    failed = {"job": {"type": "deploy", "id": "x"}, "function": {"functionType": "plugs"}}
    assert reach.allows_event("failed", failed) and not reach.allows_event("active", failed)
    assert reach.allows_event("ack", "text")  # not a job's
    assert Viewer(ACME).reach.allows_job("build", "x", None, "active")  # a member's: everything


def test_a_job_links_reach_is_its_stream_children_included() -> None:
    reach = Reach(job=("build", "x"))
    assert reach.allows_stream("build", "x", True) and reach.allows_stream(None, "x", False)
    assert not reach.allows_stream("build", "y", False) and not reach.allows_stream(None, None, False)
    assert reach.allows_job("build", "x", None, "active") and not reach.allows_job("build", "y", None, "active")


def test_a_windowed_reach_decides_a_job_event_by_its_jobs_creation_time_and_refuses_it_without() -> None:
    reach = Reach(query=ListQuery(type=("build",), created_after="2026-05-01T12:00:00Z"))
    event = {"job": {"type": "build", "id": "b1"}, "function": {"functionType": "plugs"}}
    assert reach.windowed and not Reach(query=ListQuery(type=("build",))).windowed
    assert reach.allows_event("active", event, datetime(2026, 5, 1, 12, 0, 1, tzinfo=UTC))
    assert not reach.allows_event("active", event, datetime(2026, 5, 1, 11, 59, 59, tzinfo=UTC))
    assert not reach.allows_event("active", event)  # not known: as its page, which could not show it
    assert reach.allows_event("ack", "Listening to job events")  # not a job's


def test_a_jobs_log_progress_and_overview_urls_for_a_member_in_an_iframe_or_not() -> None:
    member, framed = Viewer(ACME), Viewer(ACME, embedded=True)
    assert member.log_url("build", "x$y") == "/t/acme/jobs/build/x$y/log/"
    assert member.log_url("build", "x", download="1") == "/t/acme/jobs/build/x/log/?download=1"
    assert framed.log_url("build", "x", q="npm ERR!") == "/t/acme/jobs/build/x/log/?q=npm+ERR%21&embed=1"
    assert framed.log_permalink("build", "x") == "/t/acme/jobs/build/x/log/"  # to paste elsewhere
    assert framed.log_matches_url("build", "x") == "/t/acme/jobs/build/x/log/matches/?embed=1"
    assert framed.progress_url("build", "x") == "/t/acme/jobs/build/x/progress/?embed=1"
    assert member.log_url("build", "x/y") == member.progress_url("rebuild", "x") == ""
    assert (
        member.overview_url(ListQuery(type=("build",)), tz="Asia/Tokyo")
        == "/t/acme/jobs/overview/?type=build&tz=Asia%2FTokyo"
    )


def test_a_job_links_visitor_reads_its_jobs_log_and_progress_and_no_other() -> None:
    visitor = Visitor(ACME, embedded=True, reach=Reach(job=("build", "x")), token="tok")
    assert visitor.log_url("build", "x") == visitor.log_permalink("build", "x") == "/e/tok/log/"
    assert visitor.log_url("build", "x", download="1") == "/e/tok/log/?download=1"
    assert visitor.log_matches_url("build", "x") == "/e/tok/log/matches/"
    assert visitor.progress_url("build", "x") == "/e/tok/progress/"
    assert visitor.log_url("build", "y") == visitor.progress_url("deploy", "x") == ""
    listing = Visitor(ACME, embedded=True, reach=Reach(query=ListQuery()), token="tok")
    assert (
        listing.log_url("build", "x") == "" and listing.overview_url(ListQuery(), tz="UTC") == "/e/tok/overview/?tz=UTC"
    )


def test_the_triage_links_are_a_members_and_stay_embedded_in_an_iframe() -> None:
    failed = ListQuery(type=("deploy",), state=("failed",))
    member, framed = Viewer(ACME), Viewer(ACME, embedded=True)
    assert member.failures_url(failed) == "/t/acme/failures/?state=failed&type=deploy"
    assert framed.failure_groups_url(failed, 5) == "/t/acme/failures/groups/?state=failed&type=deploy&top=5&embed=1"
    assert framed.job_url_template() == "/t/acme/jobs/{type}/{id}/?embed=1"
    assert member.find_url() == "/t/acme/find/"
    assert member.walks_history and member.history_after({"after": " 2024-05-01T12:00:00.123Z "}) == (
        "2024-05-01T12:00:00.123Z"
    )
    assert member.history_after({}) is None


def test_a_visitor_gets_the_groups_of_the_links_filter_and_no_way_to_other_pages() -> None:
    builds = ListQuery(type=("build",))
    visitor = Visitor(ACME, embedded=True, reach=Reach(query=builds), token="tok")
    assert visitor.failure_groups_url(ListQuery(type=("deploy",)), 5) == "/e/tok/failures/?top=5"
    assert visitor.failures_url(builds) == visitor.job_url_template() == visitor.find_url() == ""
    assert not visitor.walks_history and visitor.history_after({"after": "2024-05-01"}) is None
