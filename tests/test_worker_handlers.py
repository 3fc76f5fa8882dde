"""Every worker publishes the handler names it serves in its record: `list_workers()`, the
API's workers and the console read them from there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jobdeck.core import JobService, WorkerSettings
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.backend.records import MAX_LISTED_HANDLERS

from .waiting import eventually

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=["memory", "redis"])
async def service(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[JobService]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else f"memory://{prefix}"
    settings = WorkerSettings(lease=5.0, heartbeat_interval=0.2)
    async with JobService(url, "h", prefix, worker_settings=settings) as service:
        yield service
    MemoryBackend.forget(f"{prefix}/{prefix}/h")


async def test_a_worker_record_lists_its_handlers_sorted(service: JobService) -> None:
    service.register_handler("send.email", lambda: None)
    service.register_handler("resize", lambda: None)
    await service.start_workers(1, worker_id="w-handlers")
    [record] = await service.list_workers()
    assert record.handlers == ["resize", "send.email"] and record.handler_count == 2
    assert record.to_dict()["handlers"] == ["resize", "send.email"]

    # A handler registered while the worker runs is served at once, and listed from the
    # next heartbeat on.
    service.register_handler("added.later", lambda: None)

    async def listed() -> bool:
        [again] = await service.list_workers()
        return again.handlers == ["added.later", "resize", "send.email"]

    await eventually(listed, what="the new handler in the worker record")


async def test_a_worker_record_lists_a_bounded_number_of_names(service: JobService) -> None:
    for i in range(MAX_LISTED_HANDLERS + 20):
        service.register_handler(f"task.{i:04d}", lambda: None)
    await service.start_workers(1)
    [record] = await service.list_workers()
    assert record.handler_count == MAX_LISTED_HANDLERS + 20
    assert record.handlers == [f"task.{i:04d}" for i in range(MAX_LISTED_HANDLERS)]


@pytest.mark.parametrize(
    ("name", "error"),
    [("", ValueError), ("   ", ValueError), ("x" * 201, ValueError), ("caf\udce9", ValueError)],
)
def test_a_handler_name_no_job_could_have_is_refused(name: str, error: type) -> None:
    service = JobService("memory://handler-names")
    with pytest.raises(error, match=r"^name: "):
        service.register_handler(name, lambda: None)
    with pytest.raises(TypeError, match=r"^name: expected str"):
        service.register_handler(42, lambda: None)  # type: ignore[arg-type]
    assert service.handlers == {}
