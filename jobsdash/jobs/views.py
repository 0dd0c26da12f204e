"""The job pages of `/t/<slug>/jobs/…` for the tenant's logged-in members, on the site or in a
portal's iframe (`?embed=1`). The pages themselves are `jobsdash.jobs.pages`: these routes only
resolve who is looking."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from jobsdash.jobs import pages, triage_pages
from jobsdash.jobs.viewers import Viewer


def _for_members(page: pages.Page) -> pages.Page:
    @login_required
    @wraps(page)
    def view(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
        return page(request, Viewer.of_request(request, slug), **kwargs)

    return view


job_list = _for_members(pages.job_list)
list_overview = _for_members(pages.list_overview)
job_detail = _for_members(pages.job_detail)
job_row = _for_members(pages.job_row)
job_log = _for_members(pages.job_log)
log_matches = _for_members(pages.log_matches)
job_progress = _for_members(pages.job_progress)
failures_page = _for_members(triage_pages.failures_page)
failure_groups = _for_members(triage_pages.failure_groups)
find_job = _for_members(triage_pages.find_job)
