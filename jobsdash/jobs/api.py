"""JSON API: the upstream documents unchanged, through the per-tenant cache, with ETags."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from jobsdash.jobs import cache, failures
from jobsdash.jobs.error_meanings import meaning_of
from jobsdash.tenants.access import tenant_for_user
from jobsdash.waylay.queries import (
    FUNCTION_TYPES,
    JOB_STATES,
    LIST_JOB_TYPES,
    TIMESTAMP_FORMS,
    parse_list_query,
)

_ERRORS = {
    400: OpenApiResponse(description='Invalid parameter: {"error": ..., "parameter": ...}'),
    404: OpenApiResponse(description="Unknown tenant, not a member, or unknown job"),
    502: OpenApiResponse(description="Waylay rejected the tenant's credentials"),
    503: OpenApiResponse(description="Waylay is unreachable and no copy is held"),
}


def _respond(request: Request, answer: cache.Cached) -> HttpResponse:
    if _matches(answer.etag, request.headers.get("If-None-Match", "")):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(answer.body, content_type="application/json")
    response["ETag"] = answer.etag
    response["Cache-Control"] = "private, no-cache"
    if answer.stale:
        response["Warning"] = '110 - "Response is stale"'
        response["Age"] = str(int(answer.age_seconds))
    return response


def _matches(etag: str, if_none_match: str) -> bool:
    """RFC 9110 If-None-Match: `*` or a list of (possibly weak) entity tags, compared weakly."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _error(status: int, message: str, parameter: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"error": message}
    if parameter:
        body["parameter"] = parameter
    return JsonResponse(body, status=status)


class _UpstreamView(APIView):
    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, Http404):
            return _error(404, "not found")
        meaning = meaning_of(exc)
        if meaning is None:
            return super().handle_exception(exc)
        if meaning.status == 404:
            return _error(404, "not found")
        response = _error(meaning.status, meaning.message if meaning.parameter else meaning.title, meaning.parameter)
        if meaning.retry_after is not None:
            response["Retry-After"] = str(meaning.retry_after)
        return response


_FILTERS = [
    OpenApiParameter("type", OpenApiTypes.STR, many=True, enum=LIST_JOB_TYPES, explode=True),
    OpenApiParameter("state", OpenApiTypes.STR, many=True, enum=JOB_STATES, explode=True),
    OpenApiParameter("functionType", OpenApiTypes.STR, many=True, enum=FUNCTION_TYPES, explode=True),
    OpenApiParameter("createdBefore", OpenApiTypes.STR, description=TIMESTAMP_FORMS),
    OpenApiParameter("createdAfter", OpenApiTypes.STR, description=TIMESTAMP_FORMS),
    OpenApiParameter("limit", OpenApiTypes.NUMBER),
]


class JobListAPI(_UpstreamView):
    @extend_schema(
        operation_id="list_jobs",
        summary="List jobs",
        parameters=_FILTERS,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The upstream IJobsResponse"), **_ERRORS},
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        tenant = tenant_for_user(request.user, slug)
        return _respond(request, cache.list_jobs(tenant, parse_list_query(request.query_params)))


class FailuresAPI(_UpstreamView):
    @extend_schema(
        operation_id="list_failure_groups",
        summary="Failed jobs grouped by failure signature",
        description=(
            "The list's filters, with the state forced to failed (a state filter without failed: no "
            "groups). `partial` is true when some listed failures were not grouped (beyond "
            "JOBSDASH_FAILURE_DETAILS_CAP, or unreadable); `listed` and `grouped` count them."
        ),
        parameters=_FILTERS,
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description='{"groups": [{"signature", "count", "firstSeen", "lastSeen", "functions", "types", '
                '"jobs": [{"type", "id"}]}], "partial", "listed", "grouped"}',
            ),
            **_ERRORS,
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        tenant = tenant_for_user(request.user, slug)
        return JsonResponse(failures.report_of(tenant, parse_list_query(request.query_params)).as_json())


class JobDetailAPI(_UpstreamView):
    @extend_schema(
        operation_id="get_job",
        summary="Get one job",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The upstream IJobResponse"), **_ERRORS},
    )
    def get(self, request: Request, slug: str, job_type: str, job_id: str) -> HttpResponse:
        tenant = tenant_for_user(request.user, slug)
        return _respond(request, cache.get_job(tenant, job_type, job_id))
