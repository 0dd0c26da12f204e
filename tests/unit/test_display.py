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


def test_a_log_shows_no_escape_sequences_and_keeps_its_line_numbers() -> None:
    lines = ["\x1b[34m#1 [internal] load\x1b[0m", *[f"\x1b[31mline {n}\x1b[0m" for n in range(2, 1001)]]
    document = {"job": {"type": "build", "result": {"digest": "", "log": lines}, "job": {"id": "x"}}}
    log = job_detail(document).log
    assert log is not None and log.total == 1000 and log.omitted == 600
    assert log.head[0] == (1, "#1 [internal] load") and log.tail[-1] == (1000, "line 1000")
    assert not any("\x1b" in text or "[31m" in text for _, text in log.head + log.tail)


def test_a_failed_builds_empty_digest_is_left_out_of_its_facts() -> None:
    result = {"digest": "", "status": "failed", "log": []}
    document = {"job": {"type": "build", "state": "failed", "result": result, "job": {"id": "x"}}}
    assert job_detail(document).result_fields == [("Build status", "failed")]
