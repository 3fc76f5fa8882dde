"""`await service.result(job_id, timeout=...)`: a job's result, or why there is none, from
the event log (one reader however many wait), without missing a job that finishes while the
wait begins, through dropped connections."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from jobdeck.core import (
    JobCancelled,
    JobFailed,
    JobNotFound,
    JobService,
    JobStatus,
    RetryPolicy,
    SyncJobService,
    WorkerSettings,
)
from jobdeck.core.backend import Backend, BackendSettings
from jobdeck.core.backend.memory import MemoryBackend

from .redis_server import RedisServer
from .waiting import eventually

pytestmark = pytest.mark.timeout(60)

FAST = WorkerSettings(lease=5.0, heartbeat_interval=0.5)


@pytest.fixture(params=["memory", "redis", "cluster"])
def url(request: pytest.FixtureRequest, prefix: str) -> Any:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    if request.param == "cluster":
        yield request.getfixturevalue("redis_cluster").url
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/r")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    retry = RetryPolicy(base=0.05, factor=1.0, jitter=0.0)
    async with JobService(url, "r", prefix, worker_settings=FAST, retry_policy=retry) as service:
        yield service


def _readers() -> int:
    return sum(1 for t in asyncio.all_tasks() if t.get_name() == "jobdeck-result-reader")


async def test_the_result_of_a_job_that_completes_later(service: JobService) -> None:
    service.register_handler("add", lambda a, b: {"sum": a + b})
    job_id = await service.submit_job("add", args=(2, 3))
    waiting = asyncio.create_task(service.result(job_id, timeout=10))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await service.start_workers(1)
    assert await waiting == {"sum": 5}


async def test_a_finished_job_answers_at_once_without_a_reader(service: JobService) -> None:
    service.register_handler("one", lambda: 1)
    await service.start_workers(1)
    job_id = await service.submit_job("one")
    assert await service.result(job_id) == 1
    began = time.perf_counter()
    assert await service.result(job_id, timeout=0) == 1
    assert await service.result(job_id, timeout=5) == 1
    assert time.perf_counter() - began < 0.5
    assert _readers() <= 1  # the first wait's reader, ending; the later ones started none


async def test_failed_cancelled_unknown_and_timed_out(service: JobService) -> None:
    def boom() -> None:
        raise ValueError("no such file: a.png")

    service.register_handler("boom", boom)
    service.register_handler("slow", lambda: time.sleep(5))
    failing = await service.submit_job("boom", max_retries=1)
    cancelled = await service.submit_job("never", delay=60)
    await service.start_workers(2)
    with pytest.raises(JobFailed) as caught:
        await service.result(failing, timeout=10)
    assert caught.value.job_id == failing and caught.value.error_type == "ValueError"
    assert caught.value.message == "no such file: a.png"
    assert "ValueError" in (caught.value.traceback or "")
    assert (await service.get_job(failing)).attempts == 2  # retried first, then final

    waiter = asyncio.create_task(service.result(cancelled, timeout=10))
    await asyncio.sleep(0.05)
    await service.cancel_job(cancelled)
    with pytest.raises(JobCancelled) as was_cancelled:
        await waiter
    assert was_cancelled.value.job_id == cancelled

    with pytest.raises(JobNotFound) as unknown:
        await service.result("no-such-job")
    assert isinstance(unknown.value, KeyError) and unknown.value.job_id == "no-such-job"
    assert str(unknown.value).startswith("job_id: no job 'no-such-job' on queue 'r' of ")

    slow = await service.submit_job("slow")
    began = time.monotonic()
    with pytest.raises(TimeoutError, match=rf"^job {slow} did not finish within 0.3 seconds"):
        await service.result(slow, timeout=0.3)
    assert 0.25 < time.monotonic() - began < 2
    with pytest.raises(TimeoutError, match=r"has not finished \(it is (pending|running)\)"):
        await service.result(slow, timeout=0)
    await service.cancel_job(slow)


@pytest.mark.parametrize(
    ("job_id", "timeout", "error", "words"),
    [
        ("", 1.0, ValueError, "job_id: expected 1-128 characters"),
        ("a b", 1.0, ValueError, "job_id: expected"),
        ("x" * 129, 1.0, ValueError, "job_id: expected"),
        (42, 1.0, ValueError, "job_id: expected"),
        ("ok", -1, ValueError, "timeout: expected 0-86400 seconds"),
        ("ok", math.nan, ValueError, "timeout: expected 0-86400"),
        ("ok", math.inf, ValueError, "timeout: expected 0-86400"),
        ("ok", 1e9, ValueError, "timeout: expected 0-86400"),
        ("ok", True, TypeError, "timeout: expected a number of seconds, got bool"),
        ("ok", "5", TypeError, "timeout: expected a number of seconds, got str"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(
    redis_url: str, prefix: str, job_id: Any, timeout: Any, error: type, words: str
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    service = JobService(redis_url, "r", prefix)
    try:
        with pytest.raises(error, match=words):
            await service.result(job_id, timeout=timeout)
        with pytest.raises(error, match=words):
            await service.get_job(job_id if job_id != "ok" else "ok", wait=timeout)
        assert await client.keys(f"{prefix}*") == []
    finally:
        await service.close()
        await client.aclose()


async def test_an_unknown_id_is_one_clear_error_and_writes_nothing(
    redis_url: str, prefix: str
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        async with JobService(redis_url, "r", prefix) as service:
            for timeout in (0, 5, None):
                with pytest.raises(JobNotFound, match=r"^job_id: no job 'ghost' on queue 'r'"):
                    await service.result("ghost", timeout=timeout)
            assert await service.get_job("ghost", wait=5) is None
        assert await client.keys(f"{prefix}*") == []
    finally:
        await client.aclose()


async def test_a_thousand_waiters_share_one_reader(service: JobService) -> None:
    service.register_handler("double", lambda n: 2 * n)
    ids = await service.submit_jobs([{"name": "double", "args": [n]} for n in range(1000)])
    waiters = [asyncio.create_task(service.result(job_id, timeout=30)) for job_id in ids]

    async def all_waiting() -> bool:
        results = service._results
        return results is not None and results.waiting == 1000 and results.reading

    await eventually(all_waiting, what="a thousand waiters")
    assert _readers() == 1
    await service.start_workers(8)
    assert await asyncio.gather(*waiters) == [2 * n for n in range(1000)]
    assert service._results is not None and service._results.waiting == 0


class Hooked:
    """A backend that runs `hook` right after its n-th call of `method`: a job that changes
    between the waiter's steps, or while the reader reads."""

    def __init__(self, inner: Backend, method: str, nth: int, hook: Callable[[], Any]) -> None:
        self._inner, self._method, self._nth, self._hook = inner, method, nth, hook
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name != self._method:
            return found

        async def hooked(*args: Any) -> Any:
            self.calls += 1
            if self._method == "read_events" and self.calls == self._nth:
                await self._hook()  # before the read: it finds what the hook left
            reply = await found(*args)
            if self._method == "get" and self.calls == self._nth:
                await self._hook()
            return reply

        return hooked


@pytest.mark.parametrize("after_read", [1, 2])
async def test_a_job_finishing_as_the_wait_begins_is_not_missed(
    url: str, prefix: str, after_read: int
) -> None:
    """The waiter reads the record (1), starts following the log, reads it again (2), then
    waits for events: the job is cancelled just after either read, and the wait ends."""
    async with JobService(url, "r", prefix) as submitter:
        job_id = await submitter.submit_job("never")
        hooked = Hooked(submitter.backend, "get", after_read, lambda: submitter.cancel_job(job_id))
        waiter = JobService(url, "r", prefix, backend=hooked)  # type: ignore[arg-type]
        await waiter.initialize()
        try:
            with pytest.raises(JobCancelled):
                await waiter.result(job_id, timeout=5)
            assert hooked.calls >= after_read
        finally:
            await waiter._waiters().close()  # its backend is the submitter's: closed below
            waiter._initialized = False


async def test_a_waiter_whose_connection_is_killed_still_gets_the_result(
    redis_url: str, prefix: str
) -> None:
    admin = aioredis.Redis.from_url(redis_url)
    async with (
        JobService(redis_url, "r", prefix) as waiter,
        JobService(redis_url, "r", prefix) as worker,
    ):
        worker.register_handler("late", lambda: "done")
        job_id = await worker.submit_job("late")
        waiting = asyncio.create_task(waiter.result(job_id, timeout=20))
        await asyncio.sleep(0.2)
        assert _readers() == 1
        for _ in range(3):  # the reader's blocking read among them
            await admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            await asyncio.sleep(0.1)
        await worker.start_workers(1)
        assert await waiting == "done"
    await admin.aclose()


@pytest.mark.slow
async def test_a_waiter_outlives_a_redis_restart_with_aof(prefix: str) -> None:
    server = RedisServer(appendonly=True).start()
    try:
        async with JobService(server.url, "r", prefix) as waiter:
            submitter = JobService(server.url, "r", prefix)
            job_id = await submitter.submit_job("late")
            await submitter.close()
            waiting = asyncio.create_task(waiter.result(job_id, timeout=30))
            await asyncio.sleep(0.2)
            server.cli("BGREWRITEAOF")
            await asyncio.sleep(0.5)
            server.kill()
            await asyncio.sleep(1.0)
            assert not waiting.done()
            server.start()
            async with JobService(server.url, "r", prefix) as worker:
                worker.register_handler("late", lambda: "after the restart")
                await worker.start_workers(1)
                assert await waiting == "after the restart"
    finally:
        server.stop()


async def test_events_the_cap_dropped_before_the_reader_saw_them(
    url: str, prefix: str
) -> None:
    """The job is cancelled, then so many events follow that the log's cap drops the
    cancellation before the reader reads past it: the waiter reads its record again instead
    of waiting for an event that is gone."""
    settings = BackendSettings(events_maxlen=20)
    async with JobService(url, "r", prefix, settings=settings) as submitter:
        job_id = await submitter.submit_job("never")

        async def bury() -> None:
            await asyncio.sleep(0.1)  # the waiter has read the record and waits
            await submitter.cancel_job(job_id)
            await submitter.submit_jobs([{"name": "filler"}] * 500)

        hooked = Hooked(submitter.backend, "read_events", 1, bury)
        waiter = JobService(url, "r", prefix, backend=hooked)  # type: ignore[arg-type]
        await waiter.initialize()
        try:
            with pytest.raises(JobCancelled):
                await waiter.result(job_id, timeout=5)
        finally:
            await waiter._waiters().close()
            waiter._initialized = False


def test_the_sync_service_waits_too(redis_url: str, prefix: str) -> None:
    with SyncJobService(redis_url, "r", prefix) as sync:
        job_id = sync.submit_job("later")

        async def run_worker() -> None:
            async with JobService(redis_url, "r", prefix) as worker:
                worker.register_handler("later", lambda: [1, 2])
                await worker.start_workers(1)
                await asyncio.sleep(1.0)

        import threading

        thread = threading.Thread(target=lambda: asyncio.run(run_worker()))
        thread.start()
        try:
            assert sync.result(job_id, timeout=10) == [1, 2]
            with pytest.raises(JobNotFound):
                sync.result("missing", timeout=1)
            missing = sync.submit_job("later", delay=60)
            with pytest.raises(TimeoutError):
                sync.result(missing, timeout=0.2)
            assert sync.get_job(missing, wait=0.2).status == JobStatus.SCHEDULED
        finally:
            thread.join()


async def test_a_refused_command_ends_the_wait_with_its_error(
    redis_server: Any, prefix: str
) -> None:
    """A user whose ACL refuses XREAD hears so at once, instead of waiting out its timeout
    while the reader retries."""
    from redis.exceptions import NoPermissionError

    from jobdeck.core.acl import acl_rules

    user = f"noxread-{prefix}"
    rules = [*acl_rules("submitter", prefix).split(), "-xread"]
    assert redis_server.cli("ACL", "SETUSER", user, "on", ">pw", *rules) == "OK"
    try:
        url = f"redis://{user}:pw@127.0.0.1:{redis_server.port}/0"
        async with JobService(url, "r", prefix) as service:
            job_id = await service.submit_job("never")
            began = time.monotonic()
            with pytest.raises(NoPermissionError, match="xread"):
                await service.result(job_id, timeout=20)
            assert time.monotonic() - began < 5
    finally:
        redis_server.cli("ACL", "DELUSER", user)


async def test_a_record_that_expired_is_one_clear_error(url: str, prefix: str) -> None:
    settings = BackendSettings(result_ttl=0.3)
    async with JobService(url, "r", prefix, settings=settings) as service:
        service.register_handler("quick", lambda: "soon gone")
        await service.start_workers(1)
        job_id = await service.submit_job("quick")
        assert await service.result(job_id, timeout=10) == "soon gone"

        async def expired() -> bool:
            return await service.get_job(job_id) is None

        await eventually(expired, 10, "the record to expire")
        with pytest.raises(JobNotFound, match="expired after result_ttl"):
            await service.result(job_id, timeout=5)


async def test_closing_the_service_ends_its_waits(url: str, prefix: str) -> None:
    service = JobService(url, "r", prefix)
    job_id = await service.submit_job("never")
    waiting = asyncio.create_task(service.result(job_id, timeout=20))
    await asyncio.sleep(0.2)
    await service.close()
    with pytest.raises(RuntimeError, match=f"closed while waiting for job {job_id}"):
        await asyncio.wait_for(waiting, 5)
    assert _readers() == 0
