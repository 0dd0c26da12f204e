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
