"""`manage.py tenant add|grant|revoke|list`: manage tenants and who may see them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from jobsdash.tenants.models import AuthMode, Membership, Tenant


class Command(BaseCommand):
    help = "Manage Waylay tenants and their members."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)

        add = sub.add_parser("add", help="Register a tenant and its Waylay credentials.")
        add.add_argument("slug")
        add.add_argument("--gateway-url", required=True)
        add.add_argument("--api-key", required=True)
        add.add_argument("--api-secret", required=True)
        add.add_argument("--auth", choices=AuthMode.values, default=AuthMode.BASIC)
        add.add_argument("--accounts-url", default="")
        add.add_argument("--name", default="")

        grant = sub.add_parser("grant", help="Let an existing user see a tenant.")
        grant.add_argument("slug")
        grant.add_argument("username")

        revoke = sub.add_parser("revoke", help="Take a tenant away from a user.")
        revoke.add_argument("slug")
        revoke.add_argument("username")

        sub.add_parser("list", help="List tenants and their members (never their secrets).")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action}")(**options)

    def _add(
        self,
        slug: str,
        gateway_url: str,
        api_key: str,
        api_secret: str,
        auth: str,
        accounts_url: str,
        name: str,
        **_: Any,
    ) -> None:
        if not api_key.strip():
            raise CommandError("--api-key must not be empty")
        if not api_secret:
            raise CommandError("--api-secret must not be empty")
        if Tenant.objects.filter(slug=slug).exists():
            raise CommandError(f"tenant {slug!r} already exists")
        tenant = Tenant(
            slug=slug,
            name=name or slug,
            gateway_url=gateway_url.rstrip("/"),
            accounts_url=accounts_url.rstrip("/"),
            auth_mode=auth,
            api_key=api_key.strip(),
        )
        tenant.set_api_secret(api_secret)
        try:
            tenant.full_clean()
        except ValidationError as exc:
            problems = "; ".join(
                f"{field.replace('_', '-')}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
            )
            raise CommandError(f"tenant not added: {problems}") from None
        tenant.save()
        self.stdout.write(f"added tenant {slug} ({auth} auth, {tenant.gateway_url})")

    def _grant(self, slug: str, username: str, **_: Any) -> None:
        tenant, user = self._tenant_and_user(slug, username)
        with transaction.atomic():
            _, created = Membership.objects.get_or_create(tenant=tenant, user=user)
        self.stdout.write(f"{username} {'can now see' if created else 'already sees'} {slug}")

    def _revoke(self, slug: str, username: str, **_: Any) -> None:
        tenant, user = self._tenant_and_user(slug, username)
        deleted, _ = Membership.objects.filter(tenant=tenant, user=user).delete()
        self.stdout.write(f"{username} {'no longer sees' if deleted else 'did not see'} {slug}")

    def _list(self, **_: Any) -> None:
        tenants = Tenant.objects.prefetch_related("memberships__user")
        if not tenants:
            self.stdout.write("no tenants")
        for tenant in tenants:
            members = ", ".join(sorted(m.user.get_username() for m in tenant.memberships.all())) or "-"
            self.stdout.write(
                f"{tenant.slug}\t{tenant.name}\t{tenant.auth_mode}\t{tenant.gateway_url}\tmembers: {members}"
            )

    def _tenant_and_user(self, slug: str, username: str) -> tuple[Tenant, Any]:
        try:
            tenant = Tenant.objects.get(slug=slug)
        except Tenant.DoesNotExist:
            raise CommandError(f"no tenant {slug!r} (see `manage.py tenant list`)") from None
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}; create it first (manage.py createsuperuser)") from None
        return tenant, user
