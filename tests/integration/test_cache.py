"""The per-tenant cache: keys, freshness by kind, and invalidation by job events."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from jobsdash.jobs import cache
from jobsdash.simulator.jobs import XSS_JOB
from jobsdash.waylay.queries import parse_list_query
from tests.fixtures.live import eventually

pytestmark = pytest.mark.django_db


def test_lists_and_jobs_are_served_from_the_cache_while_fresh(sim, acme) -> None:
    query = parse_list_query({"state": ["failed"]})
    first = cache.list_jobs(acme, query)
    second = cache.list_jobs(acme, query)
    assert second.body == first.body and not second.stale
    assert sim.count("list", "acme") == 1
    cache.get_job(acme, *XSS_JOB)
    cache.get_job(acme, *XSS_JOB)
    assert sim.count("get", "acme") == 1


def test_finished_jobs_stay_fresh_longer_than_lists(sim, acme, settings) -> None:
    settings.CACHE_TTL_LIST = 0
    settings.CACHE_TTL_JOB_ACTIVE = 0
    settings.CACHE_TTL_JOB_FINISHED = 3600
    query = parse_list_query({})
    cache.list_jobs(acme, query)
    cache.list_jobs(acme, query)
    assert sim.count("list", "acme") == 2
    job = cache.get_job(acme, *XSS_JOB)
    assert job.document["job"]["state"] in ("completed", "failed")
    cache.get_job(acme, *XSS_JOB)
    assert sim.count("get", "acme") == 1


def test_a_job_event_drops_the_job_and_refreshes_the_tenants_lists_only(sim, acme, globex) -> None:
    query = parse_list_query({"type": ["build"]})
    cache.list_jobs(acme, query)
    cache.list_jobs(globex, query)
    cache.get_job(acme, *XSS_JOB)
    async_to_sync(cache.on_job_event)(acme, *XSS_JOB)
    cache.list_jobs(acme, query)
    cache.list_jobs(globex, query)
    cache.get_job(acme, *XSS_JOB)
    assert sim.count("list", "acme") == 2
    assert sim.count("list", "globex") == 1
    assert sim.count("get", "acme") == 2


def test_an_upstream_failure_with_no_copy_raises(sim, acme) -> None:
    from jobsdash.waylay.errors import UpstreamUnavailable

    sim.set_faults(error_status=503)
    with pytest.raises(UpstreamUnavailable):
        cache.list_jobs(acme, parse_list_query({"state": ["delayed"]}))


@pytest.mark.django_db(transaction=True)
def test_a_fetch_begun_before_an_event_does_not_pass_for_fresh(sim, acme, settings) -> None:
    settings.CACHE_TTL_JOB_FINISHED = settings.CACHE_TTL_JOB_ACTIVE = 3600
    sim.set_faults(latency_ms=600, endpoints=["get"])
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(cache.get_job, acme, *XSS_JOB)
        sim.wait_for(lambda: sim.count("get", "acme") == 1, what="the fetch to reach the upstream")
        async_to_sync(cache.on_job_event)(acme, *XSS_JOB)  # the job changes meanwhile
        in_flight.result()
    sim.clear_faults()
    cache.get_job(acme, *XSS_JOB)
    assert sim.count("get", "acme") == 2  # the answer from before the change was not taken as fresh
    cache.get_job(acme, *XSS_JOB)
    assert sim.count("get", "acme") == 2


def _finished_jobs(tenant, count: int) -> list[tuple[str, str]]:
    listed = cache.list_jobs(tenant, parse_list_query({"state": ["completed"], "limit": [str(count)]})).document
    return [(job["type"], job["id"]) for job in listed["jobs"]]


def test_several_jobs_are_read_in_order_errors_included_and_a_second_look_costs_no_call(sim, acme) -> None:
    from jobsdash.waylay.errors import NotFound

    wanted = [*_finished_jobs(acme, 5), ("build", "no-such-job$anywhere")]
    answers = cache.get_jobs(acme, wanted)
    assert [a.document["job"]["job"]["id"] for a in answers[:5]] == [job_id for _, job_id in wanted[:5]]
    assert isinstance(answers[5], NotFound)
    assert sim.count("get", "acme") == 6
    again = cache.get_jobs(acme, wanted[:5])
    assert [a.body for a in again] == [a.body for a in answers[:5]]
    assert sim.count("get", "acme") == 6


@pytest.mark.django_db(transaction=True)
def test_requests_reading_many_jobs_at_once_share_a_few_reads_per_tenant(sim, acme, settings) -> None:
    settings.DETAIL_READS_PER_TENANT = 2
    wanted = _finished_jobs(acme, 8)
    sim.set_faults(latency_ms=150, endpoints=["get"])
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: cache.get_jobs(acme, wanted), range(3)))
    assert all(len(found) == len(wanted) and not any(isinstance(a, Exception) for a in found) for found in answers)
    # Three requests at once: each job read once, never more than two reads of acme at a time.
    assert sim.count("get", "acme") == len(wanted)
    assert sim.max_in_flight("get", "acme") == 2


@pytest.mark.django_db(transaction=True)
async def test_a_request_that_goes_away_leaves_the_others_their_shared_reads(sim, acme) -> None:
    # The requests of get_jobs meet in _read_all, on the server's loop: one of them cancelled (its
    # client went away) must not cancel the reads the others wait for.
    wanted = [(*job, 0.0) for job in await sync_to_async(_finished_jobs)(acme, 3)]
    await asyncio.to_thread(sim.set_faults, latency_ms=300, endpoints=["get"])
    first = asyncio.ensure_future(cache._read_all(acme, wanted))
    await eventually(lambda: sim.count("get", "acme") >= 1, "the first request's reads to begin")
    second = asyncio.ensure_future(cache._read_all(acme, wanted))
    await asyncio.sleep(0)  # the second joins the reads in flight
    first.cancel()
    answers = await second
    assert [a.document["job"]["job"]["id"] for a in answers] == [job_id for _, job_id, _ in wanted]
    assert first.cancelled()
    assert await asyncio.to_thread(sim.count, "get", "acme") == len(wanted)  # read once, for both


def test_after_a_gap_several_jobs_are_read_again_unless_finished(sim, acme) -> None:
    running = sim.create_job("acme", "scale")
    sim.advance("acme", "scale", running["id"], to="active")
    finished = _finished_jobs(acme, 1)
    wanted = [("scale", running["id"]), *finished]
    cache.get_jobs(acme, wanted)
    reads = sim.count("get", "acme")
    async_to_sync(cache.on_stream_gap)(acme)  # the unfinished job may have changed unseen
    answers = cache.get_jobs(acme, wanted)
    assert sim.count("get", "acme") == reads + 1  # the running one, not the finished one
    assert [a.document["job"]["job"]["id"] for a in answers] == [job_id for _, job_id in wanted]
