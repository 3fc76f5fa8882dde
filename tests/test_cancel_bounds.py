"""Cancelling, on both engines: a pending job's cancel costs the same at any depth (its id
stays in its list and the claim drops it), the cancelled history has its bound on every path
that cancels, and a cancel asked for while a job runs survives a retry or a hand-back
(issue 28, items 3, 4 and 7)."""

from __future__ import annotations

import asyncio

import pytest

from jobdeck.core.backend.base import Backend, BackendSettings, Outcome
from jobdeck.core.backend.redis import RedisBackend
from jobdeck.core.events import Events
from jobdeck.core.keys import key_prefix
from jobdeck.core.models import JobStatus

from .test_backend_contract import (
    LEASE,
    TINY,
    MakeBackend,
    all_events,
    backend,
    depths,
    finish,
    job,
    make_backend,
    record,
    submit,
    worker,
)

__all__ = ["backend", "make_backend"]  # fixtures, used by name


# -- item 7: a pending job's cancel does not search its list -------------------------------
async def test_a_cancelled_pending_job_is_dropped_by_the_claim_that_pops_it(
    backend: Backend,
) -> None:
    ids = await submit(backend, *(job(f"j{n}") for n in range(6)))
    start = await backend.last_event_id()
    assert await backend.cancel(ids[1]) == "pending"
    assert await backend.cancel(ids[4]) == "pending"
    assert await backend.cancel(ids[1]) is None  # once
    assert (await depths(backend))["pending"] == 4  # exact while the entries wait
    page = [job_id for job_id, _ in await backend.list_jobs("pending", 10, 0, False)]
    assert page == [ids[0], ids[2], ids[3], ids[5]]
    found, _, _ = await backend.search("pending", "j", 0, 100, 100, False)
    assert [job_id for job_id, _ in found] == [ids[0], ids[2], ids[3], ids[5]]

    claimed = (await backend.claim("w1", 3, LEASE)).jobs
    assert [c.id for c in claimed] == [ids[0], ids[2], ids[3]]  # no slot used on them
    assert (await depths(backend))["pending"] == 1
    assert [c.id for c in (await backend.claim("w1", 5, LEASE)).jobs] == [ids[5]]
    found = await depths(backend)
    assert (found["pending"], found["cancelled"], found["running"], found["failed"]) == (
        0,
        2,
        4,
        0,
    )
    events = [e for e in await all_events(backend, start) if e.job_id in (ids[1], ids[4])]
    assert [e.type for e in events] == [Events.JOB_CANCELLED] * 2  # nothing more of them
    assert (await record(backend, ids[1])).status is JobStatus.CANCELLED


async def test_a_cancelled_entry_whose_record_the_history_bound_deleted_is_dropped_quietly(
    make_backend: MakeBackend,
) -> None:
    """The cancelled history keeps 1: cancelling three deletes two records while their ids
    still wait in the list. The claim drops them; they are not taken for malformed records."""
    backend = await make_backend(BackendSettings(history_max=1))
    ids = await submit(backend, *(job(f"j{n}") for n in range(4)))
    for job_id in ids[:3]:
        assert await backend.cancel(job_id) == "pending"
    assert [await backend.get(job_id) is None for job_id in ids[:3]].count(True) == 2
    assert (await depths(backend))["pending"] == 1
    assert [c.id for c in (await backend.claim("w1", 4, LEASE)).jobs] == [ids[3]]
    found = await depths(backend)
    assert (found["pending"], found["failed"], found["cancelled"]) == (0, 0, 1)


async def test_purge_of_pending_leaves_the_cancelled_jobs_alone(backend: Backend) -> None:
    ids = await submit(backend, *(job(f"j{n}") for n in range(3)))
    await backend.cancel(ids[0])
    assert await backend.purge("pending") == 2
    assert (await record(backend, ids[0])).status is JobStatus.CANCELLED
    assert (await depths(backend))["pending"] == 0
    await submit(backend, job("later"))
    assert (await depths(backend))["pending"] == 1


async def test_the_cancel_of_a_pending_job_leaves_its_list_alone(
    redis_url: str, prefix: str
) -> None:
    """What makes it O(1): no command of the cancel reads the list (LREM scanned it to the
    job's place, ~11 ms at a million)."""
    backend = RedisBackend(redis_url, queue="q", prefix=prefix)
    await backend.initialize()
    try:
        ids = await submit(backend, *(job(f"j{n}") for n in range(3)))
        p = key_prefix(prefix, "q")
        await backend.client.config_set("slowlog-log-slower-than", 0)
        await backend.client.slowlog_reset()
        assert await backend.cancel(ids[1]) == "pending"
        commands = [e["command"] for e in await backend.client.slowlog_get(100)]
        await backend.client.config_set("slowlog-log-slower-than", 10000)
        touched = [c for c in commands if (p + "pending:").encode() in c]
        assert touched == [], touched
        assert await backend.client.lrange(p + "pending:1", 0, -1) == [i.encode() for i in ids]
    finally:
        await backend.close()


# -- item 3: every path that cancels keeps the cancelled history bounded --------------------
async def test_cancelling_pending_and_scheduled_jobs_keeps_the_history_bound(
    make_backend: MakeBackend,
) -> None:
    backend = await make_backend(BackendSettings(history_max=3))
    ids = await submit(backend, *(job(f"p{n}") for n in range(4)))
    ids += await submit(backend, *(job(f"s{n}", delay=60) for n in range(3)))
    for job_id in ids:
        await backend.cancel(job_id)
    assert (await depths(backend))["cancelled"] == 3
    kept = {job_id for job_id, _ in await backend.list_jobs("cancelled", 10, 0, True)}
    assert len(kept) == 3  # and the others' records are gone
    gone = {job_id for job_id in ids if await backend.get(job_id) is None}
    assert gone == set(ids) - kept


async def test_cancels_at_lease_expiry_keep_the_history_bound(make_backend: MakeBackend) -> None:
    backend = await make_backend(BackendSettings(history_max=2))
    ids = await submit(backend, *(job(f"j{n}") for n in range(4)))
    await backend.claim("w1", 4, TINY)
    for job_id in ids:
        assert await backend.cancel(job_id) == "running"
    await asyncio.sleep(TINY * 2)
    await backend.heartbeat(worker("w2"), [], LEASE)  # the leases expired: cancelled
    assert (await depths(backend))["cancelled"] == 2


# -- item 4: a cancel is not lost to a retry or a hand-back ---------------------------------
@pytest.mark.parametrize("outcome", [Outcome.RETRY, Outcome.RELEASE])
async def test_a_cancel_asked_while_it_ran_ends_the_job_instead_of_another_attempt(
    backend: Backend, outcome: str
) -> None:
    [job_id] = await submit(backend, job("long", max_retries=3))
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    assert await backend.cancel(job_id) == "running"
    start = await backend.last_event_id()
    error = b'{"type":"Boom","message":"it failed as it was cancelled"}'
    assert await backend.finish(
        "w1", [finish(job_id, claimed.token, outcome, payload=error, delay=0.0)]
    ) == [True]
    got = await record(backend, job_id)
    assert got.status is JobStatus.CANCELLED
    if outcome == Outcome.RETRY:
        assert got.error is not None and got.error.type == "Boom"
    assert (await backend.claim("w2", 5, LEASE)).jobs == []  # never started again
    [event] = await all_events(backend, start)
    assert event.type == Events.JOB_CANCELLED
    assert event.data == {"reason": "cancelled", "instead_of": outcome}
    found = await depths(backend)
    assert (found["cancelled"], found["pending"], found["scheduled"]) == (1, 0, 0)


# -- item 8: the old sorted-set layout is claimed from in place ----------------------------
async def test_a_claim_takes_only_its_own_jobs_from_the_old_sorted_set(
    redis_url: str, prefix: str
) -> None:
    """A version that kept pending jobs in one sorted set left 5,000 there: a claim of one
    takes one (the first in the old order), and pages and counts show the rest, instead of
    one claim moving up to 100,000 into the lists (205 ms each)."""
    backend = RedisBackend(redis_url, queue="q", prefix=prefix)
    await backend.initialize()
    try:
        client, p, band = backend.client, key_prefix(prefix, "q"), 2**44
        pipe = client.pipeline(transaction=False)
        for n in range(5000):
            pipe.hset(p + f"job:old{n:05d}", mapping={
                "name": "old", "status": "pending", "priority": "1", "created_at": "1.000",
            })
        pipe.zadd(p + "pending", {f"old{n:05d}": 2 * band + n for n in range(5000)})
        await pipe.execute()
        [first] = (await backend.claim("w1", 1, LEASE)).jobs
        assert first.id == "old00000"
        assert await client.zcard(p + "pending") == 4999
        assert (await depths(backend))["pending"] == 4999
        page = [job_id for job_id, _ in await backend.list_jobs("pending", 3, 0, False)]
        assert page == ["old00001", "old00002", "old00003"]
    finally:
        await backend.close()


# -- item 12: handlers see when their job was created, on both engines -----------------------
async def test_a_claimed_job_carries_its_creation_time(backend: Backend) -> None:
    from jobdeck.core.worker.claimed import decode_claimed

    [job_id] = await submit(backend, job("when"))
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    decoded = decode_claimed(claimed.id, claimed.fields)
    assert decoded.id == job_id and decoded.created_at > 1_600_000_000
