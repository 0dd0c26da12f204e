"""A member's live socket lasts only as long as their access: logging out, a password change, a
deactivated account or a removed membership closes it with 4003, within ACCESS_RECHECK_SECONDS.
(Signed links: test_links_live.py; what the page then shows: tests/browser/test_live_list.py.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import OperationalError
from django.test import Client

from jobsdash.live import access
from jobsdash.tenants.models import Membership
from tests.fixtures.live import LIVE, closed, connected, events, eventually, frame, on_sim, open_socket

pytestmark = LIVE


@pytest.fixture(autouse=True)
def quick_recheck(settings: Any) -> None:
    settings.ACCESS_RECHECK_SECONDS = 0.1


def cookie_of(client: Client) -> bytes:
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def log_out(user: User, client: Client) -> None:
    assert client.post("/accounts/logout/").status_code == 302


def change_password(user: User, client: Client) -> None:
    user.set_password("a new password, elsewhere")  # every other session of the user ends
    user.save()


def deactivate(user: User, client: Client) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


def remove_membership(user: User, client: Client) -> None:
    Membership.objects.filter(user=user, tenant__slug="acme").delete()


@pytest.mark.parametrize("end_access", [log_out, change_password, deactivate, remove_membership])
async def test_a_members_socket_closes_when_their_access_ends(
    sim: Any,
    acme: Any,
    make_user: Callable[..., User],
    login: Callable[[User], Client],
    end_access: Callable[[User, Client], None],
) -> None:
    user = await sync_to_async(make_user)("ann", acme)
    client = await sync_to_async(login)(user)
    cookie = cookie_of(client)
    socket = await connected(cookie)
    await sync_to_async(end_access)(user, client)
    assert await closed(socket) == 4003
    _, accepted = await open_socket(cookie)
    assert not accepted  # and the same browser cannot come back with it


async def test_a_socket_whose_access_holds_stays_open_while_another_one_closes(
    sim: Any, acme: Any, globex: Any, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    user = await sync_to_async(make_user)("ann", acme, globex)
    cookie = cookie_of(await sync_to_async(login)(user))
    stays = await connected(cookie)
    goes, accepted = await open_socket(cookie, slug="globex")
    assert accepted
    await frame(goes)  # status
    await Membership.objects.filter(user=user, tenant=globex).adelete()
    assert await closed(goes) == 4003
    job = await on_sim(sim.create_job, "acme", "build")
    (event,) = await events(stays, 1)  # several rechecks later, still live
    assert event["data"]["job"]["id"] == job["id"]
    await stays.disconnect()


async def test_a_recheck_that_cannot_reach_the_database_keeps_the_socket(
    sim: Any,
    acme: Any,
    make_user: Callable[..., User],
    login: Callable[[User], Client],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A database outage cannot be caused here for real: the recheck's membership query fails as
    # it would. The socket stays (its access was checked when it opened) and keeps relaying,
    # until a recheck that works finds the membership gone.
    real = access.atenant_for_user
    down, rechecks = True, 0

    async def flaky(user: User, slug: str) -> Any:
        nonlocal rechecks
        rechecks += 1
        if down:
            raise OperationalError("connection refused")
        return await real(user, slug)

    user = await sync_to_async(make_user)("ann", acme)
    socket = await connected(cookie_of(await sync_to_async(login)(user)))
    monkeypatch.setattr(access, "atenant_for_user", flaky)
    await eventually(lambda: rechecks >= 3, "three failed rechecks")
    job = await on_sim(sim.create_job, "acme", "build")
    (event,) = await events(socket, 1)
    assert event["data"]["job"]["id"] == job["id"]
    assert any("could not recheck live sockets' access" in record.getMessage() for record in caplog.records)
    await Membership.objects.filter(user=user).adelete()
    down = False
    assert await closed(socket) == 4003
