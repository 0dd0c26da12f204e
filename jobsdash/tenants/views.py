from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from jobsdash.tenants.access import tenants_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to their tenant's jobs, or let them pick when they have several."""
    tenants = tenants_of(request.user)
    if len(tenants) == 1:
        return redirect("jobs:list", slug=tenants[0].slug)
    return render(request, "tenants/picker.html", {"tenants": tenants})
