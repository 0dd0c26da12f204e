"""Signed embed links: create one (members), open one (anyone holding it, no login).

The pages a link opens are the job pages of `jobsdash.jobs.pages`, shown to its `Visitor`."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobsdash.jobs import pages, triage_pages
from jobsdash.jobs.viewers import Viewer
from jobsdash.links.grants import LIFETIMES, LinkRefused, create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.links.visitors import Visitor
from jobsdash.tenants.access import tenant_for_user
from jobsdash.waylay.errors import InvalidQuery
from jobsdash.waylay.queries import parse_list_query, validate_job_id, validate_job_type


def _for_visitors(page: pages.Page) -> pages.Page:
    """A page of `/e/<token>/…`, shown to the token's visitor; a clear 403 page when it grants nothing."""

    @wraps(page)
    def view(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponse:
        try:
            visitor = Visitor.of(token)
        except LinkRefused as refused:
            return render(request, "links/refused.html", {"reason": refused.reason}, status=403)
        return page(request, visitor, **kwargs)

    return view


def _link_page(request: HttpRequest, visitor: Viewer) -> HttpResponse:
    """What a signed link shows: its job, or its list filter."""
    if visitor.reach.job is not None:
        return pages.job_detail(request, visitor, *visitor.reach.job)
    return pages.job_list(request, visitor)


def _of_the_links_job(page: pages.Page) -> pages.Page:
    """A page of one job (its log, its progress) at a job link's own URL; 404 for a list link."""

    @wraps(page)
    def shown(request: HttpRequest, visitor: Viewer) -> HttpResponse:
        if visitor.reach.job is None:
            raise Http404("No such job")
        return page(request, visitor, *visitor.reach.job)

    return shown


open_link = _for_visitors(_link_page)
link_row = _for_visitors(pages.job_row)
link_overview = _for_visitors(pages.list_overview)
link_log = _for_visitors(_of_the_links_job(pages.job_log))
link_log_matches = _for_visitors(_of_the_links_job(pages.log_matches))
link_progress = _for_visitors(_of_the_links_job(pages.job_progress))
link_failures = _for_visitors(triage_pages.failure_groups)


@login_required
@require_POST
def create(request: HttpRequest, slug: str) -> HttpResponse:
    """Create a signed link to the list filter or the job the member is looking at."""
    return _create(request, Viewer.of_request(request, slug))


@pages.shown_to_viewers
def _create(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    lifetimes = dict(LIFETIMES)
    lifetime = lifetimes.get(request.POST.get("lifetime", ""))
    if lifetime is None:
        raise InvalidQuery("lifetime", f"choose one of: {', '.join(lifetimes)}")
    if request.POST.get("scope") == EmbedLink.Scope.JOB:
        job_type = validate_job_type(request.POST.get("job_type", ""), "job_type")
        job_id = validate_job_id(request.POST.get("job_id", ""), "job_id")
        link = create_link(
            viewer.tenant, request.user, scope=EmbedLink.Scope.JOB, lifetime=lifetime, job_type=job_type, job_id=job_id
        )
    else:
        try:
            params = QueryDict(request.POST.get("query", ""))
        except TooManyFieldsSent:
            raise InvalidQuery("query", "too many parameters") from None
        query = parse_list_query(params)
        link = create_link(viewer.tenant, request.user, scope=EmbedLink.Scope.LIST, lifetime=lifetime, query=query)
    return redirect("links:show", slug=viewer.tenant.slug, pk=link.pk)


@login_required
def show(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(request.user, slug)
    link = get_object_or_404(EmbedLink, pk=pk, tenant=tenant)
    url = request.build_absolute_uri(reverse("links:open", kwargs={"token": token_for(link)}))
    return render(request, "links/show.html", {"tenant": tenant, "link": link, "url": url})
