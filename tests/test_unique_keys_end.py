"""A unique key lives exactly as long as its job is unfinished (or its window runs), on both
engines, whichever way the job ends: a stall-out, a cancel at lease expiry, a purge. And a
dead letter retried takes its key back, or stays dead while another job holds it (issue 28,
items 5 and 10)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio.cluster import RedisCluster

from jobdeck.core.backend.base import Backend, BackendSettings, Outcome
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.backend.redis import RedisBackend
from jobdeck.core.models import JobStatus

from .test_backend_contract import (
    LEASE,
    TINY,
    MakeBackend,
    backend,
    finish,
    job,
    make_backend,
    new,
    record,
    worker,
)

__all__ = ["backend", "make_backend"]  # fixtures, used by name


async def submit_unique(backend: Backend, key: str, window_ms: int = 0, **options: Any) -> str:
    """A job holding unique key `key`; returns its id (or the holder's, if it is held)."""
    one = new(job("u", **options))._replace(unique_key=key, unique_window_ms=window_ms)
    [created] = await backend.submit([one])
    return one.id if created is True else str(created)


async def keys_held(backend: Backend) -> set[str]:
    """The unique keys the engine stores (held or not): what would leak."""
    if isinstance(backend, MemoryBackend):
        return set(backend._lib.s.unique)
    assert isinstance(backend, RedisBackend)
    head = backend.connection.key("unique:")
    if isinstance(backend.client, RedisCluster):  # KEYS goes to one node unless told
        found = await backend.client.keys(head + "*", target_nodes=RedisCluster.PRIMARIES)
    else:
        found = await backend.client.keys(head + "*")
    return {key.decode()[len(head) :] for key in found}


async def test_a_job_that_stalls_out_frees_its_key(make_backend: MakeBackend) -> None:
    backend = await make_backend(BackendSettings(max_stalls=1))
    job_id = await submit_unique(backend, "k1")
    await backend.claim("w1", 1, TINY)
    await asyncio.sleep(TINY * 2)
    await backend.heartbeat(worker("w2"), [], LEASE)
    assert (await record(backend, job_id)).status is JobStatus.FAILED
    assert await keys_held(backend) == set()


async def test_a_cancel_at_lease_expiry_frees_its_key(backend: Backend) -> None:
    job_id = await submit_unique(backend, "k2")
    await backend.claim("w1", 1, TINY)
    assert await backend.cancel(job_id) == "running"
    await asyncio.sleep(TINY * 2)
    await backend.heartbeat(worker("w2"), [], LEASE)
    assert (await record(backend, job_id)).status is JobStatus.CANCELLED
    assert await keys_held(backend) == set()


@pytest.mark.parametrize("status", ["pending", "scheduled"])
async def test_a_purge_frees_the_keys_of_the_jobs_it_deletes(backend: Backend, status: str) -> None:
    await submit_unique(backend, "k3", delay=60 if status == "scheduled" else 0)
    await submit_unique(backend, "k4", delay=60 if status == "scheduled" else 0)
    assert await backend.purge(status) == 2
    assert await keys_held(backend) == set()


async def test_a_key_with_a_window_goes_when_the_window_ends(backend: Backend) -> None:
    began = time.monotonic()
    job_id = await submit_unique(backend, "k5", window_ms=1500)
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    await backend.finish("w1", [finish(job_id, claimed.token, Outcome.COMPLETED)])
    held = await keys_held(backend)
    if time.monotonic() - began < 1.2:  # a stalled machine may have outlived the window
        assert held == {"k5"}  # the window still runs
    await asyncio.sleep(max(0.0, 1.6 - (time.monotonic() - began)))
    await backend.heartbeat(worker("w1"), [], LEASE)
    assert await keys_held(backend) == set()


async def test_a_retried_dead_letter_takes_its_key_back_or_stays_dead(backend: Backend) -> None:
    first = await submit_unique(backend, "k6")
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    await backend.finish(
        "w1", [finish(first, claimed.token, Outcome.FAILED, payload=b'{"type":"X","message":""}')]
    )
    second = await submit_unique(backend, "k6")  # the key is free: a new job holds it
    assert second != first
    # Two pending jobs never share a key: the dead letter stays dead while `second` is queued.
    assert await backend.retry_dead([first]) == 0
    assert await backend.retry_dead(None) == 0
    assert (await record(backend, first)).status is JobStatus.FAILED
    [claimed] = (await backend.claim("w1", 1, LEASE)).jobs
    await backend.finish("w1", [finish(second, claimed.token, Outcome.COMPLETED)])
    assert await backend.retry_dead([first]) == 1  # now the key is free
    assert await submit_unique(backend, "k6") == first  # and the retried job holds it
