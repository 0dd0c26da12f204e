from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jobsdash.tenants.access import tenant_for_user


@login_required
def job_list(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = tenant_for_user(request.user, slug)
    return render(request, "jobs/list.html", {"tenant": tenant})
