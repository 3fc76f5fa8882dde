"""Middleware (issue 23, section 4): `on_submit(spec)` may add meta or refuse, `around(job,
call_next)` wraps each attempt, `on_outcome(job, outcome)` hears how it ended; their order;
and a middleware that raises fails that attempt with a clear error, never the worker."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from jobdeck.core import (
    JobDefinition,
    JobFailed,
    JobService,
    JobSpec,
    Retry,
    RetryPolicy,
    SyncJobService,
    WorkerSettings,
    current_job,
)
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.middleware import AttemptOutcome

pytestmark = pytest.mark.timeout(30)

FAST = WorkerSettings(lease=5.0, heartbeat_interval=0.5)
QUICK = RetryPolicy(base=0.02, factor=1.0, jitter=0.0)
Next = Callable[[], Awaitable[Any]]


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest, prefix: str) -> Any:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/mw")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(url, "mw", prefix, worker_settings=FAST, retry_policy=QUICK) as svc:
        yield svc


class Recorder:
    """Says what it saw in `log`, under its name."""

    def __init__(self, name: str, log: list[Any]) -> None:
        self.name, self.log = name, log

    def on_submit(self, spec: JobSpec) -> JobSpec:
        self.log.append((self.name, "submit", dict(spec.meta or {})))
        return dataclasses.replace(spec, meta={**(spec.meta or {}), self.name: True})

    async def around(self, job: JobDefinition, call_next: Next) -> Any:
        self.log.append((self.name, "before", sorted(job.meta)))
        try:
            return await call_next()
        finally:
            self.log.append((self.name, "after"))

    async def on_outcome(self, job: JobDefinition, outcome: AttemptOutcome) -> None:
        self.log.append((self.name, "outcome", outcome.status, outcome.result))


async def test_the_order_of_every_hook(service: JobService) -> None:
    log: list[Any] = []
    service.add_middleware(Recorder("a", log))
    service.add_middleware(Recorder("b", log))

    @service.handler()
    async def work() -> str:
        log.append(("handler", sorted(current_job().job.meta)))
        return "done"

    job_id = await service.submit_job("work")
    job = await service.get_job(job_id)
    assert job is not None and job.meta == {"a": True, "b": True}  # on_submit may add meta
    await service.start_workers(1)
    assert await service.result(job_id, timeout=10) == "done"
    await asyncio.sleep(0.05)  # on_outcome runs before the outcome is stored: done by now
    assert log == [
        ("a", "submit", {}),
        ("b", "submit", {"a": True}),  # in the order added
        ("a", "before", ["a", "b"]),  # the first added is the outermost
        ("b", "before", ["a", "b"]),
        ("handler", ["a", "b"]),
        ("b", "after"),
        ("a", "after"),
        ("a", "outcome", "completed", "done"),  # in the order added
        ("b", "outcome", "completed", "done"),
    ]


class Refuse:
    def on_submit(self, spec: JobSpec) -> None:
        if (spec.meta or {}).get("tenant") != "acme":
            raise PermissionError(f"tenant not allowed to run {spec.name}")


async def test_on_submit_may_refuse_and_nothing_is_written(service: JobService) -> None:
    service.add_middleware(Refuse())

    @service.task
    async def export() -> None:
        return None

    with pytest.raises(PermissionError) as caught:
        await service.submit_job("export")
    assert str(caught.value) == "tenant not allowed to run export"
    assert "refused by Refuse.on_submit" in caught.value.__notes__
    with pytest.raises(PermissionError):
        await export.submit()
    with pytest.raises(PermissionError):
        await service.submit_jobs([JobSpec("export", meta={"tenant": "acme"}), {"name": "x"}])
    assert sum((await service.get_metrics()).depths.values()) == 0
    assert await service.submit_job("export", meta={"tenant": "acme"})
    assert (await service.get_metrics()).depths["pending"] == 1


def test_on_submit_holds_for_the_sync_client_too(prefix: str) -> None:
    url = f"memory://{prefix}-sync"
    with SyncJobService(url, "mw", prefix) as client:
        client.add_middleware(Refuse())  # public: only the private service had it
        for _ in range(3):  # after the first, submits take the calling thread's path
            with pytest.raises(PermissionError):
                client.submit_job("export")
        assert client.submit_job("export", meta={"tenant": "acme"})
        assert client.get_metrics().depths["pending"] == 1
    MemoryBackend.forget(f"{prefix}-sync/{prefix}/mw")


class Replace:
    async def around(self, job: JobDefinition, call_next: Next) -> Any:
        result = await call_next()
        return None if job.args == ("keep",) else {"wrapped": result}


async def test_around_may_replace_the_result_and_none_keeps_it(service: JobService) -> None:
    service.add_middleware(Replace())
    service.register_handler("echo", lambda x: x)
    await service.start_workers(1)
    assert await service.result(await service.submit_job("echo", ["x"]), timeout=10) == {
        "wrapped": "x"
    }
    assert await service.result(await service.submit_job("echo", ["keep"]), timeout=10) == "keep"


class Broken:
    def __init__(self, where: str) -> None:
        self.where = where

    async def around(self, job: JobDefinition, call_next: Next) -> Any:
        if self.where == "before":
            raise KeyError("no trace id")
        result = await call_next()
        if self.where == "after":
            raise RuntimeError("exporter is down")
        return result

    def on_outcome(self, job: JobDefinition, outcome: AttemptOutcome) -> None:
        if self.where == "outcome" and outcome.status == "completed":
            raise ValueError("cannot report")


@pytest.mark.parametrize(
    ("where", "message", "ran"),
    [
        ("before", "Broken.around raised KeyError: 'no trace id'", 0),
        ("after", "Broken.around raised RuntimeError: exporter is down", 2),
        ("outcome", "Broken.on_outcome raised ValueError: cannot report", 2),
    ],
)
async def test_a_middleware_that_raises_fails_the_attempt_never_the_worker(
    service: JobService, where: str, message: str, ran: int
) -> None:
    runs: list[str] = []
    service.add_middleware(Broken(where))
    service.register_handler("work", lambda: runs.append("ran"))
    await service.start_workers(1)
    job_id = await service.submit_job("work", max_retries=1)
    with pytest.raises(JobFailed) as caught:
        await service.result(job_id, timeout=10)
    assert (caught.value.error_type, caught.value.message) == ("MiddlewareError", message)
    assert len(runs) == ran  # retried once, as any failure, then dead-lettered
    job = await service.get_job(job_id)
    assert job is not None and job.attempts == 2 and job.error is not None
    assert job.error.traceback and "MiddlewareError" in job.error.traceback
    pool = service.pool
    assert pool is not None and pool.is_running and pool.failure is None  # the worker is fine
    service.middleware.added.clear()
    service.middleware._around.clear()
    service.middleware._on_outcome.clear()
    assert await service.result(await service.submit_job("work"), timeout=10) is None


class Passthrough:
    async def around(self, job: JobDefinition, call_next: Next) -> Any:
        return await call_next()


async def test_the_handlers_own_error_goes_through_as_its_own(service: JobService) -> None:
    service.add_middleware(Passthrough())

    @service.handler()
    async def breaks() -> None:
        raise ZeroDivisionError("the handler's")

    await service.start_workers(1)
    with pytest.raises(JobFailed) as caught:
        await service.result(await service.submit_job("breaks"), timeout=10)
    assert (caught.value.error_type, caught.value.message) == ("ZeroDivisionError", "the handler's")


class CircuitOpen:
    async def around(self, job: JobDefinition, call_next: Next) -> Any:
        if job.attempts == 1:
            raise Retry(delay=0.05, reason="circuit open")
        return await call_next()


async def test_a_middleware_may_decide_a_retry(service: JobService) -> None:
    outcomes: list[AttemptOutcome] = []

    class Listen:
        def on_outcome(self, job: JobDefinition, outcome: AttemptOutcome) -> None:
            outcomes.append(outcome)

    service.add_middleware(CircuitOpen())
    service.add_middleware(Listen())
    service.register_handler("work", lambda: "ok")
    await service.start_workers(1)
    assert await service.result(await service.submit_job("work", max_retries=1), timeout=10) == "ok"
    await asyncio.sleep(0.05)
    first, second = outcomes
    assert (first.status, first.error_type, first.retry_in) == ("retry", "Retry", 0.05)
    assert isinstance(first.error, Retry) and first.attempt == 1
    assert (second.status, second.result, second.attempt) == ("completed", "ok", 2)


async def test_on_outcome_hears_a_cancelled_attempt(service: JobService) -> None:
    outcomes: list[str] = []

    class Listen:
        async def on_outcome(self, job: JobDefinition, outcome: AttemptOutcome) -> None:
            outcomes.append(outcome.status)

    service.add_middleware(Listen())
    started = asyncio.Event()

    @service.handler()
    async def forever() -> None:
        started.set()
        await asyncio.sleep(60)

    await service.start_workers(1)
    job_id = await service.submit_job("forever")
    await asyncio.wait_for(started.wait(), 10)
    assert await service.cancel_job(job_id)
    job = await service.get_job(job_id, wait=10)
    assert job is not None and job.status == "cancelled"
    assert outcomes == ["cancelled"]


@pytest.mark.parametrize(
    ("middleware", "message"),
    [
        (object(), "add_middleware: object has none of on_submit, around, on_outcome"),
        (type("Sync", (), {"around": lambda self, job, call_next: None})(), "Sync.around must be"),
        (type("Odd", (), {"on_submit": 3})(), "add_middleware: Odd.on_submit is not callable"),
    ],
)
def test_a_middleware_is_checked_when_added(middleware: object, message: str) -> None:
    service = JobService("memory://mw-checked")
    with pytest.raises(TypeError) as caught:
        service.add_middleware(middleware)
    assert message in str(caught.value)
    assert not service.middleware


async def test_on_submit_returning_something_else_is_refused(service: JobService) -> None:
    class Wrong:
        def on_submit(self, spec: JobSpec) -> dict[str, Any]:
            return {"name": spec.name}

    service.add_middleware(Wrong())
    with pytest.raises(TypeError, match=r"Wrong.on_submit returned dict; expected a JobSpec"):
        await service.submit_job("x")
    assert sum((await service.get_metrics()).depths.values()) == 0


async def test_meta_added_by_a_middleware_is_checked_like_any(service: JobService) -> None:
    class Huge:
        def on_submit(self, spec: JobSpec) -> JobSpec:
            return dataclasses.replace(spec, meta={"blob": "x" * 5000})

    service.add_middleware(Huge())
    with pytest.raises(ValueError, match="meta: 5011 bytes of JSON, at most 4096"):
        await service.submit_job("x")
    assert sum((await service.get_metrics()).depths.values()) == 0


def test_siblings_share_the_middleware() -> None:
    service = JobService("memory://mw-shared")
    service.add_middleware(Passthrough())
    assert service.for_queue("other").middleware is service.middleware


async def test_a_timeout_reaches_on_outcome_as_a_timeout_error(service: JobService) -> None:
    outcomes: list[AttemptOutcome] = []

    class Listen:
        def on_outcome(self, job: JobDefinition, outcome: AttemptOutcome) -> None:
            outcomes.append(outcome)

    service.add_middleware(Listen())

    @service.handler()
    async def slow() -> None:
        await asyncio.sleep(10)

    await service.start_workers(1)
    with pytest.raises(JobFailed):
        await service.result(await service.submit_job("slow", timeout=0.05), timeout=10)
    [outcome] = outcomes
    assert outcome.status == "failed" and outcome.error_type == "Timeout"
    assert isinstance(outcome.error, TimeoutError)
    assert outcome.message == "timed out after 0.05s"
