"""Login security: lock-out after repeated failures, CSRF on login and logout, session fixation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.fixtures.site import PASSWORD


@pytest.fixture(autouse=True)
def _small_limits(settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES_USER = 3
    settings.LOGIN_MAX_FAILURES_IP = 5
    settings.LOGIN_LOCKOUT_SECONDS = 900


def _login(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def _fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        answer = _login(client, username, "wrong password")
        assert answer.status_code == 200
        assert b"didn&#x27;t match" in answer.content or b"didn't match" in answer.content


@pytest.mark.django_db
def test_a_user_is_locked_out_after_repeated_failures_even_with_the_right_password(
    make_user: Callable[..., User],
) -> None:
    make_user("alice")
    client = Client()
    _fail(client, "alice", 3)

    locked = _login(client, "alice")
    assert locked.status_code == 429
    assert 840 <= int(locked["Retry-After"]) <= 900
    assert b"Too many failed logins; try again in 15 minutes" in locked.content
    assert "_auth_user_id" not in client.session
    # The lock-out follows the username, not the browser, and ignores case and spaces.
    assert _login(Client(REMOTE_ADDR="10.9.9.9"), " ALICE ").status_code == 429


@pytest.mark.django_db
def test_other_users_are_not_affected(make_user: Callable[..., User]) -> None:
    make_user("alice")
    make_user("bob")
    client = Client()
    _fail(client, "alice", 3)
    assert _login(client, "alice").status_code == 429
    assert _login(client, "bob").status_code == 302


@pytest.mark.django_db
def test_a_successful_login_resets_the_users_failures(make_user: Callable[..., User]) -> None:
    make_user("alice")
    _fail(Client(), "alice", 2)
    assert _login(Client(), "alice").status_code == 302
    _fail(Client(), "alice", 2)  # counted from zero again: two more do not lock
    assert _login(Client(), "alice").status_code == 302


@pytest.mark.django_db
def test_a_client_address_is_locked_out_across_usernames(make_user: Callable[..., User]) -> None:
    make_user("carol")
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for name in ("u1", "u2", "u3", "u4", "u5"):
        _fail(attacker, name, 1)
    locked = _login(attacker, "carol")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    # Another address is not locked out, and carol's own count was never touched.
    assert _login(Client(REMOTE_ADDR="198.51.100.4"), "carol").status_code == 302


@pytest.mark.django_db
def test_the_window_ends_the_lock_out(make_user: Callable[..., User], settings: Any) -> None:
    make_user("alice")
    _fail(Client(), "alice", 3)
    assert _login(Client(), "alice").status_code == 429
    # What the window's end does: the cache forgets the counts (cleared here rather than waited for).
    from django.core.cache import cache

    cache.clear()
    assert _login(Client(), "alice").status_code == 302


@pytest.mark.django_db
def test_the_admin_login_shares_the_lock_out(make_user: Callable[..., User]) -> None:
    make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(3):
        assert client.post("/admin/login/", {"username": "root", "password": "nope"}).status_code == 200
    assert client.post("/admin/login/", {"username": "root", "password": PASSWORD}).status_code == 429
    assert _login(client, "root").status_code == 429


@pytest.mark.django_db
def test_login_and_logout_posts_need_the_csrf_token(make_user: Callable[..., User]) -> None:
    user = make_user("alice")
    client = Client(enforce_csrf_checks=True)
    assert _login(client, "alice").status_code == 403

    page = client.get("/accounts/login/")
    token = page.context["csrf_token"]
    answer = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)

    assert client.post("/accounts/logout/").status_code == 403
    assert client.session["_auth_user_id"] == str(user.pk)  # still logged in
    # A GET does not log out either (LogoutView accepts POST only).
    assert client.get("/accounts/logout/").status_code == 405
    token = client.cookies["csrftoken"].value
    assert client.post("/accounts/logout/", HTTP_X_CSRFTOKEN=token).status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_logging_in_gives_a_new_session_key(make_user: Callable[..., User]) -> None:
    make_user("alice")
    client = Client()
    client.get("/accounts/login/")
    session = client.session
    session["planted"] = "by an attacker"
    session.save()
    planted_key = session.session_key
    client.cookies["sessionid"] = planted_key

    assert _login(client, "alice").status_code == 302
    assert client.cookies["sessionid"].value != planted_key
    # The planted key is no session at all any more: a fixation attacker holding it has nothing.
    from django.contrib.sessions.backends.db import SessionStore

    assert not SessionStore().exists(planted_key)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url",
    [
        "/accounts/login/",
        "/accounts/login/?next=/accounts/login/",
        "http://testserver/accounts/login/",
        "/accounts/login",
        "/accounts/logout/",
    ],
)
def test_a_logged_in_user_sent_back_to_the_login_page_lands_on_their_jobs(
    next_url: str,
    make_user: Callable[..., User],
    make_tenant: Callable[..., Any],
    login: Callable[[User], Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = login(make_user("alice", make_tenant("acme")))
    answer = client.get("/accounts/login/", {"next": next_url})
    assert answer.status_code == 302
    assert answer["Location"] == "/"
    assert client.get(answer["Location"]).url == "/t/acme/jobs/"
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.django_db
def test_logging_in_with_the_login_page_as_next_lands_on_the_home_page(make_user: Callable[..., User]) -> None:
    make_user("alice")
    answer = Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/accounts/login/"})
    assert answer.status_code == 302
    assert answer["Location"] == "/"


@pytest.mark.django_db
def test_a_logged_in_user_still_goes_where_next_says(
    make_user: Callable[..., User], make_tenant: Callable[..., Any], login: Callable[[User], Client]
) -> None:
    client = login(make_user("alice", make_tenant("acme")))
    answer = client.get("/accounts/login/", {"next": "/t/acme/jobs/?state=failed"})
    assert answer.status_code == 302
    assert answer["Location"] == "/t/acme/jobs/?state=failed"
