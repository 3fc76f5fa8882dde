"""Application events from handlers (`current_job().emit`), and an application's own event
bus receiving jobdeck's events."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from jobdeck.core import JobService, current_job
from jobdeck.core.backend.base import JobEmit
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.events import Event, Events
from jobdeck.core.worker.context import MAX_EVENT_BYTES, JobContext

from .waiting import eventually, finished


@pytest.fixture(params=["memory", "redis"])
async def service(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[JobService]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
    else:
        url = f"memory://emit-{uuid.uuid4().hex[:8]}"
    svc = JobService(url, queue="e", prefix=prefix)
    yield svc
    await svc.close()
    if request.param == "memory":
        MemoryBackend.forget(f"{url.split('://')[1]}/{prefix}/e")


async def test_handlers_emit_events_under_their_job_before_its_outcome(service: JobService) -> None:
    async def archive(path: str) -> str:
        current_job().emit("backup.started", {"path": path})
        await asyncio.sleep(0.01)
        current_job().emit("backup.archived", {"path": path, "files": 3})
        return "ok"

    def sync_archive() -> None:  # runs on a worker thread
        current_job().emit("backup.pruned", {"removed": 2})

    service.register_handler("archive", archive)
    service.register_handler("prune", sync_archive)
    first = await service.submit_job("archive", ["/srv"])
    second = await service.submit_job("prune")
    await service.start_workers(2)
    await finished(service, first)
    await finished(service, second)
    await service.stop_workers()
    events = await service.backend.read_events("0-0", 10_000, 0.01)
    mine = [(e.type, e.job_id) for e in events if e.job_id == first]
    assert mine.index(("backup.started", first)) < mine.index(("backup.archived", first))
    assert mine.index(("backup.archived", first)) < mine.index((Events.JOB_COMPLETED, first))
    archived = next(e for e in events if e.type == "backup.archived")
    assert archived.data == {"path": "/srv", "files": 3} and archived.name == "archive"
    assert archived.status is None  # an application event moves no job between states
    assert any(e.type == "backup.pruned" and e.job_id == second for e in events)


async def test_a_stale_attempt_cannot_speak_for_the_job(service: JobService) -> None:
    await service.initialize()
    job_id = await service.submit_job("x")
    batch = await service.backend.claim("w1", 1, 30.0)
    [claimed] = batch.jobs
    stale = JobEmit(job_id, "not-the-token", "app.step", b"{}")
    good = JobEmit(job_id, claimed.token, "app.step", b"{}")
    assert await service.backend.job_events([stale, good]) == 1


def test_emit_validates_and_bounds_what_it_sends() -> None:
    sent: list[tuple[str, str, str, bytes]] = []
    ctx = JobContext(job=_job(), token="t", worker_id="w", _report=lambda *a: None)
    ctx._emit = lambda *args: sent.append(args)
    ctx.emit("report.ready", {"rows": 10})
    assert sent == [("j1", "t", "report.ready", b'{"rows":10}')]
    for bad, field in (
        ("has space", "event_type"),
        ("JOB_COMPLETED", "event_type"),
        ("", "event_type"),
    ):
        with pytest.raises(ValueError, match=rf"^{field}"):
            ctx.emit(bad)
    with pytest.raises(ValueError, match=r"^data: .* at most 8192"):
        ctx.emit("big", {"blob": "x" * MAX_EVENT_BYTES})
    with pytest.raises(TypeError, match=r"^data"):
        ctx.emit("odd", {"when": object()})
    with pytest.raises(TypeError, match=r"^data"):
        ctx.emit("odd", ["not", "a", "mapping"])  # type: ignore[arg-type]


def _job() -> Any:
    from jobdeck.core.models import new_job

    return new_job("x", job_id="j1")[0]


class AppBus:
    """The kind of bus an application has: subscribe by type, publish(type, payload)."""

    def __init__(self) -> None:
        self.handlers: dict[Any, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, event_type: Any, handler: Callable[[Any], None]) -> None:
        self.handlers[event_type].append(handler)

    def publish(self, event_type: Any, payload: Any) -> None:
        for handler in self.handlers[event_type]:
            handler(payload)


async def test_an_application_bus_receives_jobdeck_events(service: JobService) -> None:
    bus = AppBus()
    completed: list[Event] = []
    bus.subscribe(Events.JOB_COMPLETED, completed.append)
    plain: list[Event] = []
    other = JobService(service.url, queue="e", prefix=service.prefix, event_bus=plain.append)
    wired = JobService(service.url, queue="e", prefix=service.prefix, event_bus=bus)
    try:
        await wired.initialize()
        await other.initialize()
        service.register_handler("work", lambda: 42)
        job_id = await service.submit_job("work")
        await service.start_workers(1)
        await finished(service, job_id)

        async def delivered() -> bool:
            return any(e.job_id == job_id for e in completed) and any(
                e.type == Events.JOB_COMPLETED and e.job_id == job_id for e in plain
            )

        await eventually(delivered, timeout=10, what="the application's bus to hear")
    finally:
        await wired.close()
        await other.close()
    assert completed[-1].data is not None


def test_a_bus_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(TypeError, match=r"^event_bus"):
        JobService("memory://bus-bad", event_bus=42)


def test_the_console_timeline_shows_application_events() -> None:
    from jobdeck.console.live.timeline import describe_event

    event = Event("backup.archived", 0.0, job_id="j", data={"files": 3})
    assert describe_event(event) == 'backup.archived {"files":3}'
    fired = Event(Events.SCHEDULE_FIRED, 0.0, job_id="j", data={"schedule": "nightly"})
    assert describe_event(fired) == "queued by schedule nightly"
