"""Signed embed links: what a token grants, checked on every use.

A token is a signature over the link's id and tenant (django.core.signing, salted), so it cannot be
forged or pointed at another link; the EmbedLink row holds the scope, the expiry and the revocation,
so an admin can end a link at once.

>>> link = create_link(tenant, user, scope="job", job_type="build", job_id="abc", lifetime=timedelta(hours=1))
>>> grant = resolve(token_for(link))   # raises LinkRefused when tampered, expired or revoked
>>> grant.reach.allows_stream(job_type="build", job_id="abc", children=True)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.utils import timezone

from jobsdash.jobs.viewers import Reach
from jobsdash.links.models import EmbedLink
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.errors import InvalidQuery
from jobsdash.waylay.queries import ListQuery, parse_list_query

_SALT = "jobsdash.links.embed"
MAX_LIFETIME = timedelta(days=90)
LIFETIMES = [
    ("1 hour", timedelta(hours=1)),
    ("1 day", timedelta(days=1)),
    ("7 days", timedelta(days=7)),
    ("30 days", timedelta(days=30)),
    ("90 days", MAX_LIFETIME),
]
DEFAULT_LIFETIME = "1 day"  # what the pages' form offers first


class LinkRefused(Exception):
    """The token does not grant anything: `reason` says why, in words for the 403 page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Grant:
    """Read-only access to one tenant's job list filter or one job, and its live updates."""

    tenant: Tenant
    scope: str
    query: ListQuery | None
    job_type: str
    job_id: str
    expires_at: Any

    @property
    def reach(self) -> Reach:
        """Which of the tenant's jobs and streams the link lets its visitor see."""
        if self.scope == EmbedLink.Scope.JOB:
            return Reach(job=(self.job_type, self.job_id))
        return Reach(query=self.query or ListQuery())


def create_link(
    tenant: Tenant,
    user: AbstractBaseUser | None,
    *,
    scope: str,
    lifetime: timedelta,
    query: ListQuery | None = None,
    job_type: str = "",
    job_id: str = "",
    label: str = "",
) -> EmbedLink:
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValueError(f"a link lives between a minute and {MAX_LIFETIME.days} days")
    if scope == EmbedLink.Scope.JOB and not (job_type and job_id):
        raise ValueError("a job link names the job's type and id")
    return EmbedLink.objects.create(
        tenant=tenant,
        created_by=user,
        scope=scope,
        expires_at=timezone.now() + lifetime,
        label=label,
        query=query.urlencode() if scope == EmbedLink.Scope.LIST and query else "",
        job_type=job_type if scope == EmbedLink.Scope.JOB else "",
        job_id=job_id if scope == EmbedLink.Scope.JOB else "",
    )


def token_for(link: EmbedLink) -> str:
    return signing.dumps({"l": link.pk, "t": link.tenant_id}, salt=_SALT, compress=False)


def resolve(token: str) -> Grant:
    """The grant of a token; LinkRefused if it is tampered with, expired or revoked."""
    try:
        payload = signing.loads(token, salt=_SALT)
        link = EmbedLink.objects.select_related("tenant").get(pk=int(payload["l"]), tenant_id=int(payload["t"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, EmbedLink.DoesNotExist):
        raise LinkRefused("This link is not valid. It may have been copied incompletely or changed.") from None
    if link.is_revoked:
        raise LinkRefused("This link has been revoked. Ask for a new one.")
    if link.is_expired:
        raise LinkRefused(f"This link expired on {link.expires_at:%Y-%m-%d %H:%M} UTC. Ask for a new one.")
    try:
        query = parse_list_query(parse_qs(link.query)) if link.scope == EmbedLink.Scope.LIST else None
    except InvalidQuery:  # stored before the validation grew stricter
        raise LinkRefused("This link's filter is no longer valid. Ask for a new one.") from None
    return Grant(link.tenant, link.scope, query, link.job_type, link.job_id, link.expires_at)


async def aresolve(token: str) -> Grant:
    return await sync_to_async(resolve)(token)
