"""The bounds of the bounds table (docs/operations.md, "Bounds") not tested beside their
feature, one test each, on both engines where both keep the structure: the event log, the
wake-up list, a worker's control queue, the per-second counters and the metrics window, the
entries of cancelled jobs still in the pending lists, and the Redis-only keys a call leaves
behind (a kept reply, a worker's last claim). Dead letters, finished history, unique keys,
script bytes: test_dead_letter_bounds, test_cancel_bounds, test_unique_keys_end,
test_read_bounds."""

from __future__ import annotations

from jobdeck.core.backend.base import Backend, BackendSettings
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.backend.redis import RedisBackend

from .test_backend_contract import (
    LEASE,
    MakeBackend,
    backend,
    depths,
    job,
    make_backend,
    submit,
    worker,
)

__all__ = ["backend", "make_backend"]  # fixtures, used by name


async def _length(backend: Backend, name: str) -> int:
    """A Redis key's length (XLEN, LLEN, SCARD), or what the memory store keeps for it."""
    if isinstance(backend, MemoryBackend):
        s = backend._lib.s
        return {
            "events": len(s.events),
            "wake": s.wake,
            "control:w1": len((s.control.get("w1") or ([],))[0]),
        }[name]
    assert isinstance(backend, RedisBackend)
    key, client = backend.connection.key(name), backend.client
    kind = (await client.type(key)).decode()
    if kind == "none":
        return 0
    return int(await {"stream": client.xlen, "list": client.llen}[kind](key))


async def test_the_event_log_keeps_about_its_cap(make_backend: MakeBackend) -> None:
    backend = await make_backend(BackendSettings(events_maxlen=1000))
    for _ in range(6):
        await submit(backend, *(job("e") for _ in range(500)))
    assert 1000 <= await _length(backend, "events") <= 1200  # MAXLEN ~ trims whole nodes


async def test_the_wake_up_list_holds_256_at_most(backend: Backend) -> None:
    for _ in range(300):
        await submit(backend, job("w"))
    assert await _length(backend, "wake") <= 256


async def test_a_control_queue_keeps_the_newest_1000(backend: Backend) -> None:
    await backend.heartbeat(worker("w1"), [], LEASE)
    for n in range(1200):
        await backend.send_control({"op": "noop", "n": n}, "w1")
    assert await _length(backend, "control:w1") == 1000
    first = await backend.next_control("w1", 0.1)
    assert first[0] == {"op": "noop", "n": 200}  # the oldest 200 went


async def test_metrics_read_at_most_900_seconds(backend: Backend) -> None:
    assert len((await backend.metrics(100_000)).buckets) == 900


async def test_cancelled_entries_in_the_lists_go_when_popped(backend: Backend) -> None:
    ids = await submit(backend, *(job("g") for _ in range(5)))
    for job_id in ids[:3]:
        await backend.cancel(job_id)
    if isinstance(backend, RedisBackend):
        assert await backend.client.scard(backend.connection.key("ghosts")) == 3
    assert len((await backend.claim("w1", 5, LEASE)).jobs) == 2
    assert (await depths(backend))["pending"] == 0
    if isinstance(backend, RedisBackend):
        assert await backend.client.exists(backend.connection.key("ghosts")) == 0


async def test_the_keys_a_call_leaves_expire(redis_url: str, prefix: str) -> None:
    """A kept reply (cancel, retry, control) lives a minute; a worker's last claim one lease;
    a second's counters 15 minutes."""
    backend = RedisBackend(redis_url, queue="q", prefix=prefix)
    await backend.initialize()
    try:
        client, key = backend.client, backend.connection.key
        ids = await submit(backend, job("a"), job("b"))
        await backend.cancel(ids[0])
        replies = await client.keys(key("reply:*"))
        assert len(replies) == 1 and 0 < await client.pttl(replies[0]) <= 60_000
        await backend.claim("w1", 1, 30.0)
        assert 0 < await client.pttl(key("claimed:w1")) <= 30_000
        stats = await client.keys(key("stat:*"))
        assert stats
        for stat in stats:
            assert 0 < await client.ttl(stat) <= 900
    finally:
        await backend.close()
