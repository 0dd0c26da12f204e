"""`manage.py tenant add|grant|list`, including the refusals that must write nothing."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from jobsdash.tenants.models import Membership, Tenant

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("tenant", *args, stdout=out)
    return out.getvalue()


def test_it_adds_a_tenant_with_an_encrypted_secret() -> None:
    out = _run(
        "add",
        "acme",
        "--gateway-url",
        "https://api.example.com/",
        "--api-key",
        "k1",
        "--api-secret",
        "s3cret-value",
        "--auth",
        "token",
        "--name",
        "ACME Corp",
    )
    tenant = Tenant.objects.get(slug="acme")
    assert "added tenant acme" in out
    assert (tenant.name, tenant.gateway_url, tenant.auth_mode, tenant.api_key) == (
        "ACME Corp",
        "https://api.example.com",
        "token",
        "k1",
    )
    assert tenant.api_secret == "s3cret-value"
    assert "s3cret-value" not in tenant.api_secret_encrypted
    assert tenant.token_url == "https://api.example.com/accounts/v1/tokens"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gateway-url", "not-a-url", "--api-key", "k", "--api-secret", "s"], "gateway-url"),
        (["--gateway-url", "ftp://x.example", "--api-key", "k", "--api-secret", "s"], "gateway-url"),
        (["--gateway-url", "https://x.example", "--api-key", "  ", "--api-secret", "s"], "--api-key"),
        (["--gateway-url", "https://x.example", "--api-key", "k", "--api-secret", ""], "--api-secret"),
        (
            ["--gateway-url", "https://x.example", "--api-key", "k", "--api-secret", "s", "--accounts-url", "nope"],
            "accounts-url",
        ),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run("add", "acme", *args)
    assert not Tenant.objects.exists()


def test_it_refuses_a_duplicate_slug(make_tenant: Callable[..., Tenant]) -> None:
    make_tenant("acme", gateway_url="https://one.example")
    with pytest.raises(CommandError, match="already exists"):
        _run("add", "acme", "--gateway-url", "https://two.example", "--api-key", "k", "--api-secret", "s")
    assert Tenant.objects.get(slug="acme").gateway_url == "https://one.example"


def test_it_grants_lists_and_revokes(make_tenant: Callable[..., Tenant]) -> None:
    make_tenant("acme", api_secret="hidden-secret")
    User.objects.create_user("alice")
    assert "alice can now see acme" in _run("grant", "acme", "alice")
    assert "already sees" in _run("grant", "acme", "alice")
    listing = _run("list")
    assert "acme" in listing and "alice" in listing
    assert "hidden-secret" not in listing
    assert "no longer sees" in _run("revoke", "acme", "alice")
    assert not Membership.objects.exists()


def test_it_refuses_to_grant_to_unknown_user_or_tenant(make_tenant: Callable[..., Tenant]) -> None:
    make_tenant("acme")
    with pytest.raises(CommandError, match="no user 'bob'"):
        _run("grant", "acme", "bob")
    User.objects.create_user("bob")
    with pytest.raises(CommandError, match="no tenant 'nope'"):
        _run("grant", "nope", "bob")
    assert not Membership.objects.exists()
