"""A job's build log against the simulator: the whole log's page (an anchor per line, errors
marked, search markup with the true count), the job page's excerpt of a long log, the raw log as
a file, and who may read which log (members on the site or in an iframe, a signed job link)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from jobsdash.jobs.buildlog import looks_like_error
from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.simulator.jobs import HUGE_LOG_JOB, XSS, XSS_JOB
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.pages import element_by_id, elements

pytestmark = pytest.mark.django_db

SGR = re.compile(r"\x1b\[[0-9;]*m")  # all the simulator's logs use


def upstream_log(sim, job_type: str, job_id: str) -> list[str]:
    answer = httpx.get(
        f"{sim.url}/registry/v2/jobs/{job_type}/{quote(job_id, safe='')}", auth=("acme-key", "acme-secret")
    )
    return answer.json()["job"]["result"]["log"]


def a_failed_build(sim) -> str:
    listed = httpx.get(
        f"{sim.url}/registry/v2/jobs/", params={"type": "build", "state": "failed"}, auth=("acme-key", "acme-secret")
    )
    return next(job["id"] for job in listed.json()["jobs"] if job["id"] != XSS_JOB[1])


def path(job_id: str, suffix: str = "") -> str:
    """The page of a build job of acme (its id as the pages write it: `$` is not escaped), + `suffix`."""
    return reverse("jobs:detail", kwargs={"slug": "acme", "job_type": "build", "job_id": job_id}) + suffix


def lines_of(page: bytes) -> list[tuple[int, list[str]]]:
    """(number, classes) of each line element, in order."""
    return [(int(e["id"][1:]), e.classes) for e in elements(page, "span", "line")]


def test_the_whole_log_has_an_anchor_per_line_and_its_errors_marked(sim, alice: Client) -> None:
    job_id = a_failed_build(sim)
    log = upstream_log(sim, "build", job_id)
    page = alice.get(path(job_id, "log/"))
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    found = lines_of(page.content)
    assert [n for n, _ in found] == list(range(1, len(log) + 1))
    links = elements(page.content, "a", "ln")
    assert [link["href"] for link in links] == [f"#L{n}" for n in range(1, len(log) + 1)]
    errors = [n for n, classes in found if "error" in classes]
    assert errors == [n for n, line in enumerate(log, start=1) if looks_like_error(SGR.sub("", line))]
    assert errors and "ERROR" in SGR.sub("", log[errors[-1] - 1])  # BuildKit's error section is among them
    (first,) = elements(page.content, "a", "log-first-error")
    assert first["href"] == f"#L{errors[0]}"
    text = page.content.decode()
    assert "\x1b" not in text and 'class="ansi-fg-' in text  # colours as classes, never raw escapes
    assert [link["href"] for link in elements(page.content, "a", "log-download")] == [path(job_id, "log/?download=1")]


@pytest.mark.parametrize("needle", ["npm", "ERROR", "#4 ", "no such text"])
def test_a_search_of_the_whole_log_counts_and_marks_every_match(sim, alice: Client, needle: str) -> None:
    job_id = a_failed_build(sim)
    plain = [SGR.sub("", line).lower() for line in upstream_log(sim, "build", job_id)]
    count = sum(line.count(needle.lower()) for line in plain)
    matching = [n for n, line in enumerate(plain, start=1) if needle.lower() in line]
    page = alice.get(path(job_id, "log/"), {"q": needle})
    status = element_by_id(page.content, "log-search-status")
    assert status.text.startswith(f"{count} match{'' if count == 1 else 'es'} in {len(matching)} line")
    assert [n for n, classes in lines_of(page.content) if "match" in classes] == matching
    assert [e["value"] for e in elements(page.content, "input") if e.get("id") == "log-q"] == [needle]


def test_the_job_page_shows_a_long_logs_head_and_tail_with_the_gap_linked(sim, alice: Client) -> None:
    job_type, job_id = HUGE_LOG_JOB
    total = len(upstream_log(sim, job_type, job_id))
    page = alice.get(path(job_id))
    assert page.status_code == 200 and len(page.content) < 400_000
    assert [n for n, _ in lines_of(page.content)] == [*range(1, 201), *range(total - 199, total + 1)]
    (gap,) = elements(page.content, "p", "gap")
    assert (gap["data-first"], gap["data-last"]) == ("201", str(total - 200))
    assert [a["href"] for a in elements(page.content, "a") if a.text == "open them in the whole log"] == [
        path(job_id, "log/#L201")
    ]
    log = element_by_id(page.content, "build-log")
    assert log["data-matches-url"] == path(job_id, "log/matches/") and log["data-whole-url"] == path(job_id, "log/")


def test_the_count_of_a_search_is_the_whole_logs_even_where_the_page_shows_part(sim, alice: Client) -> None:
    job_type, job_id = HUGE_LOG_JOB
    plain = [SGR.sub("", line).lower() for line in upstream_log(sim, job_type, job_id)]
    part = alice.get(path(job_id, "log/matches/"), {"q": "Cache Miss"})
    matches = element_by_id(part.content, "log-matches")
    count = sum(line.count("cache miss") for line in plain)
    assert count > 1000  # far more than the 400 lines the job page shows
    assert (matches["data-count"], matches["data-lines"]) == (
        str(count),
        str(sum("cache miss" in line for line in plain)),
    )
    assert [a["href"] for a in elements(part.content, "a")] == [path(job_id, "log/?q=Cache+Miss")]


def test_the_raw_log_downloads_as_a_file(sim, alice: Client) -> None:
    job_id = a_failed_build(sim)
    answer = alice.get(path(job_id, "log/"), {"download": "1"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"build-{job_id}")
    assert answer["Content-Disposition"] == f'attachment; filename="{name}.log"'
    assert answer.content.decode() == "".join(
        f"{line}\n" for line in upstream_log(sim, "build", job_id)
    )  # escapes kept


def test_bad_log_parameters_are_400s_naming_them_and_a_job_without_a_log_is_a_404(sim, alice: Client) -> None:
    job_id = a_failed_build(sim)
    for params, name in (({"download": "yes"}, "download"), ({"q": "x" * 201}, "q")):
        answer = alice.get(path(job_id, "log/"), params)
        assert answer.status_code == 400 and f"{name}:" in answer.content.decode()
    assert alice.get(path(job_id, "log/matches/"), {"q": "x" * 201}).status_code == 400
    deploy = httpx.get(f"{sim.url}/registry/v2/jobs/", params={"type": "deploy"}, auth=("acme-key", "acme-secret"))
    deploy_id = deploy.json()["jobs"][0]["id"]
    missing = alice.get(f"/t/acme/jobs/deploy/{quote(deploy_id, safe='')}/log/")
    assert missing.status_code == 404 and "Not found" in missing.content.decode()


def test_markup_in_a_log_stays_text_on_every_log_page(sim, alice: Client) -> None:
    for url in (path(XSS_JOB[1]), path(XSS_JOB[1], "log/"), path(XSS_JOB[1], "log/?q=script")):
        text = alice.get(url).content.decode()
        assert XSS not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_an_embedded_members_log_links_stay_embedded(sim, alice: Client) -> None:
    job_id = HUGE_LOG_JOB[1]
    page = alice.get(path(job_id), {"embed": "1"})
    log = element_by_id(page.content, "build-log")
    assert log["data-whole-url"] == path(job_id, "log/?embed=1")
    assert [a["href"] for a in elements(page.content, "a", "log-download")] == [path(job_id, "log/?download=1&embed=1")]
    search = [e for e in elements(page.content, "input") if e.get("name") == "embed"]
    assert [e["value"] for e in search] == ["1"]  # the search form keeps it too
    whole = alice.get(path(job_id, "log/"), {"embed": "1"}).content.decode()
    assert 'class="site-header"' not in whole


def test_a_signed_job_links_visitor_reads_its_jobs_log_at_the_links_urls(sim, acme) -> None:
    job_type, job_id = HUGE_LOG_JOB
    token = token_for(
        create_link(
            acme, None, lifetime=timedelta(hours=1), scope=EmbedLink.Scope.JOB, job_type=job_type, job_id=job_id
        )
    )
    anonymous = Client()
    page = anonymous.get(f"/e/{token}/")
    log = element_by_id(page.content, "build-log")
    assert (log["data-whole-url"], log["data-matches-url"]) == (f"/e/{token}/log/", f"/e/{token}/log/matches/")
    assert 'href="/t/' not in page.content.decode()  # no member page is linked
    whole = anonymous.get(f"/e/{token}/log/")
    assert whole.status_code == 200 and len(lines_of(whole.content)) == len(upstream_log(sim, job_type, job_id))
    assert [a["href"] for a in elements(whole.content, "a", "permalink")] == [f"http://testserver/e/{token}/log/"]
    assert anonymous.get(f"/e/{token}/log/", {"download": "1"})["Content-Disposition"].startswith("attachment;")
    assert (
        element_by_id(anonymous.get(f"/e/{token}/log/matches/", {"q": "npm"}).content, "log-matches")["data-count"]
        != "0"
    )
    # The member pages stay closed to it, and a list link opens no log.
    assert anonymous.get(path(job_id, "log/")).status_code == 302
    listing = token_for(
        create_link(acme, None, lifetime=timedelta(hours=1), scope=EmbedLink.Scope.LIST, query=parse_list_query({}))
    )
    assert anonymous.get(f"/e/{listing}/log/").status_code == 404
