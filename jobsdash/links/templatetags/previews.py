"""Open Graph / Twitter titles for links pasted into chats, built from the URL alone.

Chat tools fetch a pasted link without a session and land on the login page; its preview must
say what the link is without revealing anything from Waylay, so only the URL is read.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django import template
from django.urls import Resolver404, resolve

from jobsdash.jobs.display import short_id
from jobsdash.waylay.queries import JOB_TYPES

register = template.Library()


@register.simple_tag
def link_preview_title(next_url: str) -> str:
    try:
        parts = urlsplit(next_url or "")
        match = resolve(parts.path)
    except (Resolver404, ValueError):
        return "jobsdash"
    slug = match.kwargs.get("slug", "")
    if match.view_name in ("jobs:detail", "jobs:log") and match.kwargs.get("job_type") in JOB_TYPES:
        job = f"{match.kwargs['job_type']} job {short_id(unquote(match.kwargs['job_id']))}"
        return f"{'build log of ' if match.view_name == 'jobs:log' else ''}{job} · {slug}"
    if match.view_name == "jobs:list":
        return f"jobs · {slug}"
    if match.view_name == "triage:failures":
        return f"failures · {slug}"
    return "jobsdash"
