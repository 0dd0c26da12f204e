"""What the pages make of odd upstream documents: never an error."""

from __future__ import annotations

from jobsdash.jobs.display import job_detail, job_row


def test_an_id_no_url_can_carry_shows_unlinked() -> None:
    assert job_row("acme", {"type": "build", "id": "x/y", "state": "active"}).url == ""
    assert job_row("acme", {"type": "build", "id": "x$y", "state": "active"}).url == "/t/acme/jobs/build/x$y/"


def test_odd_documents_give_dashes_not_errors() -> None:
    for document in ({}, {"job": "text"}, {"job": {"job": "text", "result": "x", "function": 3}}, {"job": None}):
        detail = job_detail("acme", document)
        assert detail.row.state == "unknown" and detail.log is None and detail.parent_url == ""


def test_a_log_shows_no_escape_sequences_and_keeps_its_line_numbers() -> None:
    lines = ["\x1b[34m#1 [internal] load\x1b[0m", *[f"\x1b[31mline {n}\x1b[0m" for n in range(2, 1001)]]
    document = {"job": {"type": "build", "result": {"digest": "", "log": lines}, "job": {"id": "x"}}}
    log = job_detail("acme", document).log
    assert log is not None and log.total == 1000 and log.omitted == 600
    assert log.head[0] == (1, "#1 [internal] load") and log.tail[-1] == (1000, "line 1000")
    assert not any("\x1b" in text or "[31m" in text for _, text in log.head + log.tail)


def test_a_failed_builds_empty_digest_is_left_out_of_its_facts() -> None:
    result = {"digest": "", "status": "failed", "log": []}
    document = {"job": {"type": "build", "state": "failed", "result": result, "job": {"id": "x"}}}
    assert job_detail("acme", document).result_fields == [("Build status", "failed")]
