"""A call whose reply is lost on the way back is sent again by the engine; what it acted on
must not be acted on twice, nor misreported (issue 28, item 14). Through a proxy that drops
exactly one reply (tests/reply_dropper.py): a scale by delta is delivered once, a cancel or
a retry that acted says so, and a claim sent again returns the jobs it leased instead of
counting another attempt (and, at the lease's end, a stall) for each.

The memory engine has no wire to lose a reply on: these are Redis-only."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from jobdeck.core.backend.base import Finish, Outcome
from jobdeck.core.backend.redis import RedisBackend
from jobdeck.core.backend.redis.scripts import SCRIPTS, script_source

from .reply_dropper import ReplyDropper
from .test_backend_contract import LEASE, job, new, record, worker


def sha(name: str) -> bytes:
    return hashlib.sha1(script_source(name).encode()).hexdigest().encode()


@pytest.fixture
async def lossy(redis_server, prefix: str) -> AsyncIterator[tuple[RedisBackend, ReplyDropper]]:
    dropper = await ReplyDropper(redis_server.port).start()
    backend = RedisBackend(dropper.url, queue="q", prefix=prefix)
    await backend.initialize()
    for name in SCRIPTS:  # loaded: the reply lost is the script's, not a NOSCRIPT
        await backend.client.script_load(script_source(name))
    yield backend, dropper
    await backend.close()
    await dropper.close()


async def _submit(backend: RedisBackend, n: int = 1) -> list[str]:
    made = [new(job("work")) for _ in range(n)]
    assert all(await backend.submit(made))
    return [j.id for j in made]


async def test_a_cancel_whose_reply_was_lost_says_it_cancelled(lossy) -> None:
    backend, dropper = lossy
    [job_id] = await _submit(backend)
    dropper.arm(sha("cancel"))
    assert await backend.cancel(job_id) == "pending"
    assert dropper.dropped == 1


async def test_a_retry_whose_reply_was_lost_says_it_moved_the_job(lossy) -> None:
    backend, dropper = lossy
    [job_id] = await _submit(backend)
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    failed = Finish(job_id, claimed.token, Outcome.FAILED, b'{"type":"X","message":""}')
    await backend.finish("w1", [failed])
    dropper.arm(sha("retry_dead"))
    assert await backend.retry_dead([job_id]) == 1
    assert dropper.dropped == 1


async def test_a_scale_by_delta_whose_reply_was_lost_is_delivered_once(lossy) -> None:
    backend, dropper = lossy
    await backend.heartbeat(worker("w1"), [], LEASE)
    dropper.arm(sha("control"))
    assert await backend.send_control({"op": "scale", "delta": 1}, None) == 1
    assert dropper.dropped == 1
    assert await backend.next_control("w1", 0.5) == [{"op": "scale", "delta": 1}]
    assert await backend.next_control("w1", 0.1) == []


async def test_a_claim_whose_reply_was_lost_returns_the_jobs_it_leased(lossy) -> None:
    backend, dropper = lossy
    ids = await _submit(backend, 3)
    dropper.arm(sha("claim"))
    batch = await backend.claim("w1", 2, LEASE)
    assert dropper.dropped == 1
    assert [c.id for c in batch.jobs] == ids[:2]
    for claimed in batch.jobs:
        got = await record(backend, claimed.id)
        assert got.attempts == 1 and claimed.fields["attempts"] == b"1"
    # the worker holds the leases it was given: a heartbeat keeps them
    leases = [(c.id, c.token) for c in batch.jobs]
    assert await backend.heartbeat(worker("w1"), leases, LEASE) == ([], [])
    assert [c.id for c in (await backend.claim("w1", 5, LEASE)).jobs] == ids[2:]


def test_a_replayed_claim_hands_over_the_fields_a_claim_does() -> None:
    """claim.lua names the fields it hands over twice (the claim's read, and FIELDS for a
    replay): both must be replies.CLAIMED_FIELDS, in order."""
    import re

    from jobdeck.core.backend.redis.replies import CLAIMED_FIELDS

    source = script_source("claim")
    listed = re.search(r"local FIELDS = \{([^}]*)\}", source)
    assert listed is not None
    assert tuple(re.findall(r"'(\w+)'", listed.group(1))) == CLAIMED_FIELDS
    read = re.search(r"(?<!local )f = redis\.pcall\('HMGET', key, ([^)]*)\)", source)
    assert read is not None
    assert tuple(re.findall(r"'(\w+)'", read.group(1)))[: len(CLAIMED_FIELDS)] == CLAIMED_FIELDS
