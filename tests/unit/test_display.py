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
