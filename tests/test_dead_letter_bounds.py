"""Dead letters have a count and an age bound (Sidekiq's: 10,000 and six months), on both
engines: past either, the oldest are dropped, each with a JOB_DROPPED event and the
`dead_dropped` total, so none disappears unseen; retrying them all is a pass in bounded steps
(issue 28, the bounds and item 6)."""

from __future__ import annotations

import asyncio

import pytest

from jobdeck.core.backend.base import Backend, BackendSettings, Outcome
from jobdeck.core.backend.records import (
    DEAD_MAX,
    DEAD_TTL,
    dead_max_from_env,
    dead_ttl_from_env,
)
from jobdeck.core.backend.redis import RedisBackend
from jobdeck.core.events import Events
from jobdeck.core.keys import key_prefix

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
    submit,
    worker,
)

__all__ = ["backend", "make_backend"]  # fixtures, used by name

FAIL = b'{"type":"Boom","message":"no"}'


async def _dead(backend: Backend, n: int, name: str = "fails") -> list[str]:
    """`n` jobs dead-lettered one finish call each (each its own millisecond or later)."""
    ids = await submit(backend, *(job(f"{name}{k}") for k in range(n)))
    for job_id in ids:
        [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
        assert claimed.id == job_id
        await backend.finish("w1", [finish(job_id, claimed.token, Outcome.FAILED, payload=FAIL)])
        await asyncio.sleep(0.002)
    return ids


def test_the_defaults_are_sidekiqs_and_the_environment_sets_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = BackendSettings()
    assert (settings.dead_max, settings.dead_ttl) == (DEAD_MAX, DEAD_TTL) == (10_000, 180 * 86400)
    monkeypatch.setenv("JOBDECK_DEAD_MAX", "2_500")
    monkeypatch.setenv("JOBDECK_DEAD_TTL", "30d")
    assert (BackendSettings().dead_max, BackendSettings().dead_ttl) == (2500, 30 * 86400)
    monkeypatch.setenv("JOBDECK_DEAD_TTL", "3600")
    assert dead_ttl_from_env() == 3600
    for bad in ("0", "ten", "-5"):
        monkeypatch.setenv("JOBDECK_DEAD_MAX", bad)
        with pytest.raises(ValueError, match="JOBDECK_DEAD_MAX"):
            dead_max_from_env()
    for bad in ("5", "0d", "1y"):
        monkeypatch.setenv("JOBDECK_DEAD_TTL", bad)
        with pytest.raises(ValueError, match="JOBDECK_DEAD_TTL"):
            dead_ttl_from_env()


async def test_past_the_count_the_oldest_dead_letters_are_dropped_and_told(
    make_backend: MakeBackend,
) -> None:
    backend = await make_backend(BackendSettings(dead_max=3))
    start = await backend.last_event_id()
    ids = await _dead(backend, 5)
    assert (await depths(backend))["failed"] == 3
    kept = [job_id for job_id, _ in await backend.list_jobs("failed", 10, 0, False)]
    assert kept == ids[2:]
    assert await backend.get(ids[0]) is None and await backend.get(ids[1]) is None
    dropped = [e for e in await all_events(backend, start) if e.type == Events.JOB_DROPPED]
    assert [(e.job_id, e.name, e.status, e.data) for e in dropped] == [
        (ids[0], "fails0", "failed", {"reason": "count", "dead_max": 3}),
        (ids[1], "fails1", "failed", {"reason": "count", "dead_max": 3}),
    ]
    totals = (await backend.metrics(1)).totals
    assert (totals["dead"], totals["dead_dropped"]) == (5, 2)


async def test_past_their_age_dead_letters_are_dropped_by_the_heartbeat(
    make_backend: MakeBackend,
) -> None:
    """A queue where nothing fails any more still lets old dead letters go: any worker's
    heartbeat drops those past the age bound."""
    backend = await make_backend(BackendSettings(dead_ttl=0.3))
    ids = await _dead(backend, 2)
    await backend.heartbeat(worker("w9"), [], LEASE)
    assert (await depths(backend))["failed"] == 2
    await asyncio.sleep(0.4)
    start = await backend.last_event_id()
    await backend.heartbeat(worker("w9"), [], LEASE)
    assert (await depths(backend))["failed"] == 0
    dropped = [e for e in await all_events(backend, start) if e.type == Events.JOB_DROPPED]
    assert {e.job_id for e in dropped} == set(ids)
    assert all(e.data == {"reason": "age", "dead_ttl": 0.3} for e in dropped)
    assert (await backend.metrics(1)).totals["dead_dropped"] == 2


async def test_jobs_that_stall_out_are_bounded_too(make_backend: MakeBackend) -> None:
    backend = await make_backend(BackendSettings(dead_max=1, max_stalls=1))
    await submit(backend, job("a"), job("b"))
    await backend.claim("w1", 2, TINY)
    await asyncio.sleep(TINY * 2)
    await backend.heartbeat(worker("w2"), [], LEASE)  # both stall out
    found = await depths(backend)
    assert (found["failed"], found["running"]) == (1, 0)
    assert (await backend.metrics(1)).totals["dead_dropped"] == 1


# -- item 6: retrying every dead letter is a pass in bounded steps -------------------------
async def test_retry_all_moves_dead_letters_in_steps_without_copying_them(
    redis_url: str, prefix: str
) -> None:
    """2,500 dead letters move in steps of at most 500 (each call's own cost), and nothing
    is copied aside (the old pass copied the whole set, 118 MB at a million)."""
    backend = RedisBackend(redis_url, queue="q", prefix=prefix)
    await backend.initialize()
    try:
        p = key_prefix(prefix, "q")
        client = backend.client
        await client.zadd(p + "dead", {f"d{n}": 1_000_000 + n for n in range(2500)})
        pipe = client.pipeline(transaction=False)
        for n in range(2500):
            pipe.hset(p + f"job:d{n}", mapping={"name": "x", "status": "failed"})
        await pipe.execute()
        await client.config_set("slowlog-max-len", 100_000)
        await client.config_set("slowlog-log-slower-than", 0)
        await client.slowlog_reset()
        assert await backend.retry_dead(None) == 2500
        log = await client.slowlog_get(1_000_000)
        await client.config_set("slowlog-log-slower-than", 10000)
        await client.config_set("slowlog-max-len", 128)
        # one request id per call (a call refused with NOSCRIPT at first is logged twice)
        calls = {e["command"].split()[6] for e in log if e["command"].startswith(b"EVALSHA")}
        assert len(calls) == 6  # 5 of 500, and one that finds the pass done
        assert not [e for e in log if e["command"].startswith((b"ZUNIONSTORE", b"ZRANGESTORE"))]
        assert await client.keys(p + "retrypass:*") == []
        found = await depths(backend)
        assert (found["failed"], found["pending"]) == (0, 2500)
    finally:
        await backend.close()


async def test_dropping_dead_letters_frees_a_bounded_size_per_call(
    make_backend: MakeBackend,
) -> None:
    """Freeing a record costs its size: one call drops at most 32 MB of dead letters, the
    next call goes on."""
    backend = await make_backend(BackendSettings(dead_max=1))
    big = "x" * 5_000_000
    ids = await submit(backend, *(job("big", args=[big]) for _ in range(10)))
    keep_all = await make_backend(BackendSettings(dead_max=100))
    for job_id in ids:  # dead-lettered where the bound is 100
        [claimed] = (await keep_all.claim("w1", 1, LEASE)).jobs
        await keep_all.finish("w1", [finish(job_id, claimed.token, Outcome.FAILED, payload=FAIL)])
    assert (await depths(backend))["failed"] == 10
    await backend.heartbeat(worker("w9"), [], LEASE)
    left = (await depths(backend))["failed"]
    assert 1 < left < 10  # 5 MB each: seven dropped, then the call stopped
    for _ in range(3):
        await backend.heartbeat(worker("w9"), [], LEASE)
    assert (await depths(backend))["failed"] == 1
