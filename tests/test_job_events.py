"""`JobService.job_events`: one job's story from the event log, on both engines: every
attempt, a retry from the dead letters, the schedule that queued it and its handler's own
events, none of another job's, in bounded steps that resume, and a finished job's read
stopping past its finish."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from jobdeck.core import JobNotFound, JobService, RetryPolicy, current_job
from jobdeck.core.backend import BackendSettings
from jobdeck.core.backend.memory import MemoryBackend

from .waiting import eventually, finished

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest, prefix: str) -> Iterator[str]:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    service = JobService(url, prefix=prefix, retry_policy=RetryPolicy(base=0.05, jitter=0.0))
    calls: dict[str, int] = {}

    @service.handler()
    async def flaky(key: str, fail: int) -> str:
        calls[key] = calls.get(key, 0) + 1
        current_job().report_progress(0.5, "half way")
        current_job().emit("app.step", {"call": calls[key]})
        if calls[key] <= fail:
            raise RuntimeError(f"call {calls[key]} fails")
        return "ok"

    async with service:
        await service.start_workers(2)
        yield service


def story(events: list) -> list[str]:
    return [
        str(e.type) + (f":{e.data.get('reason')}" if e.data.get("reason") else "") for e in events
    ]


async def test_every_attempt_a_dead_letter_retry_and_the_handlers_events(
    service: JobService,
) -> None:
    other = await service.submit_job("flaky", ["other", 0])
    job_id = await service.submit_job("flaky", ["a", 2], max_retries=1)
    assert (await finished(service, job_id)).status.value == "failed"
    assert await service.retry_dead_letter(job_id)
    await eventually(lambda: _completed(service, job_id), what="the retried job to complete")
    await finished(service, other)

    page = await service.job_events(job_id)
    assert story(page.events) == [
        "JOB_SUBMITTED",
        "JOB_STARTED",
        "app.step",
        "JOB_FAILED",  # will retry
        "JOB_STARTED",
        "app.step",
        "JOB_FAILED",  # dead letter
        "JOB_REQUEUED:retry",
        "JOB_STARTED",
        "app.step",
        "JOB_COMPLETED",
    ]
    assert {e.job_id for e in page.events} == {job_id}
    assert [e.data["attempt"] for e in page.events if e.type == "JOB_STARTED"] == [1, 2, 1]
    assert page.events[3].data["will_retry"] and not page.events[6].data["will_retry"]
    assert page.next is None and not page.trimmed
    assert [e.id for e in page.events] == sorted(e.id for e in page.events)


async def _completed(service: JobService, job_id: str) -> bool:
    job = await service.get_job(job_id)
    return job is not None and job.status.value == "completed"


async def test_bounded_steps_resume_where_the_last_one_stopped(service: JobService) -> None:
    job_id = await service.submit_job("flaky", ["b", 1], max_retries=1)
    noise = await service.submit_jobs([{"name": "flaky", "args": [f"n{i}", 0]} for i in range(40)])
    await finished(service, job_id)
    for other in noise:
        await finished(service, other)
    whole = await service.job_events(job_id)
    steps, after, reads = [], None, 0
    while True:
        page = await service.job_events(job_id, after=after, budget=7)
        assert page.scanned <= 7 and page.more == (page.next is not None)
        steps += page.events
        reads += 1
        if not page.more:
            break
        after = page.next
    assert reads > 3
    assert [e.id for e in steps] == [e.id for e in whole.events]


async def test_a_live_job_hands_back_where_its_next_events_will_come(
    service: JobService,
) -> None:
    await service.pause_queue()
    job_id = await service.submit_job("flaky", ["c", 0])
    first = await service.job_events(job_id)
    assert story(first.events) == ["JOB_SUBMITTED"] and first.next is not None
    assert not first.more
    await service.resume_queue()
    await finished(service, job_id)
    later = await service.job_events(job_id, after=first.next)
    assert story(later.events) == ["JOB_STARTED", "app.step", "JOB_COMPLETED"]
    assert later.next is None


async def test_a_finished_jobs_read_stops_past_its_finish(service: JobService) -> None:
    job_id = await service.submit_job("flaky", ["d", 0])
    await finished(service, job_id)
    await asyncio.sleep(0.01)
    for _ in range(50):
        await service.backend.emit("LATER", {})
    page = await service.job_events(job_id)
    assert story(page.events)[-1] == "JOB_COMPLETED" and page.next is None
    assert page.scanned < 50  # none of the later entries was read


async def test_a_schedule_that_queued_the_job_is_in_its_story(service: JobService) -> None:
    await service.add_schedule("tick", job="flaky", every=3600, args=["e", 0])
    job_id = await service.trigger_schedule("tick")
    await finished(service, job_id)
    events = (await service.job_events(job_id)).events
    assert story(events)[:2] == ["JOB_SUBMITTED", "SCHEDULE_FIRED"]
    assert events[1].data["schedule"] == "tick"


async def test_events_dropped_by_the_logs_cap_are_said(url: str, prefix: str) -> None:
    async with JobService(
        url, prefix=prefix, settings=BackendSettings(events_maxlen=1000)
    ) as service:
        job_id = await service.submit_job("nobody", [])
        await service.submit_jobs([{"name": "nobody"} for _ in range(3000)])
        page = await service.job_events(job_id)
        assert page.trimmed and page.events == []


async def test_bad_input_is_refused_naming_it(service: JobService) -> None:
    with pytest.raises(JobNotFound):
        await service.job_events("no-such-job")
    job_id = await service.submit_job("flaky", ["f", 0])
    with pytest.raises(ValueError, match="after"):
        await service.job_events(job_id, after="yesterday")
    with pytest.raises(ValueError, match="budget"):
        await service.job_events(job_id, budget=0)
