"""Pages: the job list and the job detail of a tenant, server-rendered, usable without JS."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from jobsdash.jobs import cache, display
from jobsdash.jobs.forms import TIME_PRESETS, JobFilterForm
from jobsdash.tenants.access import tenant_for_user
from jobsdash.tenants.crypto import SecretUnreadable
from jobsdash.waylay.errors import BadResponse, CredentialsRejected, InvalidQuery, NotFound, UpstreamUnavailable
from jobsdash.waylay.queries import parse_list_query, validate_job_id, validate_job_type

logger = logging.getLogger(__name__)


def _upstream_errors_as_pages(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn what the upstream did into a readable page with the right status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404("No such job") from None
        except InvalidQuery as exc:
            return _error_page(request, 400, "Invalid parameter", f"{exc.parameter}: {exc.message}")
        except (CredentialsRejected, SecretUnreadable):
            return _error_page(
                request,
                502,
                "Waylay rejected this tenant's credentials",
                "Ask an administrator to check the tenant's API key and secret.",
            )
        except (UpstreamUnavailable, BadResponse) as exc:
            logger.warning("upstream failed for %s: %s", request.path, exc)
            response = _error_page(
                request,
                503,
                "Waylay is unreachable",
                "The registry did not answer properly. Retry in a moment.",
                retry=True,
            )
            response["Retry-After"] = "5"
            return response

    return wrapper


def _error_page(request: HttpRequest, status: int, title: str, message: str, retry: bool = False) -> HttpResponse:
    context = {"title": title, "message": message, "retry": retry, "status": status}
    return render(request, "jobs/upstream_error.html", context, status=status)


@login_required
@_upstream_errors_as_pages
def job_list(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = tenant_for_user(request.user, slug)
    context: dict[str, Any] = {"tenant": tenant, "form": JobFilterForm(request.GET), "presets": TIME_PRESETS}
    try:
        query = parse_list_query(request.GET)
    except InvalidQuery as exc:
        return render(request, "jobs/list.html", {**context, "error": exc, "rows": []}, status=400)
    cached = cache.list_jobs(tenant, query)
    rows = display.job_rows(slug, cached.document)
    return render(request, "jobs/list.html", {**context, "query": query, "rows": rows, "cached": cached})


@login_required
@_upstream_errors_as_pages
def job_detail(request: HttpRequest, slug: str, job_type: str, job_id: str) -> HttpResponse:
    tenant = tenant_for_user(request.user, slug)
    cached = cache.get_job(tenant, validate_job_type(job_type), validate_job_id(job_id))
    detail = display.job_detail(slug, cached.document)
    return render(
        request, "jobs/detail.html", {"tenant": tenant, "detail": detail, "job": detail.row, "cached": cached}
    )


@login_required
@_upstream_errors_as_pages
def job_log(request: HttpRequest, slug: str, job_type: str, job_id: str) -> HttpResponse:
    """The whole build log as plain text: the detail page shows only its head and tail."""
    tenant = tenant_for_user(request.user, slug)
    cached = cache.get_job(tenant, validate_job_type(job_type), validate_job_id(job_id))
    return HttpResponse("\n".join(display.full_log(cached.document)), content_type="text/plain; charset=utf-8")


@login_required
@_upstream_errors_as_pages
def job_row(request: HttpRequest, slug: str, job_type: str, job_id: str) -> HttpResponse:
    """One row of the list, for live updates to insert a job the page has not seen yet."""
    tenant = tenant_for_user(request.user, slug)
    cached = cache.get_job(tenant, validate_job_type(job_type), validate_job_id(job_id))
    row = display.job_detail(slug, cached.document).row
    return render(request, "jobs/partials/job_row.html", {"tenant": tenant, "row": row})
