"""Signed embed links: create one (members), open one (anyone holding it, no login)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobsdash.jobs import cache, display
from jobsdash.jobs.views import Mode, render_job_detail, render_job_list, upstream_errors_as_pages
from jobsdash.links.framing import embeddable
from jobsdash.links.grants import LIFETIMES, Grant, LinkRefused, create_link, resolve, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.tenants.access import tenant_for_user
from jobsdash.waylay.errors import InvalidQuery
from jobsdash.waylay.queries import parse_list_query, validate_job_id, validate_job_type

logger = logging.getLogger(__name__)


def _granted(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve the URL's token into its grant, or answer the clear 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            grant = resolve(token)
        except LinkRefused as refused:
            return render(request, "links/refused.html", {"reason": refused.reason}, status=403)
        return view(request, grant, Mode(embed=True, token=token), *args, **kwargs)

    return wrapper


@embeddable
@upstream_errors_as_pages
@_granted
def open_link(request: HttpRequest, grant: Grant, mode: Mode) -> HttpResponse:
    """What a signed link shows: its list filter or its job, embedded, read-only, live."""
    if grant.scope == EmbedLink.Scope.JOB:
        return render_job_detail(request, grant.tenant, grant.job_type, grant.job_id, mode)
    return render_job_list(request, grant.tenant, QueryDict(grant.query.urlencode()), mode)


@embeddable
@upstream_errors_as_pages
@_granted
def link_row(request: HttpRequest, grant: Grant, mode: Mode, job_type: str, job_id: str) -> HttpResponse:
    """A list row for live updates of a signed list, only for jobs the link's filter covers."""
    if grant.scope != EmbedLink.Scope.LIST:
        raise Http404("No such job")
    document = cache.get_job(grant.tenant, job_type, job_id).document
    row = display.job_detail(grant.tenant.slug, document, linked=False).row
    if not grant.allows_job(row.type, row.function_type, row.state, row.created_at):
        raise Http404("No such job")
    return render(request, "jobs/partials/job_row.html", {"row": row, "mode": mode})


@login_required
@require_POST
@upstream_errors_as_pages
def create(request: HttpRequest, slug: str) -> HttpResponse:
    """Create a signed link to the list filter or the job the member is looking at."""
    tenant = tenant_for_user(request.user, slug)
    lifetimes = dict(LIFETIMES)
    lifetime = lifetimes.get(request.POST.get("lifetime", ""))
    if lifetime is None:
        raise InvalidQuery("lifetime", f"choose one of: {', '.join(lifetimes)}")
    if request.POST.get("scope") == EmbedLink.Scope.JOB:
        job_type = validate_job_type(request.POST.get("job_type", ""), "job_type")
        job_id = validate_job_id(request.POST.get("job_id", ""), "job_id")
        link = create_link(
            tenant, request.user, scope=EmbedLink.Scope.JOB, lifetime=lifetime, job_type=job_type, job_id=job_id
        )
    else:
        try:
            params = QueryDict(request.POST.get("query", ""))
        except TooManyFieldsSent:
            raise InvalidQuery("query", "too many parameters") from None
        query = parse_list_query(params)
        link = create_link(tenant, request.user, scope=EmbedLink.Scope.LIST, lifetime=lifetime, query=query)
    return redirect("links:show", slug=slug, pk=link.pk)


@login_required
def show(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(request.user, slug)
    link = get_object_or_404(EmbedLink, pk=pk, tenant=tenant)
    url = request.build_absolute_uri(reverse("links:open", kwargs={"token": token_for(link)}))
    return render(request, "links/show.html", {"tenant": tenant, "link": link, "url": url})
