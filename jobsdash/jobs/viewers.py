"""Who is looking at a tenant's jobs: resolved once per request or socket, it decides what they get.

- Links: the page of a job, of its build log, of a list filter, the row, overview and progress
  URLs that live updates fetch, the live socket's URL, and what they all carry to stay embedded
  (`?embed=1`).
- Scope (`Reach`): which of the tenant's jobs and streams are within reach.
- Chrome: the site's navigation and tools (`member`), or the embedded look (`embedded`).

A `Viewer` of this module is a member of the tenant, on the site or in a portal's iframe
(`?embed=1`). The visitor of a signed link is `jobsdash.links.visitors.Visitor`, built on it: this
module knows nothing of signed links (see `jobsdash` for which way the apps depend on each other).

    viewer = Viewer.of_request(request, slug)       # Http404 unless a member of `slug`
    viewer = await Viewer.of_socket(user, slug)     # the same for a live socket
    viewer.job_url("build", job_id)                 # "/t/acme/jobs/build/…/?embed=1" in an iframe
    viewer.allows_stream(job_type, job_id, children)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from jobsdash.jobs.timezones import validate_tz
from jobsdash.tenants.access import atenant_for_user, tenant_for_user
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.queries import JOB_TYPES, ListQuery, parse_list_query, validate_timestamp_spec


@dataclass(frozen=True)
class Reach:
    """Which of a tenant's jobs and streams a viewer may see: all (a member), those of a list
    filter (`query`: a signed list link), or one job (`job`, its type and id: a signed job link)."""

    query: ListQuery | None = None
    job: tuple[str, str] | None = None

    @property
    def everything(self) -> bool:
        return self.query is None and self.job is None

    def allows_job(
        self, job_type: Any, job_id: Any, function_type: Any, state: Any, created_at: datetime | None = None
    ) -> bool:
        """Whether a job is within reach; a filter's time window is checked when `created_at` is known."""
        if self.job is not None:
            return (job_type, job_id) == self.job
        return self.query is None or self.query.matches(job_type, function_type, state, created_at)

    def allows_stream(self, job_type: str | None, job_id: str | None, children: bool) -> bool:
        """Whether a live socket with these parameters stays within reach: one job's stream (its
        children's events included) for a job, the tenant's (or one of the filter's types) for a filter."""
        if self.job is not None:
            return job_id == self.job[1] and job_type in (None, self.job[0])
        if self.query is None:
            return True
        return job_id is None and not children and (job_type is None or job_type in (self.query.type or (job_type,)))

    @property
    def windowed(self) -> bool:
        """Whether a filter's time window bounds the reach: then a job event alone cannot say
        whether its job is within reach (events carry no creation time; see `allows_event`)."""
        return self.query is not None and bool(self.query.created_after or self.query.created_before)

    def allows_event(self, event: str, data: Any, created_at: datetime | None = None) -> bool:
        """Whether a frame of a stream that `allows_stream` let in concerns jobs within reach. Job
        events carry the job's type, function type and new state (the event's name), not its
        creation time: a windowed reach needs `created_at` (from the job's document), and refuses
        a job event without it."""
        if self.query is None or not isinstance(data, dict):
            return True  # the whole stream is within reach; or ack / close text
        if self.windowed and created_at is None:
            return False
        job = data.get("job") if isinstance(data.get("job"), dict) else {}
        function = data.get("function") if isinstance(data.get("function"), dict) else {}
        return self.query.matches(job.get("type"), function.get("functionType"), event, created_at)


EVERYTHING = Reach()


@dataclass(frozen=True)
class Viewer:
    """A member of `tenant` looking at its jobs; `embedded` in a portal's iframe (`?embed=1`).

    `expires_at` is when the access ends by itself (None: when the membership ends)."""

    tenant: Tenant
    embedded: bool = False
    reach: Reach = EVERYTHING
    expires_at: datetime | None = None

    @classmethod
    def of_request(cls, request: HttpRequest, slug: str) -> Viewer:
        """The logged-in member of tenant `slug` making `request`; Http404 for anyone else."""
        return cls(tenant_for_user(request.user, slug), embedded=request.GET.get("embed") == "1")

    @classmethod
    async def of_socket(cls, user: AbstractBaseUser | AnonymousUser, slug: str) -> Viewer:
        """The member of tenant `slug` on a live socket (the scope's `user`); Http404 for anyone else."""
        return cls(await atenant_for_user(user, slug))

    @property
    def rendering_key(self) -> tuple[Viewer, str]:
        """What a piece of a page rendered for them depends on, as a key (jobsdash.jobs.fragments):
        the viewer itself (its kind, tenant, mode, reach and token, compared as a whole) and the
        tenant's slug, which their URLs carry (a tenant compares by primary key alone)."""
        return (self, self.tenant.slug)

    # --- chrome ---------------------------------------------------------------------------

    @property
    def member(self) -> bool:
        """Whether they are a member: they may change the filter, go to other jobs and pages of the
        tenant, and make signed links (outside an iframe)."""
        return True

    # --- scope ----------------------------------------------------------------------------

    def check_page_params(self, params: Mapping[str, Any]) -> None:
        """Refuse a page parameter besides the filters that would show the page otherwise than
        asked (`tz`): InvalidQuery naming it."""
        validate_tz(params.get("tz"))

    def list_query(self, params: Mapping[str, Any]) -> ListQuery:
        """The filter of the list they look at: the page's parameters (InvalidQuery naming one)."""
        return parse_list_query(params)

    @property
    def walks_history(self) -> bool:
        """Whether their list pages lead to older and newer jobs (jobsdash.jobs.history)."""
        return True

    def history_after(self, params: Mapping[str, Any]) -> str | None:
        """Where a newer page of history starts (its `after`, a TimestampSpec; InvalidQuery naming
        it), or None for a page of the filter as given."""
        value = str(params.get("after") or "").strip()
        return validate_timestamp_spec(value, "after") if value else None

    def allows_stream(self, job_type: str | None, job_id: str | None, children: bool) -> bool:
        return self.reach.allows_stream(job_type, job_id, children)

    # --- links ----------------------------------------------------------------------------

    def job_url(self, job_type: str, job_id: str) -> str:
        """The page of a job, or "" for one they cannot open from here: a type the registry does not
        have, or an id no page URL can carry (one with a `/`)."""
        return self._job_route("jobs:detail", job_type, job_id)

    def log_url(self, job_type: str, job_id: str, **params: str) -> str:
        """The page of a job's whole build log, with `params` (`download="1"`: the raw log as a
        file; `q`: a search); "" for a job whose page they cannot open from here."""
        return self._job_route("jobs:log", job_type, job_id, sorted(params.items()))

    def log_permalink(self, job_type: str, job_id: str) -> str:
        """The whole log's URL to paste elsewhere, not embedded."""
        return reverse("jobs:log", kwargs={"slug": self.tenant.slug, "job_type": job_type, "job_id": job_id})

    def log_matches_url(self, job_type: str, job_id: str) -> str:
        """How often a search (`q=`, for the script to add) occurs in the whole log: a partial."""
        return self._job_route("jobs:log_matches", job_type, job_id)

    def progress_url(self, job_type: str, job_id: str) -> str:
        """A job's progress alone, for live updates to fetch."""
        return self._job_route("jobs:progress", job_type, job_id)

    def list_url(self, query: ListQuery, **override: str) -> str:
        """The list page of `query`, with `override` (e.g. `createdAfter="PT1H"`) replacing its values."""
        params = [(k, v) for k, v in query.to_params() if k not in override] + sorted(override.items())
        return self._with_params(reverse("jobs:list", kwargs={"slug": self.tenant.slug}), params)

    def list_permalink(self, query: ListQuery) -> str:
        """The list's URL to paste elsewhere: `query` as given (freeze ages first), not embedded."""
        base = reverse("jobs:list", kwargs={"slug": self.tenant.slug})
        return f"{base}?{query.urlencode()}" if query.to_params() else base

    def job_permalink(self, job_type: str, job_id: str) -> str:
        """The job's URL to paste elsewhere, not embedded."""
        return reverse("jobs:detail", kwargs={"slug": self.tenant.slug, "job_type": job_type, "job_id": job_id})

    def row_url_template(self, query: ListQuery) -> str:
        """The URL of a job's row in the list of `query`, with `{type}` and `{id}` to fill in (no slug
        or token can hold braces, so a script cannot mistake a part of those for a placeholder)."""
        url = reverse("jobs:row", kwargs={"slug": self.tenant.slug, "job_type": "{type}", "job_id": "{id}"})
        return self._with_params(placeholders(url), query.to_params())

    def overview_url(self, query: ListQuery, tz: str | None = None) -> str:
        """The overview of the list of `query`, alone, for live updates to fetch; its chart's times
        in the zone `tz` (None: UTC)."""
        params = [*query.to_params(), *([("tz", tz)] if tz else [])]
        return self._with_params(reverse("jobs:overview", kwargs={"slug": self.tenant.slug}), params)

    def job_url_template(self) -> str:
        """The page of a job with `{type}` and `{id}` to fill in (a notification's link), "" when
        they cannot open job pages from here."""
        url = reverse("jobs:detail", kwargs={"slug": self.tenant.slug, "job_type": "{type}", "job_id": "{id}"})
        return self._with_params(placeholders(url), [])

    def failures_url(self, query: ListQuery) -> str:
        """The failures page of `query`, "" when they cannot go there."""
        return self._with_params(reverse("triage:failures", kwargs={"slug": self.tenant.slug}), query.to_params())

    def failure_groups_url(self, query: ListQuery, top: int | None) -> str:
        """The failure groups of `query` alone (the first `top` of them), for live updates to fetch."""
        params = query.to_params() + ([("top", str(top))] if top is not None else [])
        return self._with_params(reverse("triage:groups", kwargs={"slug": self.tenant.slug}), params)

    def find_url(self) -> str:
        """Where the box that finds a job by its id or URL sends what was typed ("" when they have none)."""
        return reverse("triage:find", kwargs={"slug": self.tenant.slug})

    def ws_url(self, **params: str) -> str:
        """The live socket's URL with its parameters (jobsdash.live.consumer says which)."""
        return _with_query(f"/ws/t/{self.tenant.slug}/jobs/", list(params.items()))

    def _job_route(self, name: str, job_type: str, job_id: str, params: list[tuple[str, str]] | None = None) -> str:
        if job_type not in JOB_TYPES or not job_id:
            return ""
        try:
            url = reverse(name, kwargs={"slug": self.tenant.slug, "job_type": job_type, "job_id": job_id})
        except NoReverseMatch:
            return ""
        return self._with_params(url, params or [])

    def _with_params(self, url: str, params: list[tuple[str, str]]) -> str:
        return _with_query(url, [*params, ("embed", "1")] if self.embedded else params)


def placeholders(url: str) -> str:
    """A URL reversed with `{type}` and `{id}` for arguments, with its braces (percent-encoded by
    `reverse`) put back."""
    return url.replace("%7Btype%7D", "{type}").replace("%7Bid%7D", "{id}")


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(params)}" if params else url
