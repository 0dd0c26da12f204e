"""Shared fixtures: users, tenants, logged-in clients. The simulator fixtures (tests/fixtures/
simulator.py) and the live websocket ones (tests/fixtures/live.py) are loaded as plugins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from jobsdash.tenants.models import Membership, Tenant

pytest_plugins = ["tests.fixtures.simulator", "tests.fixtures.live"]

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_tenant(db: None) -> Callable[..., Tenant]:
    def make(
        slug: str,
        gateway_url: str = "http://127.0.0.1:9",
        api_key: str | None = None,
        api_secret: str | None = None,
        auth_mode: str = "basic",
        **extra: str,
    ) -> Tenant:
        tenant = Tenant(
            slug=slug,
            name=extra.pop("name", slug.capitalize()),
            gateway_url=gateway_url,
            api_key=api_key or f"{slug}-key",
            auth_mode=auth_mode,
            **extra,
        )
        tenant.set_api_secret(api_secret or f"{slug}-secret")
        tenant.save()
        return tenant

    return make


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str, *tenants: Tenant, **extra: object) -> User:
        user = User.objects.create_user(username=username, password=PASSWORD, **extra)
        for tenant in tenants:
            Membership.objects.create(user=user, tenant=tenant)
        return user

    return make


@pytest.fixture
def login() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
