"""Who may see which tenant. Every view and consumer resolves its tenant through here."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from jobsdash.tenants.models import Tenant


def tenant_for_user(user: AbstractBaseUser | AnonymousUser, slug: str) -> Tenant:
    """The tenant `slug` if `user` is a member of it; Http404 otherwise.

    Unknown tenant and not-a-member look the same on purpose: a 404 tells nobody which tenants exist.
    """
    if not user.is_authenticated:
        raise Http404("No such tenant")
    try:
        return Tenant.objects.get(slug=slug, memberships__user=user)
    except Tenant.DoesNotExist:
        raise Http404("No such tenant") from None


async def atenant_for_user(user: AbstractBaseUser | AnonymousUser, slug: str) -> Tenant:
    return await sync_to_async(tenant_for_user)(user, slug)


def tenants_of(user: AbstractBaseUser | AnonymousUser) -> list[Tenant]:
    if not user.is_authenticated:
        return []
    return list(Tenant.objects.filter(memberships__user=user).order_by("slug"))
