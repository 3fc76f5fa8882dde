"""A full Redis (issue 9.3): `maxmemory` with `noeviction` refuses writes; with an eviction
policy it drops keys. Real redis-servers with a small maxmemory, real worker processes.

The handlers' traces go to the session's ordinary server (JOBDECK_TEST_URL), so counting
runs never depends on the full one accepting a write.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from jobdeck.core import JobService, JobStatus, OutOfMemory, WorkerSettings

from .redis_server import RedisServer
from .test_worker_reliability import APP, LEASE, QUEUE, runs
from .waiting import eventually, finished
from .worker_process import ROOT, WorkerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


class KeepFull:
    """A thread that keeps Redis at its limit, as the other writers of a full server do:
    whatever room a write frees or a buffer gives back is taken again within milliseconds."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> KeepFull:
        fill(self.client, self.prefix)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)

    def _run(self) -> None:
        n = 0
        while not self.stop.wait(0.005):
            try:
                while True:
                    self.client.set(f"{self.prefix}:more:{n}", b"x" * 100)
                    n += 1
            except redis.exceptions.OutOfMemoryError:
                pass


def fill(client: redis.Redis, prefix: str) -> int:
    """Write junk until Redis refuses; returns how many keys it took."""
    n = 0
    for size in (20_000, 1_000, 50):  # to the last byte: a big write's buffers are freed after
        try:
            while True:
                client.set(f"{prefix}:junk:{n}", b"x" * size)
                n += 1
        except redis.exceptions.OutOfMemoryError:
            pass
    return n


@pytest.fixture
def full_server() -> Iterator[RedisServer]:
    server = RedisServer(extra=["--maxmemory", "6mb", "--maxmemory-policy", "noeviction"])
    yield server.start()
    server.stop()


@pytest.fixture
async def service(full_server: RedisServer, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(full_server.url, queue=QUEUE, prefix=prefix) as service:
        yield service


@pytest.fixture
def spawn(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def spawn(url: str, concurrency: int = 2) -> WorkerProcess:
        worker = WorkerProcess(
            APP,
            url,
            queue=QUEUE,
            prefix=prefix,
            concurrency=concurrency,
            lease=LEASE,
            shutdown_timeout=1.0,
            env={"JOBDECK_TEST_URL": redis_url},  # traces go to the roomy server
            log_dir=tmp_path,
        )
        started.append(worker)
        return worker.start()

    yield spawn
    for worker in started:
        worker.stop()
        print(f"--- log of worker {worker.worker_id} ---\n{worker.log()}")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobdeck.core.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_full_redis_never_turns_into_duplicate_runs(
    full_server: RedisServer,
    service: JobService,
    spawn: Callable[..., WorkerProcess],
    redis_url: str,
    prefix: str,
) -> None:
    trace = f"{prefix}:test:trace"
    worker = spawn(full_server.url, concurrency=2)
    # Longer than two leases: only heartbeats keep these jobs with their first attempt.
    long = [await service.submit_job("sync_sleep", (trace, 5.0)) for _ in range(2)]

    async def both_running() -> bool:
        return len(await service.list_jobs(JobStatus.RUNNING)) == 2

    await eventually(both_running, 5.0, "both jobs to start")
    idle = spawn(full_server.url, concurrency=1)  # claims now and then: recovers lapsed leases
    with KeepFull(full_server.url, prefix):
        with pytest.raises(OutOfMemory, match="out of memory"):
            await service.submit_job("quick", (trace,))
        for job_id in long:
            job = await finished(service, job_id, 15.0)
            assert job.status == JobStatus.COMPLETED, job.error
    traces = redis.Redis.from_url(redis_url)
    assert [runs(traces, trace, job_id) for job_id in long] == [1, 1]
    assert worker.alive() and idle.alive()

    # The CLI says so in one honest line; stats warns that the server is full.
    result = cli("submit", "quick", "--url", full_server.url, "--queue", QUEUE, "--prefix", prefix)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "out of memory" in lines[0], result.stderr
    assert "cannot reach" not in lines[0] and "demo" not in lines[0]
    result = cli("stats", "--url", full_server.url, "--queue", QUEUE, "--prefix", prefix)
    assert "WARNING: Redis memory is at" in result.stdout, result.stdout + result.stderr


async def test_a_bulk_submit_into_a_full_redis_says_exactly_what_was_queued(
    full_server: RedisServer, service: JobService, prefix: str
) -> None:
    client = redis.Redis.from_url(full_server.url)
    n = fill(client, prefix)
    client.delete(*(f"{prefix}:junk:{i}" for i in range(n - 60, n)))  # room for a few chunks
    with pytest.raises(OutOfMemory) as raised:
        await service.submit_jobs([{"name": "quick", "args": ["t"]}] * 8000)
    accepted = raised.value.accepted
    assert 0 < len(accepted) < 8000 and len(accepted) % 1000 == 0, len(accepted)
    assert f"{len(accepted)} of 8000 jobs were queued" in str(raised.value)
    queued = await service.list_jobs(JobStatus.PENDING, limit=10_000)
    assert sorted(job.id for job in queued) == sorted(accepted)


async def test_an_eviction_policy_is_said_loudly_and_workers_survive_evicted_records(
    spawn: Callable[..., WorkerProcess], prefix: str
) -> None:
    server = RedisServer(extra=["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"])
    server.start()
    try:
        async with JobService(server.url, queue=QUEUE, prefix=prefix) as service:
            warnings = await service.server_warnings()
            assert any("allkeys-lru" in w and "evict" in w for w in warnings), warnings
            worker = spawn(server.url, concurrency=1)
            assert "maxmemory-policy is 'allkeys-lru'" in worker.log()
            result = cli("stats", "--url", server.url, "--queue", QUEUE, "--prefix", prefix)
            assert "WARNING: Redis maxmemory-policy is 'allkeys-lru'" in result.stdout

            # Records vanish under the worker, as eviction makes them do: a running job's,
            # a pending job's. The worker goes on with the rest.
            trace = f"{prefix}:test:trace"
            running = await service.submit_job("sync_sleep", (trace, 1.0))

            async def started() -> Any:
                job = await service.get_job(running)
                return job is not None and job.status == JobStatus.RUNNING

            await eventually(started, 5.0, "the job to start")
            pending = await service.submit_job("quick", (trace,))
            client = redis.Redis.from_url(server.url)
            keys = [k for k in client.keys(f"{prefix}:*job:*") if b"junk" not in k]
            client.delete(*keys)
            after = [await service.submit_job("quick", (trace,)) for _ in range(3)]
            for job_id in after:
                assert (await finished(service, job_id, 10.0)).status == JobStatus.COMPLETED
            assert worker.alive()
            assert await service.get_job(pending) is None or pending
    finally:
        server.stop()


async def test_the_api_answers_a_full_redis_with_507_naming_what_was_queued(
    full_server: RedisServer, service: JobService, prefix: str
) -> None:
    pytest.importorskip("fastapi")
    import httpx

    from jobdeck.web import create_app

    client = redis.Redis.from_url(full_server.url)
    fill(client, prefix)
    # Over the limit by a margin, not by the few bytes a buffer freed meanwhile gives back
    # (the submit was then accepted now and then).
    client.config_set("maxmemory", int(client.info("memory")["used_memory"]) - 256 * 1024)
    client.close()
    app = create_app(service)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        reply = await client.post("/api/v1/jobs", json={"name": "quick"})
    assert reply.status_code == 507, reply.text
    body = reply.json()
    assert "out of memory" in body["detail"] and "script" not in body["detail"]
    assert reply.headers["content-type"].startswith("application/problem+json")


async def test_a_worker_repeats_the_eviction_warning(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(extra=["--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru"])
    server.start()
    settings = WorkerSettings(lease=1.0, heartbeat_interval=0.1, warn_interval=0.3)
    try:
        async with JobService(server.url, prefix=prefix, worker_settings=settings) as service:
            with caplog.at_level(logging.WARNING, "jobdeck.worker"):
                await service.start_workers(1)

                async def warned_thrice() -> bool:
                    said = [r for r in caplog.records if "'volatile-lru'" in r.getMessage()]
                    return len(said) >= 3

                await eventually(warned_thrice, 5.0, "the warning to be repeated")
    finally:
        server.stop()
