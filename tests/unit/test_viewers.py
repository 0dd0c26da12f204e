"""Who is looking decides the links: a member's job URLs, in an iframe or not."""

from __future__ import annotations

from jobsdash.jobs.viewers import Viewer
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
