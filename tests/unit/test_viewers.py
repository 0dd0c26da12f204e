"""Who is looking decides the links and the scope: a member's, in an iframe or not, and a signed
link's visitor's."""

from __future__ import annotations

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
