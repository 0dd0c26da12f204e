"""The visitor of a signed embed link: who is looking when a page or a socket carries a token.

A `Visitor` is a `jobsdash.jobs.viewers.Viewer` that sees the link's list filter or its job and
nothing else (its `reach` is the grant's), always embedded, with no way to other pages: job pages
are not linked, and the row URL, the live socket and the permalink carry the token. A job link's
visitor also reads that job's whole build log and its progress, at the link's own URLs.

    visitor = Visitor.of(token)                  # LinkRefused when tampered with, expired or revoked
    visitor = await avisitor(token, slug)        # the same for a live socket of tenant `slug`
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import Http404
from django.urls import reverse

from jobsdash.jobs.viewers import Viewer, placeholders
from jobsdash.links.grants import Grant, LinkRefused, aresolve, resolve
from jobsdash.waylay.queries import ListQuery


@dataclass(frozen=True)
class Visitor(Viewer):
    token: str = ""

    @classmethod
    def of(cls, token: str) -> Visitor:
        """The visitor holding `token`; LinkRefused (with the reason in words) when it grants nothing."""
        return cls.of_grant(resolve(token), token)

    @classmethod
    def of_grant(cls, grant: Grant, token: str) -> Visitor:
        return cls(grant.tenant, embedded=True, reach=grant.reach, expires_at=grant.expires_at, token=token)

    @property
    def member(self) -> bool:
        return False

    def check_page_params(self, params: Mapping[str, Any]) -> None:
        pass  # the page is the link's, whatever the URL's query says

    def list_query(self, params: Mapping[str, Any]) -> ListQuery:
        """The link's filter, whatever the page's parameters say; Http404 for a job link (no list)."""
        if self.reach.query is None:
            raise Http404("No such list")
        return self.reach.query

    @property
    def walks_history(self) -> bool:
        return False  # a link shows one page: the jobs its filter lists now

    def history_after(self, params: Mapping[str, Any]) -> str | None:
        return None

    def job_url(self, job_type: str, job_id: str) -> str:
        return ""  # a link shows one page: its list's jobs are not linked

    def list_url(self, query: ListQuery, **override: str) -> str:
        return self.list_permalink(query)  # the link's own filter, whatever is asked

    def list_permalink(self, query: ListQuery) -> str:
        return reverse("links:open", kwargs={"token": self.token})

    def job_permalink(self, job_type: str, job_id: str) -> str:
        return reverse("links:open", kwargs={"token": self.token})

    def row_url_template(self, query: ListQuery) -> str:
        kwargs = {"token": self.token, "job_type": "{type}", "job_id": "{id}"}
        return placeholders(reverse("links:row", kwargs=kwargs))

    def overview_url(self, query: ListQuery, tz: str | None = None) -> str:
        url = reverse("links:overview", kwargs={"token": self.token})
        return f"{url}?{urlencode({'tz': tz})}" if tz else url

    # A job link's visitor may read its job's whole log (it is the job's, as its page is), under
    # the link's own URL; a list link's visitor opens no job page, so no log either.

    def log_url(self, job_type: str, job_id: str, **params: str) -> str:
        url = self._own_job_route("links:log", job_type, job_id)
        return f"{url}?{urlencode(sorted(params.items()))}" if url and params else url

    def log_permalink(self, job_type: str, job_id: str) -> str:
        return self._own_job_route("links:log", job_type, job_id)

    def log_matches_url(self, job_type: str, job_id: str) -> str:
        return self._own_job_route("links:log_matches", job_type, job_id)

    def progress_url(self, job_type: str, job_id: str) -> str:
        return self._own_job_route("links:progress", job_type, job_id)

    def _own_job_route(self, name: str, job_type: str, job_id: str) -> str:
        return reverse(name, kwargs={"token": self.token}) if self.reach.job == (job_type, job_id) else ""

    def job_url_template(self) -> str:
        return ""

    def failures_url(self, query: ListQuery) -> str:
        return ""  # the link shows its list, with the failure groups of its filter on it

    def failure_groups_url(self, query: ListQuery, top: int | None) -> str:
        url = reverse("links:failures", kwargs={"token": self.token})
        return f"{url}?top={top}" if top is not None else url

    def find_url(self) -> str:
        return ""

    def ws_url(self, **params: str) -> str:
        return super().ws_url(**params, token=self.token)


async def avisitor(token: str, slug: str) -> Visitor:
    """The visitor holding `token` on a live socket of tenant `slug`; LinkRefused when the token
    grants nothing, or grants another tenant's jobs."""
    grant = await aresolve(token)
    if grant.tenant.slug != slug:
        raise LinkRefused("This link is for another tenant.")
    return Visitor.of_grant(grant, token)
