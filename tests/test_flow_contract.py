"""Routing, limits and fairness, one contract on both engines (issue 22 part 2, issue 24):
what a claim takes, parks and holds, driven through the `Backend` protocol as
test_backend_contract.py drives the rest of the state machine."""

from __future__ import annotations

import asyncio
from typing import Any

from jobdeck.core.backend.base import Backend, Outcome
from jobdeck.core.events import Events
from jobdeck.core.limits import encode_limit
from jobdeck.core.models import JobStatus
from jobdeck.core.submission import prepare

from . import test_backend_contract as contract
from .test_backend_contract import LEASE, TINY, all_events, depths, finish, record

# The contract's engine fixtures: every test here runs on each engine, like the contract's.
make_backend = contract.make_backend
backend = contract.backend


async def put(backend: Backend, name: str, n: int = 1, **options: Any) -> list[str]:
    """`n` jobs called `name`, with `limit`/`group` and submit's other options."""
    jobs = [prepare(name, **options) for _ in range(n)]
    assert all(await backend.submit(jobs))
    return [job.id for job in jobs]


async def set_limit(
    backend: Backend, key: str, concurrency: Any = None, rate: Any = None, per: float = 1.0
) -> None:
    stored, figures = encode_limit(concurrency, rate, per)
    assert await backend.set_limit(key, stored, {"key": key, **figures}) >= 0


async def claimed(
    backend: Backend, count: int, handlers: Any = None, lease: float = LEASE, worker: str = "w1"
) -> list[str]:
    batch = await backend.claim(worker, count, lease, handlers)
    return [cj.id for cj in batch.jobs]


async def done(backend: Backend, worker: str, *ids: str) -> None:
    """Completes running jobs by id (their tokens read from their records)."""
    items = []
    for job_id in ids:
        fields = await backend.get(job_id)
        assert fields is not None
        token = fields.get(b"token", fields.get("token"))
        token = token.decode() if isinstance(token, bytes) else token
        items.append(finish(job_id, token, Outcome.COMPLETED, payload=b"null"))
    assert all(await backend.finish(worker, items))


# -- routing: a worker claims only what it can run ------------------------------------------
async def test_a_job_a_worker_cannot_run_is_parked_not_failed(backend: Backend) -> None:
    start = await backend.last_event_id()
    [resize] = await put(backend, "resize")
    [mail] = await put(backend, "mail")
    assert await claimed(backend, 5, ["mail"]) == [mail]

    parked = await record(backend, resize)
    assert (parked.status, parked.attempts, parked.error) == (JobStatus.PENDING, 0, None)
    started = [e.job_id for e in await all_events(backend, start) if e.type == Events.JOB_STARTED]
    assert started == [mail]
    m = await backend.metrics(1)
    assert (m.depths["pending"], m.parked, m.parked_total) == (1, {"resize": 1}, 1)
    assert [job_id for job_id, _ in await backend.list_jobs("pending", 10, 0, False)] == [resize]

    # The same worker claims again: the parked job is not its to take, and no busy loop.
    assert await claimed(backend, 5, ["mail"]) == []
    assert await claimed(backend, 5, ["resize", "other"], worker="w2") == [resize]
    m = await backend.metrics(1)
    assert (m.depths["pending"], m.parked, m.parked_total) == (0, {}, 0)
    assert (await record(backend, resize)).attempts == 1


async def test_parked_jobs_go_first_highest_priority_first(backend: Backend) -> None:
    low = await put(backend, "resize", 2, priority="low")
    high = await put(backend, "resize", 2, priority="high")
    assert await claimed(backend, 10, ["mail"]) == []
    fresh = await put(backend, "resize", 1, priority="critical")
    assert await claimed(backend, 10, ["resize"]) == high + low + fresh


async def test_a_worker_that_runs_any_name_takes_parked_jobs(backend: Backend) -> None:
    ids = await put(backend, "resize", 3)
    assert await claimed(backend, 10, ["mail"]) == []
    assert sorted(await claimed(backend, 10, None)) == sorted(ids)


async def test_parked_jobs_can_be_cancelled_listed_and_purged(backend: Backend) -> None:
    ids = await put(backend, "resize", 3)
    assert await claimed(backend, 10, ["mail"]) == []
    assert await backend.cancel(ids[0]) == "pending"
    assert (await record(backend, ids[0])).status == JobStatus.CANCELLED
    m = await backend.metrics(1)
    assert (m.depths["pending"], m.parked_total) == (2, 2)
    assert await backend.purge("pending") == 2
    m = await backend.metrics(1)
    assert (m.depths["pending"], m.parked, m.parked_total) == (0, {}, 0)
    assert await claimed(backend, 10, ["resize"]) == []


# -- limits: concurrency --------------------------------------------------------------------
async def test_concurrency_holds_the_rest_throttled_until_a_slot_frees(backend: Backend) -> None:
    await set_limit(backend, "stripe", concurrency=2)
    ids = await put(backend, "charge", 5, limit="stripe")
    first = await claimed(backend, 10)
    assert first == ids[:2]
    m = await backend.metrics(1)
    assert (m.depths["pending"], m.throttled, m.throttled_total) == (3, {"stripe": 3}, 3)
    rows = await backend.list_jobs("pending", 10, 0, False)
    assert [job_id for job_id, _ in rows] == ids[2:]
    held = await record(backend, ids[2])
    assert (held.status, held.throttled, held.limit, held.attempts) == (
        JobStatus.PENDING,
        "stripe",
        "stripe",
        0,
    )
    assert await claimed(backend, 10) == []  # full: nothing more, nothing spins

    await done(backend, "w1", ids[0])
    assert await claimed(backend, 10) == [ids[2]]
    assert (await record(backend, ids[2])).throttled is None
    assert (await backend.metrics(1)).throttled == {"stripe": 2}
    raw = await backend.limits()
    assert (raw.in_use, raw.throttled) == ({"stripe": 2}, {"stripe": 2})


async def test_other_keys_and_unlimited_jobs_flow_past_a_throttled_head(backend: Backend) -> None:
    await set_limit(backend, "slow", concurrency=1)
    held = await put(backend, "call", 20, limit="slow")
    free = await put(backend, "call", 5)
    other = await put(backend, "call", 2, limit="fast")
    got = await claimed(backend, 8)
    assert got == [held[0], *free, *other]


async def test_a_template_limits_each_key_it_covers(backend: Backend) -> None:
    await set_limit(backend, "user:*", concurrency=1)
    a = await put(backend, "sync", 3, limit="user:1")
    b = await put(backend, "sync", 3, limit="user:2")
    deep = await put(backend, "sync", 2, limit="user:3:exports")
    assert await claimed(backend, 10) == [a[0], b[0], deep[0]]
    assert (await backend.metrics(1)).throttled == {"user:*": 5}
    assert (await record(backend, a[1])).throttled == "user:*"
    # The most specific limit wins: a key's own, over a longer template, over a shorter one.
    await set_limit(backend, "user:2", concurrency=3)
    await set_limit(backend, "user:3:*", concurrency=2)
    assert sorted(await claimed(backend, 10)) == sorted([*b[1:], deep[1]])


async def test_concurrency_zero_pauses_a_key_until_the_limit_changes(backend: Backend) -> None:
    await set_limit(backend, "batch", concurrency=0)
    ids = await put(backend, "export", 3, limit="batch")
    assert await claimed(backend, 10) == []
    batch = await backend.claim("w1", 10, LEASE, None)
    assert batch.next_due is None  # nothing to wake up for while paused
    await set_limit(backend, "batch", concurrency=2)
    assert await claimed(backend, 10) == ids[:2]


async def test_removing_a_limit_lets_its_held_jobs_run_unthrottled(backend: Backend) -> None:
    await set_limit(backend, "stripe", concurrency=1)
    ids = await put(backend, "charge", 4, limit="stripe")
    assert await claimed(backend, 10) == ids[:1]
    assert await backend.set_limit("stripe", "", {"key": "stripe", "removed": True}) == 1
    assert await backend.set_limit("stripe", "", {"key": "stripe", "removed": True}) == 0
    assert await claimed(backend, 10) == ids[1:]
    m = await backend.metrics(1)
    assert (m.throttled, m.throttled_total, m.depths["pending"]) == ({}, 0, 0)


async def test_an_expired_lease_gives_its_slot_back(make_backend: Any) -> None:
    backend = await make_backend()
    await set_limit(backend, "k", concurrency=1)
    ids = await put(backend, "job", 2, limit="k")
    assert await claimed(backend, 10, lease=TINY) == ids[:1]
    assert await claimed(backend, 10) == []
    await asyncio.sleep(TINY * 3)
    # The lease sweep requeues the first job and frees its slot: one of the two starts (the
    # one held waited longer in its key's line, and goes first).
    assert await claimed(backend, 10) == ids[1:]
    assert (await backend.limits()).in_use == {"k": 1}


async def test_the_slot_of_a_retried_or_released_job_is_given_back(backend: Backend) -> None:
    await set_limit(backend, "k", concurrency=1)
    ids = await put(backend, "job", 2, limit="k")
    [first] = (await backend.claim("w1", 10, LEASE, None)).jobs
    retry = finish(first.id, first.token, Outcome.RETRY, payload=b"{}", delay=30.0)
    assert await backend.finish("w1", [retry]) == [True]
    [second] = (await backend.claim("w1", 10, LEASE, None)).jobs
    assert second.id == ids[1]
    release = finish(second.id, second.token, Outcome.RELEASE)
    assert await backend.finish("w1", [release]) == [True]
    assert await claimed(backend, 10) == [ids[1]]
    assert (await backend.limits()).in_use == {"k": 1}


# -- limits: rate ---------------------------------------------------------------------------
async def test_a_rate_never_lets_more_starts_into_any_window(backend: Backend) -> None:
    await set_limit(backend, "api", rate=3, per=0.3)
    ids = await put(backend, "call", 9, limit="api")
    assert await claimed(backend, 10) == ids[:3]
    batch = await backend.claim("w1", 10, LEASE, None)
    assert batch.jobs == []
    # An idle worker's wait ends when the first start leaves the window, not before.
    assert batch.next_due is not None and 0 < batch.next_due <= 0.3
    got: list[str] = []
    while len(got) < 6:
        batch = await backend.claim("w1", 10, LEASE, None)
        got += [cj.id for cj in batch.jobs]
        assert batch.next_due is not None or len(got) == 6
        await asyncio.sleep(batch.next_due or 0)
    assert got == ids[3:9]
    starts = sorted([(await record(backend, job_id)).started_at or 0 for job_id in ids])
    # In any 0.3 s, at most 3 starts: the (k+3)-th start is 0.3 s or more after the k-th.
    assert all(
        later - earlier >= 0.3 - 1e-6 for earlier, later in zip(starts, starts[3:], strict=False)
    )


# -- fairness ---------------------------------------------------------------------------------
async def test_groups_take_turns_within_a_priority(backend: Backend) -> None:
    a = await put(backend, "work", 10, group="tenant-a")
    b = await put(backend, "work", 3, group="tenant-b")
    got = await claimed(backend, 8)
    assert got == [a[0], b[0], a[1], b[1], a[2], b[2], a[3], a[4]]
    assert (await depths(backend))["pending"] == 5


async def test_jobs_without_a_group_take_one_turn_among_the_groups(backend: Backend) -> None:
    plain = await put(backend, "work", 3)
    a = await put(backend, "work", 3, group="a")
    got = await claimed(backend, 6)
    assert sorted(got) == sorted(plain + a)
    assert got[0::2] == a or got[1::2] == a  # alternating
    late = await put(backend, "work", 2)
    more = await put(backend, "work", 2, group="a")
    assert sorted(await claimed(backend, 4)) == sorted(late + more)


async def test_priorities_come_before_groups(backend: Backend) -> None:
    a = await put(backend, "work", 3, group="a")
    urgent = await put(backend, "work", 2, group="b", priority="high")
    assert await claimed(backend, 3) == [*urgent, a[0]]


async def test_pending_pages_and_counts_span_every_lane(backend: Backend) -> None:
    await set_limit(backend, "k", concurrency=0)
    main = await put(backend, "work", 2)
    grouped = await put(backend, "work", 2, group="g")
    held = await put(backend, "held", 2, limit="k")
    parked = await put(backend, "other", 2)
    assert len(await claimed(backend, 4, ["work", "held"])) == 4
    listed = [job_id for job_id, _ in await backend.list_jobs("pending", 50, 0, False)]
    assert (await depths(backend))["pending"] == 4 == len(listed)
    assert set(listed) == {*held, *parked}
    newest = [job_id for job_id, _ in await backend.list_jobs("pending", 50, 0, True)]
    assert newest == listed[::-1]
    assert [j for j, _ in await backend.list_jobs("pending", 2, 1, False)] == listed[1:3]
    assert not {*main, *grouped} & set(listed)  # both claimed


async def test_a_pending_page_reads_at_most_a_thousand_lanes(backend: Backend) -> None:
    """1,100 groups of one job: the count is exact, a page near the front reads its rows,
    and a page past the first thousand lanes comes back short instead of walking them all."""
    ids = []
    for first in range(0, 1100, 100):
        jobs = [prepare("work", group=f"t{n}") for n in range(first, first + 100)]
        assert all(await backend.submit(jobs))
        ids += [job.id for job in jobs]
    assert (await depths(backend))["pending"] == 1100
    front = [job_id for job_id, _ in await backend.list_jobs("pending", 5, 10, False)]
    assert front == ids[10:15]
    assert await backend.list_jobs("pending", 5, 1050, False) == []


async def test_groups_new_in_one_submit_take_turns_in_submission_order(backend: Backend) -> None:
    """A batch that brings many groups to a rotation queues them in the batch's order, also
    when its jobs expire or wait (the workflow submit), not in the order of a hash table."""
    for expires in (None, 600.0):
        jobs = [prepare("work", group=f"g{k}", expires=expires) for k in range(24)]
        assert all(await backend.submit(jobs))
        taken = [await claimed(backend, 1) for _ in jobs]
        assert taken == [[job.id] for job in jobs], f"expires={expires}"
