"""What the find box makes of what was pasted (jobsdash.jobs.find.parse)."""

from __future__ import annotations

import pytest

from jobsdash.jobs.find import Wanted, parse
from jobsdash.waylay.errors import InvalidQuery

ID = "6ccc8843-d78d-49e8-84c4-3734a4af9929$IfM2FyNLQ8CEjQGA9w7Ht"
ENCODED = "6ccc8843-d78d-49e8-84c4-3734a4af9929%24IfM2FyNLQ8CEjQGA9w7Ht"


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        (ID, Wanted(ID)),
        (f"  {ID}\n", Wanted(ID)),
        (f"<{ID}>", Wanted(ID)),
        (f"“{ID}”,", Wanted(ID)),
        (f"{ID[:20]} {ID[20:]}", Wanted(ID)),  # a space that came with a wrapped line
        (f"Build job {ID}", Wanted(ID, "build")),
        (f"verify/{ID}", Wanted(ID, "verify")),
        (f"https://jobs.example.com/t/acme/jobs/deploy/{ENCODED}/", Wanted(ID, "deploy")),
        (f"/t/acme/jobs/deploy/{ENCODED}/log/", Wanted(ID, "deploy")),
        (f"https://jobs.example.com/api/t/acme/jobs/scale/{ENCODED}/", Wanted(ID, "scale")),
        (f"https://jobs.example.com/t/globex/jobs/deploy/{ENCODED}/", Wanted(ID, "deploy", "globex")),
        (f"https://api.waylay.io/registry/v2/jobs/build/{ID}", Wanted(ID, "build")),
        (f"(see https://api.waylay.io/registry/v2/jobs/build/{ENCODED}).", Wanted(ID, "build")),
        (
            f'{{"href": "https://api.waylay.io/registry/v2/jobs/batch/{ENCODED}", "jobType": "batch"}}',
            Wanted(ID, "batch"),
        ),
        (f"https://api.waylay.io/registry/v2/jobs/events?type=deploy&id={ENCODED}&children=true", Wanted(ID, "deploy")),
        (f"https://api.waylay.io/registry/v2/jobs/events?id={ENCODED}", Wanted(ID)),
        ("42", Wanted("42")),
    ],
)
def test_it_finds_the_job_in_what_was_pasted(typed: str, wanted: Wanted) -> None:
    assert parse(typed, "acme") == wanted


@pytest.mark.parametrize(
    "typed",
    [
        "",
        " \t ",
        "6ccc8843…",
        "6ccc8843...",
        "https://jobs.example.com/t/acme/jobs/",
        "https://jobs.example.com/t/acme/jobs/?type=build",
        "https://api.waylay.io/registry/v2/jobs/compile/abc",
        "https://api.waylay.io/registry/v2/jobs/events?type=build",
        "https://jobs.example.com/e/abc.def/",
        "id\x00with\x01control",
        "x" * 3000,
    ],
)
def test_text_that_names_no_job_is_refused_naming_q(typed: str) -> None:
    with pytest.raises(InvalidQuery) as refused:
        parse(typed, "acme")
    assert refused.value.parameter == "q" and refused.value.message
