"""The `tz` page parameter: a known zone is accepted (the browser converts), an unknown one is a
400 naming `tz` on the list and detail pages; the job list's own filters are unaffected."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobsdash.jobs.timezones import validate_tz
from jobsdash.waylay.errors import InvalidQuery

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/Argentina/Buenos_Aires"])
def test_it_accepts_iana_zones(zone: str) -> None:
    assert validate_tz(zone) == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc ", "../../etc/passwd", "Asia/Tokyo" * 10, "browser"])
def test_it_refuses_anything_else_naming_tz(zone: str) -> None:
    with pytest.raises(InvalidQuery) as refused:
        validate_tz(zone)
    assert refused.value.parameter == "tz"


def test_absent_or_empty_means_the_browser_decides() -> None:
    assert validate_tz(None) is None
    assert validate_tz("") is None


def test_the_pages_accept_a_zone_and_refuse_an_unknown_one(
    sim, acme, make_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    client = login(make_user("alice", acme))
    jobs = httpx.get(f"{sim.url}/registry/v2/jobs/?type=build", auth=("acme-key", "acme-secret")).json()["jobs"]
    detail = f"/t/acme/jobs/build/{jobs[0]['id']}/"

    listed = client.get("/t/acme/jobs/?type=build&tz=Asia/Tokyo")
    assert listed.status_code == 200
    assert listed.content.decode().count('class="job-row"') == len(jobs)  # tz is not an upstream filter
    assert client.get(f"{detail}?tz=UTC").status_code == 200

    for path in ("/t/acme/jobs/?tz=Mars/Olympus", f"{detail}?tz=Mars/Olympus"):
        refused = client.get(path)
        assert refused.status_code == 400
        assert "tz: unknown time zone" in refused.content.decode()
