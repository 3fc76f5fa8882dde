"""Concurrent async submits share script calls (issue 27, item 2: `redis/combine.py`): each
caller gets its own job's answer, a caller that gave up before its call went sends nothing,
and a refusal reaches every caller of the call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from jobdeck.core import JobService, OutOfMemory

from .redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    """A server of this module's own: the tests count its script calls."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
async def service(server: RedisServer, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(server.url, prefix=prefix) as service:
        yield service


def script_calls(admin: redis.Redis) -> int:
    return int(admin.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


async def test_a_hundred_coroutines_get_their_own_answers(
    server: RedisServer, service: JobService
) -> None:
    admin = redis.Redis.from_url(server.url)
    await service.submit_job("warm-up")
    admin.config_resetstat()

    async def producer(p: int) -> list[str]:
        answers = []
        for i in range(20):
            key = f"u{i % 4}" if i % 5 == 0 else None
            answers.append(
                await service.submit_job("x", (p, i), job_id=f"j{p}-{i}", unique_key=key)
            )
        return answers

    results = await asyncio.gather(*(producer(p) for p in range(100)))
    calls = script_calls(admin)
    holders: dict[str, str] = {}
    for p, answers in enumerate(results):
        for i, job_id in enumerate(answers):
            if i % 5 == 0:
                assert job_id == holders.setdefault(f"u{i % 4}", job_id)
            else:
                assert job_id == f"j{p}-{i}"
    assert len(holders) == 4
    assert (await service.get_metrics(1)).depths["pending"] == 1 + 100 * 16 + 4
    assert calls < 100 * 20 / 4  # jobs waiting while calls were out went together


async def test_one_coroutine_one_call_per_submit(server: RedisServer, service: JobService) -> None:
    admin = redis.Redis.from_url(server.url)
    await service.submit_job("warm-up")
    admin.config_resetstat()
    for i in range(20):
        await service.submit_job("x", (i,))
    assert script_calls(admin) == 20


async def test_a_submit_cancelled_while_it_waits_sends_nothing(
    server: RedisServer, service: JobService
) -> None:
    """Two calls are out (the server is paused for writes); a third submit waits for a place
    and is cancelled: its job is never sent, the two others are stored once unpaused."""
    admin = redis.Redis.from_url(server.url)
    await service.submit_job("warm-up")
    admin.execute_command("CLIENT", "PAUSE", 5000, "WRITE")
    try:
        first = asyncio.create_task(service.submit_job("x", job_id="first"))
        second = asyncio.create_task(service.submit_job("x", job_id="second"))
        await asyncio.sleep(0.1)
        third = asyncio.create_task(service.submit_job("x", job_id="third"))
        await asyncio.sleep(0.1)
        assert not third.done()
        third.cancel()
        with pytest.raises(asyncio.CancelledError):
            await third
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    assert await first == "first" and await second == "second"
    fourth = await service.submit_job("x", job_id="fourth")  # the places are free again
    assert fourth == "fourth"
    assert await service.get_job("third") is None
    for job_id in ("first", "second", "fourth"):
        assert await service.get_job(job_id) is not None


@pytest.mark.slow
async def test_a_full_redis_refuses_every_caller_of_a_call(prefix: str) -> None:
    server = RedisServer(extra=["--maxmemory-policy", "noeviction"])
    server.start()
    try:
        async with JobService(server.url, prefix=prefix) as service:
            await service.submit_job("warm-up")
            # Full for certain: a limit under what it holds already refuses every write (a
            # server filled to its limit by junk may free a few bytes before the submits).
            redis.Redis.from_url(server.url).config_set("maxmemory", 1)
            outcomes = await asyncio.gather(
                *(service.submit_job("x", job_id=f"j{i}") for i in range(50)),
                return_exceptions=True,
            )
            refused = [i for i, o in enumerate(outcomes) if isinstance(o, OutOfMemory)]
            assert refused == list(range(50)), outcomes
            assert len({id(outcomes[i]) for i in refused}) == len(refused)  # each its own
            for i in range(50):
                assert await service.get_job(f"j{i}") is None
    finally:
        server.stop()
