"""A worker process's lifespan (issue 23, section 4): entered once when the process's
workers start, left after they stopped (SIGTERM included), what it yields being
`current_job().state` in every handler; a real resource proves it in a real `jobdeck worker`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from jobdeck.core import JobService, WorkerSettings, current_job
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.lifespan import LifespanError

from .worker_process import WorkerProcess, sync_client

pytestmark = pytest.mark.timeout(60)

FAST = WorkerSettings(lease=5.0, heartbeat_interval=0.5)


def _recording(events: list[str], state: Any = "shared") -> Any:
    @asynccontextmanager
    async def lifespan() -> AsyncIterator[Any]:
        events.append("enter")
        try:
            yield state
        finally:
            events.append("exit")

    return lifespan


async def test_entered_once_for_every_queue_and_left_after_the_last(prefix: str) -> None:
    events: list[str] = []
    url = f"memory://{prefix}"
    service = JobService(url, "a", prefix, worker_settings=FAST, lifespan=_recording(events))
    other = service.for_queue("b")
    seen: list[Any] = []

    @service.handler()
    async def check() -> None:
        seen.append(current_job().state)

    @service.handler()
    def check_on_a_thread() -> None:
        seen.append(current_job().state)

    async with service, other:
        assert events == []  # not before workers start: a submitting process opens nothing
        await asyncio.gather(service.start_workers(1), other.start_workers(1))
        assert events == ["enter"]
        for svc in (service, other):
            for name in ("check", "check_on_a_thread"):
                await svc.result(await svc.submit_job(name), timeout=10)
        assert seen == ["shared"] * 4
        await service.stop_workers()
        assert events == ["enter"]  # queue b's pool still runs
        await other.stop_workers()
        assert events == ["enter", "exit"]
        await service.start_workers(1)  # started again: entered again
        assert events == ["enter", "exit", "enter"]
    assert events == ["enter", "exit", "enter", "exit"]  # close() stops the workers
    for queue in ("a", "b"):
        MemoryBackend.forget(f"{prefix}/{prefix}/{queue}")


async def test_it_is_left_after_the_running_jobs_ended(prefix: str) -> None:
    events: list[str] = []
    service = JobService(
        f"memory://{prefix}", "c", prefix, worker_settings=FAST, lifespan=_recording(events)
    )

    @service.handler()
    async def slow() -> None:
        await asyncio.sleep(0.3)
        events.append("job done")

    async with service:
        await service.start_workers(1)
        await service.submit_job("slow")
        await asyncio.sleep(0.1)
        await service.stop_workers(graceful=True)
    assert events == ["enter", "job done", "exit"]
    MemoryBackend.forget(f"{prefix}/{prefix}/c")


async def test_a_lifespan_that_fails_starts_no_workers(prefix: str) -> None:
    @asynccontextmanager
    async def broken() -> AsyncIterator[None]:
        raise ConnectionRefusedError("database is down")
        yield

    service = JobService(f"memory://{prefix}", "d", prefix, lifespan=broken)
    async with service:
        with pytest.raises(LifespanError) as caught:
            await service.start_workers(1)
        assert str(caught.value) == (
            "lifespan: starting it raised ConnectionRefusedError: database is down"
        )
        assert service.pool is None
    MemoryBackend.forget(f"{prefix}/{prefix}/d")


async def test_an_error_leaving_it_is_logged_and_shutdown_goes_on(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    @asynccontextmanager
    async def sloppy() -> AsyncIterator[None]:
        yield
        raise RuntimeError("pool already closed")

    service = JobService(f"memory://{prefix}", "e", prefix, lifespan=sloppy)
    async with service:
        await service.start_workers(1)
        with caplog.at_level(logging.ERROR, "jobdeck.worker"):
            await service.stop_workers()
    assert "lifespan: leaving it raised RuntimeError: pool already closed" in caplog.text
    MemoryBackend.forget(f"{prefix}/{prefix}/e")


def test_a_lifespan_must_be_a_context_manager_or_make_one() -> None:
    with pytest.raises(TypeError, match="lifespan: expected an async context manager"):
        JobService("memory://bad-lifespan", lifespan=42)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_real_worker_opens_its_resource_once_and_closes_it_on_sigterm(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    """`jobdeck worker` with a lifespan that opens a connection to the test's Redis: 100 jobs
    use it (all through the same server-side connection), it was opened once, and SIGTERM
    closes it: the count says so and the server no longer lists the connection."""
    worker = WorkerProcess(
        "tests.apps.lifespan_app:service", redis_url, queue="life", prefix=prefix,
        concurrency=8, log_dir=tmp_path,
    )  # fmt: skip
    worker.start()
    client = sync_client(redis_url)
    try:

        async def submit_all() -> list[Any]:
            async with JobService(redis_url, "life", prefix) as service:
                ids = [await service.submit_job("use_it", [n]) for n in range(100)]
                return [await service.result(job_id, timeout=30) for job_id in ids]

        connection_ids = asyncio.run(submit_all())
        assert len(connection_ids) == 100 and len(set(connection_ids)) == 1, worker.log()
        assert client.llen(f"{prefix}:lifespan:used") == 100
        assert client.get(f"{prefix}:lifespan:opened") == b"1"
        assert client.get(f"{prefix}:lifespan:closed") is None
        names = [c.get("name") for c in client.client_list()]
        assert f"lifespan-{worker.pid}" in names

        assert worker.terminate(30) == 0, worker.log()
        assert client.get(f"{prefix}:lifespan:opened") == b"1"
        assert client.get(f"{prefix}:lifespan:closed") == b"1", worker.log()
        names = [c.get("name") for c in client.client_list()]
        assert f"lifespan-{worker.pid}" not in names
        assert "Traceback" not in worker.log()
    finally:
        worker.stop()
        client.close()


@pytest.mark.slow
def test_a_worker_whose_lifespan_fails_says_why_and_exits(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    worker = WorkerProcess(
        "tests.apps.lifespan_app:service", redis_url, queue="life", prefix=prefix,
        log_dir=tmp_path, env={"LIFESPAN_APP_FAILS": "1"},
    )  # fmt: skip
    worker.start(wait=False)
    assert worker.wait(30) == 1
    log = worker.log()
    assert (
        "worker not started: lifespan: starting it raised ConnectionRefusedError: "
        "the database is down" in log
    ), log
    assert "Traceback" not in log
