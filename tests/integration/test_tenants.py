"""Tenants seen from the browser: login round trip, membership, the admin and the secret."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from jobsdash.tenants.models import Tenant
from tests.fixtures.site import PASSWORD

pytestmark = pytest.mark.django_db

SECRET = "super-Secret-value-42"


def test_the_api_secret_is_stored_encrypted(make_tenant: Callable[..., Tenant]) -> None:
    tenant = make_tenant("acme", api_secret=SECRET)
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_secret_encrypted FROM tenants_tenant WHERE id = %s", [tenant.pk])
        (raw,) = cursor.fetchone()
    assert SECRET not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    assert Tenant.objects.get(pk=tenant.pk).api_secret == SECRET


def test_the_admin_never_renders_the_secret_and_keeps_it_when_left_empty(
    make_tenant: Callable[..., Tenant], make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    tenant = make_tenant("acme", api_secret=SECRET)
    admin = login(make_user("root", is_staff=True, is_superuser=True))
    for url in ("/admin/tenants/tenant/", f"/admin/tenants/tenant/{tenant.pk}/change/", "/admin/tenants/tenant/add/"):
        page = admin.get(url)
        assert page.status_code == 200
        assert SECRET not in page.content.decode()
        assert tenant.api_secret_encrypted not in page.content.decode()

    form = {
        "slug": "acme",
        "name": "Acme renamed",
        "gateway_url": "https://api.example.com",
        "accounts_url": "",
        "auth_mode": "basic",
        "api_key": "k",
        "api_secret": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    assert admin.post(f"/admin/tenants/tenant/{tenant.pk}/change/", form).status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.api_secret) == ("Acme renamed", SECRET)

    assert (
        admin.post(f"/admin/tenants/tenant/{tenant.pk}/change/", {**form, "api_secret": "rotated"}).status_code == 302
    )
    tenant.refresh_from_db()
    assert tenant.api_secret == "rotated"


def test_login_keeps_next_with_its_query_string(
    make_tenant: Callable[..., Tenant], make_user: Callable[..., User]
) -> None:
    acme = make_tenant("acme")
    make_user("alice", acme)
    target = "/t/acme/jobs/?type=build&type=deploy&createdAfter=PT1H"
    client = Client()

    bounce = client.get(target)
    assert bounce.status_code == 302
    assert bounce["Location"] == f"/accounts/login/?next={quote(target, safe='/')}"

    login_page = client.get(bounce["Location"])
    assert f'value="{target.replace("&", "&amp;")}"' in login_page.content.decode()

    done = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD, "next": target})
    assert done.status_code == 302
    assert done["Location"] == target


def test_a_non_member_gets_404_for_the_tenants_urls(
    acme: Tenant, globex: Tenant, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    client = login(make_user("alice", acme))
    assert client.get("/t/acme/jobs/").status_code == 200
    assert client.get("/t/globex/jobs/").status_code == 404
    assert client.get("/t/nosuch/jobs/").status_code == 404
    assert globex.slug not in client.get("/").content.decode()


def test_home_sends_a_user_to_their_tenant_or_a_picker(
    make_tenant: Callable[..., Tenant], make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    assert login(make_user("one", acme)).get("/")["Location"] == "/t/acme/jobs/"
    picker = login(make_user("two", acme, globex)).get("/")
    assert picker.status_code == 200
    assert 'href="/t/acme/jobs/"' in picker.content.decode() and 'href="/t/globex/jobs/"' in picker.content.decode()
    assert "No tenants yet" in login(make_user("none")).get("/").content.decode()


def test_logout_is_a_post(make_user: Callable[..., User], login: Callable[[User], Client]) -> None:
    client = login(make_user("alice"))
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/")["Location"].startswith("/accounts/login/")
