"""Pages: the job list and the job detail of a tenant, server-rendered, usable without JS.

The same two pages serve members (full site), members in an iframe (`?embed=1`) and visitors of a
signed embed link (`jobsdash.links`), which see them embedded and with nothing outside the link.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse

from jobsdash.jobs import cache, display
from jobsdash.jobs.failures import Failure, failure_of
from jobsdash.jobs.family import family_of
from jobsdash.jobs.forms import TIME_PRESETS, JobFilterForm
from jobsdash.jobs.overview import overview
from jobsdash.jobs.timezones import validate_tz
from jobsdash.links.framing import embeddable
from jobsdash.tenants.access import tenant_for_user
from jobsdash.tenants.crypto import SecretUnreadable
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.errors import InvalidQuery, WaylayError
from jobsdash.waylay.queries import ListQuery, parse_list_query

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mode:
    """How a page is shown: to a member, embedded (`?embed=1`), or through a signed link (`token`)."""

    embed: bool = False
    token: str = ""

    @property
    def suffix(self) -> str:
        """What internal links carry to stay in embed mode."""
        return "?embed=1" if self.embed and not self.token else ""


def upstream_errors_as_pages(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn what the upstream did into a readable page with the right status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (WaylayError, SecretUnreadable) as exc:
            failure = failure_of(exc)
            if failure is None:
                raise
            if failure.status == 404:
                raise Http404(failure.message) from None
            return error_page(request, failure)

    return wrapper


def error_page(request: HttpRequest, failure: Failure) -> HttpResponse:
    message = f"{failure.parameter}: {failure.message}" if failure.parameter else failure.message
    context = {
        "title": failure.title,
        "message": message,
        "retry": failure.retry_after is not None,
        "status": failure.status,
        "mode": _mode(request),
    }
    response = render(request, "jobs/upstream_error.html", context, status=failure.status)
    if failure.retry_after is not None:
        response["Retry-After"] = str(failure.retry_after)
    return response


def _mode(request: HttpRequest) -> Mode:
    return Mode(embed=request.GET.get("embed") == "1")


@login_required
@embeddable
@upstream_errors_as_pages
def job_list(request: HttpRequest, slug: str) -> HttpResponse:
    validate_tz(request.GET.get("tz"))
    return render_job_list(request, tenant_for_user(request.user, slug), request.GET, _mode(request))


@login_required
@embeddable
@upstream_errors_as_pages
def job_detail(request: HttpRequest, slug: str, job_type: str, job_id: str) -> HttpResponse:
    validate_tz(request.GET.get("tz"))
    return render_job_detail(request, tenant_for_user(request.user, slug), job_type, job_id, _mode(request))


def render_job_list(request: HttpRequest, tenant: Tenant, params: QueryDict, mode: Mode) -> HttpResponse:
    context: dict[str, Any] = {
        "tenant": tenant,
        "form": JobFilterForm(params),
        "presets": TIME_PRESETS,
        "mode": mode,
        "rows": [],
    }
    try:
        query = parse_list_query(params)
    except InvalidQuery as exc:
        return render(request, "jobs/list.html", {**context, "error": exc}, status=400)
    cached = cache.list_jobs(tenant, query)
    rows = display.job_rows(tenant.slug, cached.document, link_suffix=mode.suffix, linked=not mode.token)
    return render(
        request,
        "jobs/list.html",
        {
            **context,
            "query": query,
            "rows": rows,
            "cached": cached,
            "overview": overview(rows, query),
            "permalink": request.build_absolute_uri(_list_url(tenant, display.frozen_query(query), mode)),
            "preset_links": [
                (label, _list_url(tenant, query, mode, createdAfter=spec)) for label, spec in TIME_PRESETS
            ],
            "ws_url": _ws_url(tenant, mode),
            "row_url": _row_url_template(tenant, mode),
        },
    )


def render_job_detail(request: HttpRequest, tenant: Tenant, job_type: str, job_id: str, mode: Mode) -> HttpResponse:
    cached = cache.get_job(tenant, job_type, job_id)
    detail = display.job_detail(tenant.slug, cached.document, link_suffix=mode.suffix, linked=not mode.token)
    permalink = request.build_absolute_uri(display.job_url(tenant.slug, job_type, job_id))
    return render(
        request,
        "jobs/detail.html",
        {
            "tenant": tenant,
            "detail": detail,
            "job": detail.row,
            "cached": cached,
            "mode": mode,
            "permalink": permalink,
            "summary": display.summary(detail, permalink),
            # A signed link grants its job only: no parent or siblings.
            "family": None if mode.token else family_of(tenant, cached.document, mode.suffix),
            "ws_url": _ws_url(tenant, mode, type=job_type, id=job_id, children="true"),
        },
    )


def _list_url(tenant: Tenant, query: ListQuery, mode: Mode, **override: str) -> str:
    params = [(k, v) for k, v in query.to_params() if k not in override] + sorted(override.items())
    if mode.embed and not mode.token:
        params.append(("embed", "1"))
    base = reverse("jobs:list", kwargs={"slug": tenant.slug})
    return f"{base}?{urlencode(params)}" if params else base


def _row_url_template(tenant: Tenant, mode: Mode) -> str:
    """The URL of a job's row with the placeholders `{type}` and `{id}`, for live updates to fill in.

    Braces can stand in no slug or token, so the page's script cannot mistake a part of those for a
    placeholder (reverse() percent-encodes them: they are put back here)."""
    kwargs = {"job_type": "{type}", "job_id": "{id}"}
    if mode.token:
        url = reverse("links:row", kwargs={"token": mode.token, **kwargs})
    else:
        url = reverse("jobs:row", kwargs={"slug": tenant.slug, **kwargs}) + mode.suffix
    return url.replace("%7Btype%7D", "{type}").replace("%7Bid%7D", "{id}")


def _ws_url(tenant: Tenant, mode: Mode, **params: str) -> str:
    if mode.token:
        params["token"] = mode.token
    base = f"/ws/t/{tenant.slug}/jobs/"
    return f"{base}?{urlencode(params)}" if params else base


@login_required
@embeddable
@upstream_errors_as_pages
def job_log(request: HttpRequest, slug: str, job_type: str, job_id: str) -> HttpResponse:
    """The whole build log as plain text: the detail page shows only its head and tail."""
    tenant = tenant_for_user(request.user, slug)
    cached = cache.get_job(tenant, job_type, job_id)
    return HttpResponse("\n".join(display.full_log(cached.document)), content_type="text/plain; charset=utf-8")


@login_required
@embeddable
@upstream_errors_as_pages
def job_row(request: HttpRequest, slug: str, job_type: str, job_id: str) -> HttpResponse:
    """One row of the list, for live updates to insert a job the page has not seen yet."""
    tenant = tenant_for_user(request.user, slug)
    cached = cache.get_job(tenant, job_type, job_id)
    mode = _mode(request)
    row = display.job_detail(slug, cached.document, link_suffix=mode.suffix).row
    return render(request, "jobs/partials/job_row.html", {"tenant": tenant, "row": row, "mode": mode})
