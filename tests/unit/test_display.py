"""What the pages make of odd upstream documents: never an error."""

from __future__ import annotations

from jobsdash.jobs.display import job_detail, short_id


def test_odd_documents_give_dashes_not_errors() -> None:
    for document in ({}, {"job": "text"}, {"job": {"job": "text", "result": "x", "function": 3}}, {"job": None}):
        detail = job_detail(document)
        assert detail.row.state == "unknown" and detail.log is None and detail.parent is None


def test_a_long_id_is_shortened_to_its_first_eight_characters() -> None:
    assert short_id("6ccc8843-d78d-49e8-84c4-3734a4af9929$IfM2FyNLQ8CEjQGA9w7Ht") == "6ccc8843…"
    assert short_id("twelve-chars") == "twelve-chars"


def test_a_long_log_is_cut_to_its_head_and_tail_with_its_colours_and_line_numbers() -> None:
    lines = ["\x1b[34m#1 [internal] load\x1b[0m", *[f"\x1b[31mline {n}\x1b[0m" for n in range(2, 1001)]]
    document = {"job": {"type": "build", "result": {"digest": "", "log": lines}, "job": {"id": "x"}}}
    log = job_detail(document).log
    assert log is not None and (log.total, log.shown, log.cut) == (1000, 400, True)
    assert [(part.first, part.last, bool(part.html)) for part in log.parts] == [
        (1, 200, True),
        (201, 800, False),
        (801, 1000, True),
    ]
    html = log.parts[0].html + log.parts[2].html
    assert '<span class="ansi-fg-blue">#1 [internal] load</span>' in html and 'id="L1000"' in html
    assert "\x1b" not in html and "[31m" not in html


def test_a_failed_builds_empty_digest_is_left_out_of_its_facts() -> None:
    result = {"digest": "", "status": "failed", "log": []}
    document = {"job": {"type": "build", "state": "failed", "result": result, "job": {"id": "x"}}}
    assert job_detail(document).result_fields == [("Build status", "failed")]
