"""Many queues: listing the queues of a prefix, and one worker process serving several.

The worker is a real `jobdeck worker ... --queue emails --queue reports=3` process. Slots are
shared by weight: each queue has its own share, so a flood on one never holds up another.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis

from jobdeck.core import JobService, JobStatus
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.cli.commands import parse_queues, share_concurrency

from .waiting import eventually, finished
from .worker_process import WorkerProcess

APP = "tests.apps.tasks:service"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["memory", "redis"])
async def open_queue(
    request: pytest.FixtureRequest, prefix: str
) -> AsyncIterator[Callable[..., Awaitable[JobService]]]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else f"memory://{prefix}"
    opened: list[JobService] = []

    async def open_queue(queue: str, prefix: str = prefix) -> JobService:
        service = JobService(url, queue=queue, prefix=prefix)
        await service.initialize()
        opened.append(service)
        return service

    yield open_queue
    for service in opened:
        await service.close()
        MemoryBackend.forget(f"{prefix}/{service.prefix}/{service.queue}")


async def test_list_queues_of_a_prefix(open_queue: Callable[..., Awaitable[JobService]]) -> None:
    emails = await open_queue("emails")
    assert await emails.list_queues() == []  # opened, never used
    await emails.submit_job("send")
    reports = await open_queue("reports.daily")
    await reports.submit_job("build", delay=60)
    await open_queue("idle")
    other = await open_queue("emails", prefix=f"o{uuid.uuid4().hex[:8]}")
    await other.submit_job("send")
    assert await emails.list_queues() == ["emails", "reports.daily"]
    assert await other.list_queues() == ["emails"]
    sibling = emails.for_queue("reports.daily")
    try:
        assert (await sibling.list_jobs(JobStatus.SCHEDULED))[0].name == "build"
        assert sibling.handlers is emails.handlers
    finally:
        await sibling.close()


async def test_a_queue_with_only_schedules_is_listed(
    open_queue: Callable[..., Awaitable[JobService]],
) -> None:
    """A queue whose first write was a schedule was not registered (only a submit or a
    worker's heartbeat registered one): `jobdeck queues`, the console's switcher and the
    dashboard (404 on /api/v1/queues/<it>/...) left it out."""
    emails = await open_queue("emails")
    await emails.submit_job("send")
    assert await emails.list_queues() == ["emails"]  # on Redis: the prefix's one SCAN is done
    nightly = await open_queue("nightly")
    await nightly.add_schedule("report", "build", cron="0 3 * * *")
    assert await emails.list_queues() == ["emails", "nightly"]


async def test_listing_reads_the_registry_not_the_keyspace(redis_url: str, prefix: str) -> None:
    """At a million jobs a SCAN of the keyspace takes seconds: a queue notes itself in the
    prefix's registry when opened, and listing reads that, after one SCAN for the prefix's
    whole life (marked by `<prefix>:queues:scanned`). Data written before the registry existed
    is still found by it, and then registered."""
    r = redis.Redis.from_url(redis_url)
    opened = [JobService(redis_url, queue=q, prefix=prefix) for q in ("emails", "reports")]
    try:
        for service in opened:
            await service.initialize()
        assert not r.exists(f"{prefix}:queues")  # connecting writes nothing; the first write does
        for service in opened:
            await service.submit_job("send")
        assert r.smembers(f"{prefix}:queues") == {b"emails", b"reports"}
        assert await opened[0].list_queues() == ["emails", "reports"]  # the one SCAN
        assert r.get(f"{prefix}:queues:scanned") == b"1"
        scans = r.info("commandstats").get("cmdstat_scan", {}).get("calls", 0)
        assert await opened[1].list_queues() == ["emails", "reports"]
        assert r.info("commandstats").get("cmdstat_scan", {}).get("calls", 0) == scans
        # as if written by a version without the registry
        r.delete(f"{prefix}:queues", f"{prefix}:queues:scanned")
        fresh = JobService(redis_url, queue="emails", prefix=prefix)
        opened.append(fresh)
        assert await fresh.list_queues() == ["emails", "reports"]
        assert r.smembers(f"{prefix}:queues") == {b"emails", b"reports"}
    finally:
        for service in opened:
            await service.close()
        r.close()


def test_parse_and_share_concurrency() -> None:
    assert parse_queues(["emails", "reports=3"]) == {"emails": 1, "reports": 3}
    assert share_concurrency(8, [1, 3]) == [2, 6]
    assert share_concurrency(4, [1, 1, 1]) == [2, 1, 1]
    assert share_concurrency(2, [1, 1, 10]) == [1, 1, 2]  # each served queue gets at least 1
    assert share_concurrency(0, [1, 2]) == [0, 0]
    with pytest.raises(ValueError, match="weight"):
        parse_queues(["a=0"])


@pytest.mark.slow
async def test_one_worker_serves_several_queues_by_weight(redis_url: str, prefix: str) -> None:
    """-c 4 over emails (weight 1) and reports (weight 3): concurrency 1 and 3. Reports is flooded
    with held jobs; emails still runs its job at once, and neither exceeds its share."""
    emails = JobService(redis_url, queue="emails", prefix=prefix)
    reports = emails.for_queue("reports")
    worker = WorkerProcess(
        APP,
        redis_url,
        queues=["emails", "reports=3"],
        prefix=prefix,
        concurrency=4,
        lease=5,
        env={"JOBDECK_TEST_URL": redis_url},
    )
    gate = f"{prefix}:gate"
    try:
        worker.start()
        await reports.submit_jobs([{"name": "hold", "args": [gate]}] * 10)
        await eventually(lambda: _running(reports, 3), what="3 reports running")
        await emails.submit_jobs([{"name": "hold", "args": [gate]}] * 3)
        await eventually(lambda: _running(emails, 1), what="an email running")
        await asyncio.sleep(0.3)  # neither queue takes more than its share
        assert len(await reports.list_jobs(JobStatus.RUNNING)) == 3
        assert len(await emails.list_jobs(JobStatus.RUNNING)) == 1
        records = {r.queue: r for r in await emails.list_workers() + await reports.list_workers()}
        assert {q: r.concurrency for q, r in records.items()} == {"emails": 1, "reports": 3}
        assert records["emails"].id == records["reports"].id == worker.worker_id
        # one queue's console scales that queue's share of the process
        assert await reports.scale_workers(5, worker_id=worker.worker_id) == 1
        await eventually(lambda: _running(reports, 5), what="reports scaled to 5")
        job = await emails.submit_job("add", [2, 3])
        client = redis.Redis.from_url(redis_url)
        client.set(gate, 1)
        client.close()
        assert (await finished(emails, job)).result["sum"] == 5
        await eventually(lambda: _depth(reports, "completed", 10), what="all reports done")
        assert worker.terminate(15) == 0
        assert await emails.list_workers() == [] and await reports.list_workers() == []
    finally:
        worker.stop()
        await emails.close()
        await reports.close()


async def _running(service: JobService, count: int) -> bool:
    return len(await service.list_jobs(JobStatus.RUNNING)) == count


async def _depth(service: JobService, status: str, count: int) -> bool:
    return (await service.get_metrics()).depths.get(status, 0) == count


async def test_queues_written_before_the_registry_are_listed_once_another_registers(
    redis_url: str, prefix: str
) -> None:
    """Issue 28, item 11: a queue used before the registry existed (its event log is there,
    its name is not registered) was lost from the list once any queue registered."""
    r = redis.Redis.from_url(redis_url)
    old = JobService(redis_url, queue="legacy", prefix=prefix)
    new = JobService(redis_url, queue="current", prefix=prefix)
    try:
        await old.submit_job("send")
        r.delete(f"{prefix}:queues")  # written by a version without the registry
        await new.submit_job("send")  # registers "current" only
        assert r.smembers(f"{prefix}:queues") == {b"current"}
        assert await new.list_queues() == ["current", "legacy"]
        assert r.smembers(f"{prefix}:queues") == {b"current", b"legacy"}
    finally:
        await old.close()
        await new.close()
        r.close()
