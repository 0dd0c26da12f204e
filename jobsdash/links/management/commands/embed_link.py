"""`manage.py embed_link SLUG (--job TYPE ID | --query "type=build&state=failed") [--hours N]`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict
from django.urls import reverse

from jobsdash.links.grants import create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.errors import InvalidQuery
from jobsdash.waylay.queries import parse_list_query, validate_job_id, validate_job_type


class Command(BaseCommand):
    help = "Create a signed link that shows a job list filter or a job without a login (embeds, portals)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--job", nargs=2, metavar=("TYPE", "ID"))
        scope.add_argument("--query", metavar="QUERY", help='the list filter, e.g. "type=build&state=failed"')
        parser.add_argument("--hours", type=float, default=24.0)
        parser.add_argument("--base-url", default="", help="printed before the path, e.g. https://jobs.example.com")
        parser.add_argument("--label", default="")

    def handle(
        self,
        *args: Any,
        slug: str,
        job: list[str] | None,
        query: str | None,
        hours: float,
        base_url: str,
        label: str,
        **options: Any,
    ) -> None:
        try:
            tenant = Tenant.objects.get(slug=slug)
        except Tenant.DoesNotExist:
            raise CommandError(f"no tenant {slug!r}") from None
        try:
            if job:
                scope = {
                    "scope": EmbedLink.Scope.JOB,
                    "job_type": validate_job_type(job[0]),
                    "job_id": validate_job_id(job[1]),
                }
            else:
                scope = {"scope": EmbedLink.Scope.LIST, "query": parse_list_query(QueryDict(query or ""))}
            link = create_link(tenant, None, lifetime=timedelta(hours=hours), label=label, **scope)
        except (InvalidQuery, ValueError) as exc:  # ValueError: a lifetime create_link refuses
            raise CommandError(str(exc)) from None
        path = reverse("links:open", kwargs={"token": token_for(link)})
        self.stdout.write(f"{base_url.rstrip('/')}{path}")
        self.stderr.write(f"expires {link.expires_at:%Y-%m-%d %H:%M} UTC; revoke it in the admin (link #{link.pk})")
