"""The request id middleware on its own: ids, the access line, both sync and async chains."""

from __future__ import annotations

import logging

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import ResolverMatch

from jobsdash.ops.logs import RequestIdFilter, request_id
from jobsdash.ops.middleware import RequestIdMiddleware


def _view(request: HttpRequest) -> HttpResponse:
    logging.getLogger("jobsdash.test").info("inside the view")
    return HttpResponse("ok", status=201)


def _access(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    (record,) = [r for r in caplog.records if r.name == "jobsdash.access"]
    return record


@pytest.mark.django_db  # request_finished also closes old database connections
def test_the_id_is_set_during_the_request_and_cleared_when_it_finishes() -> None:
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request_id.get())
        return HttpResponse()

    response = RequestIdMiddleware(view)(RequestFactory().get("/x", HTTP_X_REQUEST_ID="abc-1"))
    assert seen == ["abc-1"]
    assert response["X-Request-ID"] == "abc-1"
    assert request_id.get() == "abc-1"  # Django's own 4xx/5xx line comes after the middleware
    response.close()  # what the server does once the response is sent: request_finished
    assert request_id.get() == "-"


def test_a_url_token_is_masked_in_the_access_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    request = RequestFactory().get("/e/AbC.dEf-123/", {"view": "list"})

    def view(request: HttpRequest) -> HttpResponse:
        request.resolver_match = ResolverMatch(_view, (), {"token": "AbC.dEf-123"})
        return HttpResponse()

    RequestIdMiddleware(view)(request)
    record = _access(caplog)
    assert record.fields["path"] == "/e/***/"
    assert "AbC.dEf-123" not in record.getMessage()
    assert record.fields["query"] == "view=list"


async def test_the_async_chain_logs_the_same_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())

    async def view(request: HttpRequest) -> HttpResponse:
        return _view(request)

    middleware = RequestIdMiddleware(view)
    response = await middleware(RequestFactory().post("/y"))
    record = _access(caplog)
    assert record.fields["status"] == 201
    assert record.fields["method"] == "POST"
    assert record.fields["user"] is None
    assert record.fields["tenant"] is None
    # The view's line and the access line both carry the id the response names.
    assert {r.request_id for r in caplog.records} == {response["X-Request-ID"]}
