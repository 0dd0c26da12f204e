"""Token mode against a scripted accounts service and registry (httpx.MockTransport): the token is
fetched once, shared, renewed before `exp` and after a 401, and never shows in logs or errors.
The same behaviour against the simulator is in tests/integration/test_client.py."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx

from jobsdash.tenants.models import Tenant
from jobsdash.waylay import auth, client
from jobsdash.waylay.errors import BadResponse, CredentialsRejected, UpstreamUnavailable
from jobsdash.waylay.queries import ListQuery

SECRET = "s3cret-never-shown"


def jwt(**claims: object) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"


def make_tenant() -> Tenant:
    tenant = Tenant(pk=7, slug="acme", name="Acme", gateway_url="http://gw.test", api_key="key-1", auth_mode="token")
    tenant.set_api_secret(SECRET)
    return tenant


@dataclass
class Upstream:
    """An accounts service issuing numbered tokens and a registry accepting `valid` tokens."""

    lifetime: float = 3600
    token_status: int = 200
    token_body: bytes | None = None
    registry_accepts: bool = True
    issued: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    token_requests: list[dict] = field(default_factory=list)
    registry_auth: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/accounts/v1/tokens":
            self.token_requests.append(json.loads(request.content))
            if self.token_status != 200 or self.token_body is not None:
                return httpx.Response(self.token_status, content=self.token_body or b"{}")
            token = jwt(tenant="acme", n=len(self.issued), exp=int(time.time() + self.lifetime))
            self.issued.append(token)
            self.valid.add(token)
            return httpx.Response(200, json={"token": token})
        header = request.headers.get("Authorization", "")
        self.registry_auth.append(header)
        if not self.registry_accepts or header.removeprefix("Bearer ") not in self.valid:
            return httpx.Response(401, json={"message": "invalid token"})
        return httpx.Response(200, json={"jobs": []})


@pytest.fixture
async def upstream(settings: Any) -> AsyncIterator[Upstream]:
    fake = Upstream()
    settings.UPSTREAM_RETRY_DELAYS = (0.0, 0.0)
    auth.forget_all_tokens()
    with respx.mock as router:
        router.route().mock(side_effect=fake)
        yield fake
        await client.aclose_clients()
    auth.forget_all_tokens()


async def test_it_fetches_a_token_once_and_reuses_it(upstream: Upstream) -> None:
    tenant = make_tenant()

    for _ in range(3):
        await client.list_jobs(tenant, ListQuery())
    assert upstream.token_requests == [{"clientId": "key-1", "clientSecret": SECRET}]
    assert upstream.registry_auth == [f"Bearer {upstream.issued[0]}"] * 3


async def test_concurrent_callers_share_one_token_fetch(upstream: Upstream) -> None:
    tenant = make_tenant()

    await asyncio.gather(*(client.list_jobs(tenant, ListQuery()) for _ in range(10)))
    assert len(upstream.token_requests) == 1
    assert len(upstream.registry_auth) == 10


async def test_it_fetches_a_new_token_shortly_before_exp(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = make_tenant()
    await client.list_jobs(tenant, ListQuery())

    monkeypatch.setattr(auth, "clock", lambda: time.time() + 3600 - 30)  # 30 s before exp: inside the margin
    await client.list_jobs(tenant, ListQuery())
    assert len(upstream.token_requests) == 2
    assert upstream.registry_auth[-1] == f"Bearer {upstream.issued[1]}"


async def test_it_keeps_a_token_until_the_margin(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = make_tenant()
    await client.list_jobs(tenant, ListQuery())

    monkeypatch.setattr(auth, "clock", lambda: time.time() + 3600 - 120)
    await client.list_jobs(tenant, ListQuery())
    assert len(upstream.token_requests) == 1


async def test_a_401_fetches_a_new_token_once_and_retries(upstream: Upstream) -> None:
    tenant = make_tenant()
    await client.list_jobs(tenant, ListQuery())
    upstream.valid.clear()  # the registry stopped accepting it (revoked, keys rotated)

    assert await client.list_jobs(tenant, ListQuery()) == {"jobs": []}
    assert len(upstream.token_requests) == 2
    assert upstream.registry_auth[-2:] == [f"Bearer {upstream.issued[0]}", f"Bearer {upstream.issued[1]}"]


async def test_a_second_401_is_credentials_rejected(upstream: Upstream) -> None:
    upstream.registry_accepts = False

    with pytest.raises(CredentialsRejected) as caught:
        await client.list_jobs(make_tenant(), ListQuery())
    assert caught.value.status == 401
    assert len(upstream.token_requests) == 2
    assert len(upstream.registry_auth) == 2


async def test_concurrent_401s_share_one_new_token(upstream: Upstream) -> None:
    tenant = make_tenant()
    await client.list_jobs(tenant, ListQuery())
    upstream.valid.clear()

    await asyncio.gather(*(client.list_jobs(tenant, ListQuery()) for _ in range(5)))
    assert len(upstream.token_requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_a_refusal_of_the_accounts_service_is_credentials_rejected(upstream: Upstream, status: int) -> None:
    upstream.token_status = status

    with pytest.raises(CredentialsRejected) as caught:
        await client.list_jobs(make_tenant(), ListQuery())
    assert caught.value.status == status
    assert upstream.registry_auth == []


async def test_an_accounts_service_down_is_retried_then_unavailable(upstream: Upstream) -> None:
    upstream.token_status = 503

    with pytest.raises(UpstreamUnavailable):
        await client.list_jobs(make_tenant(), ListQuery())
    assert len(upstream.token_requests) == 3


@pytest.mark.parametrize("body", [b"not json", b'{"token": ""}', b'{"token": 42}', b"[]"])
async def test_an_answer_without_a_token_is_bad_response(upstream: Upstream, body: bytes) -> None:
    upstream.token_body = body

    with pytest.raises(BadResponse):
        await client.list_jobs(make_tenant(), ListQuery())


async def test_a_failed_fetch_is_not_cached(upstream: Upstream) -> None:
    upstream.token_status = 401
    with pytest.raises(CredentialsRejected):
        await client.list_jobs(make_tenant(), ListQuery())

    upstream.token_status = 200
    assert await client.list_jobs(make_tenant(), ListQuery()) == {"jobs": []}


async def test_neither_secret_nor_token_is_logged_or_raised(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = make_tenant()
    await client.list_jobs(tenant, ListQuery())
    upstream.valid.clear()
    await client.list_jobs(tenant, ListQuery())
    upstream.token_status = 401
    auth.forget_all_tokens()
    with pytest.raises(CredentialsRejected) as caught:
        await client.list_jobs(tenant, ListQuery())

    assert "fetching a new one" in caplog.text  # the log did record the refresh
    for value in (SECRET, *upstream.issued):
        assert value not in caplog.text
        assert value not in str(caught.value)


def test_basic_mode_sends_key_and_secret() -> None:
    tenant = make_tenant()
    header = auth.basic_header(tenant)
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == f"key-1:{SECRET}"


@pytest.mark.parametrize(
    ("token", "expiry"),
    [
        (jwt(exp=1_700_000_000), 1_700_000_000.0),
        (jwt(exp=1_700_000_000.5), 1_700_000_000.5),
        (jwt(sub="x"), float("inf")),
        (jwt(exp=True), float("inf")),
        (jwt(exp="soon"), float("inf")),
        ("opaque-token", float("inf")),
        ("a.!!!.c", float("inf")),
    ],
)
def test_it_reads_the_exp_claim(token: str, expiry: float) -> None:
    assert auth.token_expiry(token) == expiry
