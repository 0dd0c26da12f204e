"""Who is looking at a live socket, resolved the way the consumer does: a member of the socket's
tenant, or the visitor holding a signed link of that tenant; anyone else is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser, User
from django.db import connections
from django.http import Http404
from django.utils import timezone

from jobsdash.jobs.viewers import Viewer
from jobsdash.links.grants import LinkRefused, create_link, token_for
from jobsdash.links.models import EmbedLink
from jobsdash.links.visitors import avisitor
from jobsdash.waylay.queries import parse_list_query

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_the_threads_connection() -> AsyncIterator[None]:
    # The lookups ran in asgiref's shared thread: its connection must not outlive the test, or the
    # test database cannot be dropped at the end of the session.
    yield
    await sync_to_async(connections.close_all)()


async def test_a_members_socket_has_the_whole_tenant_and_anyone_else_is_refused(
    acme: Any, globex: Any, make_user: Callable[..., User]
) -> None:
    ann = await sync_to_async(make_user)("ann", acme)
    viewer = await Viewer.of_socket(ann, "acme")
    assert (viewer.tenant, viewer.member, viewer.expires_at) == (acme, True, None)
    assert viewer.allows_stream(None, None, False) and viewer.allows_stream("build", "x", True)
    for user, slug in ((ann, "globex"), (ann, "nope"), (AnonymousUser(), "acme")):
        with pytest.raises(Http404):
            await Viewer.of_socket(user, slug)


async def test_a_signed_links_socket_has_its_reach_until_the_link_ends(acme: Any, globex: Any) -> None:
    link = await sync_to_async(create_link)(
        acme,
        None,
        scope=EmbedLink.Scope.LIST,
        lifetime=timedelta(hours=1),
        query=parse_list_query({"type": ["deploy"]}),
    )
    token = token_for(link)
    visitor = await avisitor(token, "acme")
    assert (visitor.tenant, visitor.member, visitor.expires_at) == (acme, False, link.expires_at)
    assert visitor.allows_stream("deploy", None, False) and not visitor.allows_stream("build", None, False)
    with pytest.raises(LinkRefused):
        await avisitor(token, "globex")  # another tenant's socket
    with pytest.raises(LinkRefused):
        await avisitor(token[:-2] + "xx", "acme")  # tampered
    await EmbedLink.objects.filter(pk=link.pk).aupdate(revoked_at=timezone.now())
    with pytest.raises(LinkRefused, match="revoked"):
        await avisitor(token, "acme")
