"""The JSON API: upstream documents unchanged, validation, ETags, tenant isolation, single flight."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.http import HttpResponse
from django.test import Client

from jobsdash.simulator.jobs import XSS_JOB
from jobsdash.tenants.models import Tenant


def _upstream(sim, path: str, tenant: str = "acme", **params: object) -> dict:
    answer = httpx.get(f"{sim.url}{path}", params=params, auth=(f"{tenant}-key", f"{tenant}-secret"))
    answer.raise_for_status()
    return answer.json()


@pytest.mark.django_db
def test_it_returns_the_upstream_documents_unchanged(sim, alice: Client) -> None:
    listed = alice.get("/api/t/acme/jobs/?state=completed&type=build")
    assert listed.status_code == 200
    assert listed["Content-Type"] == "application/json"
    assert listed["Cache-Control"].startswith("private")
    assert listed.json() == _upstream(sim, "/registry/v2/jobs/", state="completed", type="build")

    job_type, job_id = XSS_JOB
    one = alice.get(f"/api/t/acme/jobs/{job_type}/{job_id.replace('$', '%24')}/")
    assert one.status_code == 200
    assert one.json() == _upstream(sim, f"/registry/v2/jobs/{job_type}/{job_id.replace('$', '%24')}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("type=cleanup", "type"),
        ("state=done", "state"),
        ("functionType=x", "functionType"),
        ("limit=-1", "limit"),
        ("createdAfter=soon", "createdAfter"),
        ("createdBefore=P", "createdBefore"),
    ],
)
def test_an_invalid_parameter_is_a_400_naming_it(sim, alice: Client, query: str, parameter: str) -> None:
    answer = alice.get(f"/api/t/acme/jobs/?{query}")
    assert answer.status_code == 400
    assert answer.json()["parameter"] == parameter
    assert answer.json()["error"]
    assert sim.count("list", "acme") == 0


@pytest.mark.django_db
def test_etag_and_if_none_match_give_304(alice: Client) -> None:
    first = alice.get("/api/t/acme/jobs/?type=deploy")
    etag = first["ETag"]
    again = alice.get("/api/t/acme/jobs/?type=deploy", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert alice.get("/api/t/acme/jobs/?type=deploy", HTTP_IF_NONE_MATCH='"other"').status_code == 200
    assert alice.get("/api/t/acme/jobs/?type=deploy", HTTP_IF_NONE_MATCH=f'"a", W/{etag}').status_code == 304
    assert alice.get("/api/t/acme/jobs/?type=deploy", HTTP_IF_NONE_MATCH="*").status_code == 304
    assert alice.get("/api/t/acme/jobs/?type=deploy", HTTP_IF_NONE_MATCH=etag[:-3] + '"').status_code == 200


@pytest.mark.django_db
def test_unknown_job_and_foreign_tenant_are_404_and_anonymous_is_refused(alice: Client, globex) -> None:
    assert alice.get("/api/t/acme/jobs/build/nope/").status_code == 404
    assert alice.get("/api/t/acme/jobs/bogus/nope/").json()["parameter"] == "type"
    assert alice.get("/api/t/globex/jobs/").status_code == 404
    assert Client().get("/api/t/acme/jobs/").status_code in (401, 403)


@pytest.mark.django_db
def test_upstream_failures_map_to_502_and_503(sim, alice: Client) -> None:
    sim.revoke("acme")
    assert alice.get("/api/t/acme/jobs/").status_code == 502
    sim.restore("acme")
    sim.set_faults(error_status=503)
    assert alice.get("/api/t/acme/jobs/?state=failed").status_code == 503
    sim.clear_faults()
    sim.set_faults(garbage="json")
    assert alice.get("/api/t/acme/jobs/?state=active").status_code == 503


@pytest.mark.django_db
def test_two_tenants_with_the_same_query_never_share_a_cache_entry(
    sim, acme: Tenant, globex: Tenant, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    a = login(make_user("a", acme)).get("/api/t/acme/jobs/?type=build").json()
    g = login(make_user("g", globex)).get("/api/t/globex/jobs/?type=build").json()
    assert sim.count("list", "acme") == 1 and sim.count("list", "globex") == 1
    assert a != g
    assert a == _upstream(sim, "/registry/v2/jobs/", tenant="acme", type="build")
    assert g == _upstream(sim, "/registry/v2/jobs/", tenant="globex", type="build")


@pytest.mark.django_db
def test_parameter_order_and_repetition_hit_the_same_cache_entry(sim, alice: Client) -> None:
    alice.get("/api/t/acme/jobs/?type=build&type=deploy&state=failed")
    alice.get("/api/t/acme/jobs/?state=failed&type=deploy&type=build&type=build")
    alice.get("/api/t/acme/jobs/?type=deploy,build&state=failed")
    assert sim.count("list", "acme") == 1


@pytest.mark.django_db(transaction=True)
def test_a_hundred_concurrent_identical_misses_make_one_upstream_call(
    sim, acme: Tenant, make_user: Callable[..., User]
) -> None:
    make_user("alice", acme)
    user = User.objects.get(username="alice")
    clients = []
    for _ in range(100):
        client = Client()
        client.force_login(user)
        clients.append(client)
    sim.set_faults(latency_ms=500)

    def fetch(client: Client) -> HttpResponse:
        try:
            return client.get("/api/t/acme/jobs/?state=completed")
        finally:
            connections.close_all()  # each thread has its own database connection

    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(fetch, clients))
    assert [a.status_code for a in answers] == [200] * 100
    assert len({a.content for a in answers}) == 1
    assert sim.count("list", "acme") == 1


@pytest.mark.django_db
def test_the_openapi_schema_describes_the_api(alice: Client) -> None:
    schema = alice.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/api/t/{slug}/jobs/" in paths and "/api/t/{slug}/jobs/{job_type}/{job_id}/" in paths
