"""The job list and detail pages against the simulator on a real port."""

from __future__ import annotations

import html as html_lib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from django.core.cache import cache as django_cache
from django.test import Client

from jobsdash.jobs.display import SHORT_ID_KEEP, SHORT_ID_MAX
from jobsdash.jobs.family import CHILD_TYPES
from jobsdash.simulator.jobs import HUGE_LOG_JOB, XSS, XSS_JOB
from jobsdash.waylay.queries import FAILURE_EVENT, FINISHED_STATES, JOB_EVENTS
from tests.fixtures.pages import Element, element_by_id, elements

pytestmark = pytest.mark.django_db


def rows(page: bytes) -> list[tuple[str, str, str, str]]:
    """(id, type, state, created) of each row of the job table."""
    return [
        (row["data-job-id"], row["data-job-type"], row["data-state"], row["data-created"])
        for row in elements(page, "tr", "job-row")
    ]


def _field(page: bytes, name: str) -> Element:
    (field,) = [e for e in elements(page, "input") if e.get("name") == name]
    return field


def _checked(page: bytes, name: str, value: str) -> bool:
    """Whether the filter form's checkbox `name`=`value` is checked."""
    inputs = elements(page, "input")
    return any(e.get("name") == name and e.get("value") == value and "checked" in e.attrs for e in inputs)


def upstream_ids(sim, params: list[tuple[str, str]], tenant: str = "acme") -> list[str]:
    answer = httpx.get(f"{sim.url}/registry/v2/jobs/", params=params, auth=(f"{tenant}-key", f"{tenant}-secret"))
    answer.raise_for_status()
    return [job["id"] for job in answer.json()["jobs"]]


@pytest.mark.parametrize(
    "params",
    [
        [("type", "build")],
        [("type", "deploy"), ("type", "verify")],
        [("state", "failed")],
        [("state", "completed"), ("state", "active")],
        [("functionType", "webscripts")],
        [("createdAfter", "PT24H")],
        [("createdAfter", "P7D"), ("createdBefore", "P1D")],
        [("createdBefore", "2d")],
        [("limit", "3")],
        [("type", "build"), ("state", "completed"), ("functionType", "plugs"), ("limit", "5")],
    ],
)
def test_every_filter_round_trips_from_url_to_upstream_and_back(sim, alice: Client, params: list) -> None:
    page = alice.get(f"/t/acme/jobs/?{urlencode(params)}")
    assert page.status_code == 200
    shown = rows(page.content)
    assert shown, "the seeded history has jobs for every filter used here"
    # The page shows exactly what the upstream answers for the same query...
    assert [r[0] for r in shown] == upstream_ids(sim, params)
    # ...and the form shows the filter, under the upstream's own names, ready to submit again.
    for name, value in params:
        if name in ("type", "state", "functionType"):
            assert _checked(page.content, name, value), (name, value)
        else:
            assert _field(page.content, name)["value"] == value
    for name, column in (("type", 1), ("state", 2)):
        wanted = {value for key, value in params if key == name}
        if wanted:
            assert {r[column] for r in shown} <= wanted


def test_a_relative_window_shows_only_jobs_created_in_it(alice: Client) -> None:
    shown = rows(alice.get("/t/acme/jobs/?createdAfter=PT24H").content)
    since = datetime.now(UTC) - timedelta(hours=24, minutes=1)
    assert shown
    assert all(datetime.fromisoformat(r[3].replace("Z", "+00:00")) >= since for r in shown)


def test_an_invalid_filter_is_a_400_page_naming_it_and_nothing_goes_upstream(sim, alice: Client) -> None:
    page = alice.get("/t/acme/jobs/?type=build&createdAfter=yesterday")
    assert page.status_code == 400
    html = page.content.decode()
    assert "The filter <strong>createdAfter</strong> is not valid" in html
    assert 'class="filter filter-createdAfter invalid"' in html
    assert _field(page.content, "createdAfter")["value"] == "yesterday"  # what the user typed is kept
    assert _checked(page.content, "type", "build")
    assert sim.count("list", "acme") == 0


def test_unknown_job_tenant_or_membership_is_a_404(acme, globex, alice: Client) -> None:
    assert alice.get("/t/acme/jobs/build/no-such-job/").status_code == 404
    assert alice.get("/t/globex/jobs/").status_code == 404
    assert alice.get(f"/t/globex/jobs/{XSS_JOB[0]}/{XSS_JOB[1].replace('$', '%24')}/").status_code == 404
    assert alice.get("/t/nope/jobs/").status_code == 404


def test_a_bad_job_type_in_the_path_is_a_400_naming_it(alice: Client) -> None:
    page = alice.get("/t/acme/jobs/bogus/abc/")
    assert page.status_code == 400
    assert "type:" in page.content.decode()


def test_rejected_credentials_are_a_502_page(sim, alice: Client) -> None:
    sim.revoke("acme")
    page = alice.get("/t/acme/jobs/")
    assert page.status_code == 502
    assert "Waylay rejected this tenant&#x27;s credentials" in page.content.decode()
    assert "acme-secret" not in page.content.decode()


def test_an_unreachable_upstream_is_a_503_page_with_retry(sim, alice: Client) -> None:
    sim.set_faults(error_status=503)
    page = alice.get("/t/acme/jobs/?state=failed")
    assert page.status_code == 503
    assert page["Retry-After"]
    html = page.content.decode()
    assert "Waylay is unreachable" in html and ">Retry</a>" in html


def test_a_stale_copy_is_shown_under_a_banner_when_the_upstream_fails(sim, alice: Client, settings) -> None:
    settings.CACHE_TTL_LIST = 0  # what gets cached is out of date at once
    fresh = alice.get("/t/acme/jobs/?type=build")
    sim.set_faults(error_status=500)
    stale = alice.get("/t/acme/jobs/?type=build")
    assert stale.status_code == 200
    assert "Waylay is unreachable. Showing a copy from" in stale.content.decode()
    assert rows(stale.content) == rows(fresh.content)

    detail_url = f"/t/acme/jobs/{XSS_JOB[0]}/{XSS_JOB[1]}/"
    sim.clear_faults()
    django_cache.clear()  # the list page read this failed job for its failure groups, fresh for an hour
    settings.CACHE_TTL_JOB_FINISHED = settings.CACHE_TTL_JOB_ACTIVE = 0
    assert alice.get(detail_url).status_code == 200
    sim.set_faults(error_status=503)
    assert "Showing a copy from" in alice.get(detail_url).content.decode()


def test_upstream_text_is_escaped_everywhere(alice: Client) -> None:
    for url in ("/t/acme/jobs/", f"/t/acme/jobs/{XSS_JOB[0]}/{XSS_JOB[1]}/"):
        html = alice.get(url).content.decode()
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_detail_page_shows_the_job(alice: Client, sim) -> None:
    failed = upstream_ids(sim, [("state", "failed"), ("type", "build")])[0]
    doc = httpx.get(
        f"{sim.url}/registry/v2/jobs/build/{failed.replace('$', '%24')}", auth=("acme-key", "acme-secret")
    ).json()["job"]
    page = alice.get(f"/t/acme/jobs/build/{failed.replace('$', '%24')}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="failed-reason"' in html
    assert html_lib.escape(doc["job"]["failedReason"]) in html
    assert html_lib.escape(doc["function"]["name"]) in html
    assert "Request" in html and "Created" in html and "Finished" in html


def test_a_child_job_links_to_its_parent(alice: Client, sim) -> None:
    for job_id in upstream_ids(sim, [("type", "deploy")]):
        doc = httpx.get(
            f"{sim.url}/registry/v2/jobs/deploy/{job_id.replace('$', '%24')}", auth=("acme-key", "acme-secret")
        ).json()["job"]
        parent = (doc["job"].get("parent") or {}).get("id")
        if parent:
            break
    else:
        pytest.fail("the seeded history has a deploy job with a parent")
    html = alice.get(f"/t/acme/jobs/deploy/{job_id.replace('$', '%24')}/").content.decode()
    assert f'href="/t/acme/jobs/verify/{parent}/"' in html


def test_a_huge_log_shows_head_and_tail_and_opens_whole(alice: Client) -> None:
    job_type, job_id = HUGE_LOG_JOB
    page = alice.get(f"/t/acme/jobs/{job_type}/{job_id}/")
    assert page.status_code == 200
    assert len(page.content) < 400_000
    html = page.content.decode()
    assert "not shown" in html
    log_url = f"/t/acme/jobs/{job_type}/{job_id}/log/"
    assert f'href="{log_url}"' in html
    whole = alice.get(log_url)
    assert whole["Content-Type"].startswith("text/html")
    assert len(elements(whole.content, "span", "line")) > 20_000
    raw = alice.get(f"{log_url}?download=1")
    assert len(raw.content) > 3_000_000
    first_line = element_by_id(html, "L1")
    assert raw.content.decode().splitlines()[0] == elements(html, "span", "lt")[0].text
    assert first_line.classes == ["line"]


def test_the_row_partial_renders_alone(alice: Client) -> None:
    part = alice.get(f"/t/acme/jobs/{XSS_JOB[0]}/{XSS_JOB[1]}/row/")
    assert part.status_code == 200
    assert rows(part.content)[0][:2] == (XSS_JOB[1], XSS_JOB[0])


def test_the_row_answers_for_the_pages_filter_not_in_this_filter_or_a_bad_filter(sim, alice: Client) -> None:
    failed = upstream_ids(sim, [("state", "failed"), ("type", "build")])[0]
    job = httpx.get(
        f"{sim.url}/registry/v2/jobs/build/{failed.replace('$', '%24')}", auth=("acme-key", "acme-secret")
    ).json()["job"]
    other_function_type = next(t for t in ("plugs", "webscripts", "kfserving") if t != job["function"]["functionType"])
    url = f"/t/acme/jobs/build/{failed.replace('$', '%24')}/row/"
    assert rows(alice.get(f"{url}?type=build&state=failed&createdAfter=P30D").content)[0][0] == failed
    for outside in ("state=completed", "type=deploy", f"functionType={other_function_type}", "createdAfter=PT1M"):
        assert alice.get(f"{url}?{outside}").status_code == 204, outside  # not in this filter
        assert alice.get(f"{url}?{outside}").content == b""
    bad = alice.get(f"{url}?state=bogus")
    assert bad.status_code == 400 and "state:" in bad.content.decode()


def test_the_pages_carry_the_rules_their_scripts_share_with_the_server_as_data(alice: Client) -> None:
    for url in ("/t/acme/jobs/", f"/t/acme/jobs/{XSS_JOB[0]}/{XSS_JOB[1]}/", "/t/acme/failures/"):
        assert json.loads(element_by_id(alice.get(url).content, "job-rules").text) == {
            "jobEvents": list(JOB_EVENTS),
            "failureEvent": FAILURE_EVENT,
            "finishedStates": list(FINISHED_STATES),
            "shortId": {"max": SHORT_ID_MAX, "keep": SHORT_ID_KEEP},
            "familyChildTypes": list(CHILD_TYPES),
        }
