"""Ids a client may give: never a word of the HTTP API's paths (an id stands beside those
words in a path, so it would reach another route or never be readable), never in the
scheduler's namespace (a client could take a tick's id first and the tick would never run).
The rule is the core's, so the Python API, bulk submits, the synchronous client and the CLI
refuse alike; the HTTP side is in tests/web/test_ids_api.py."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from jobdeck.core import JobService, JobSpec, SyncJobService
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.ids import RESERVED_IDS
from jobdeck.core.models import new_job
from jobdeck.core.schedules import Scheduler, new_schedule, tick_job_id
from jobdeck.core.schedules.scheduler import put_spec

pytestmark = pytest.mark.timeout(60)

WORDS = sorted(RESERVED_IDS)
CASES = ["retry-all", "Retry-All", "DEAD-LETTERS", "metrics", "batch", "workers", ".", ".."]


@pytest.fixture(params=["memory", "redis"])
async def service(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[JobService]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
    else:
        url = f"memory://ids-{uuid.uuid4().hex[:8]}"
    async with JobService(url, queue="q", prefix=prefix) as svc:
        yield svc
    if request.param == "memory":
        MemoryBackend.forget(f"{url.split('://')[1]}/{prefix}/q")


@pytest.mark.parametrize("job_id", WORDS + CASES)
def test_route_words_are_refused_as_ids(job_id: str) -> None:
    with pytest.raises(ValueError, match=r"^job_id: .* word of the HTTP API's paths"):
        new_job("x", job_id=job_id)


@pytest.mark.parametrize("job_id", ["sched:nightly:1700000040000", "sched:x:manual-1", "sched:"])
def test_the_schedulers_namespace_is_refused(job_id: str) -> None:
    with pytest.raises(ValueError, match=r"^job_id: ids starting with 'sched:' are the sch"):
        new_job("x", job_id=job_id)


def test_ids_near_the_words_are_fine() -> None:
    for job_id in ("retry-all-2", "order:metrics", "Sched:x", "schedule:1", "...", "a.b", "jobs1"):
        assert new_job("x", job_id=job_id)[0].id == job_id


async def test_every_way_to_submit_refuses_them(service: JobService) -> None:
    for job_id in ("retry-all", "sched:n:1"):
        with pytest.raises(ValueError, match=r"^job_id: "):
            await service.submit_job("x", job_id=job_id)
        with pytest.raises(ValueError, match="job_id: "):
            await service.submit_jobs([JobSpec("x", job_id="fine-1"), JobSpec("x", job_id=job_id)])
        with pytest.raises(ValueError, match="job_id: "):
            await service.submit_jobs([{"name": "x", "job_id": job_id}])
    assert await service.list_jobs("pending") == []  # a refused batch queues nothing


def test_the_synchronous_client_refuses_them(prefix: str) -> None:
    with (
        SyncJobService(f"memory://sync-{prefix}", prefix=prefix) as client,
        pytest.raises(ValueError, match=r"^job_id: "),
    ):
        client.submit_job("x", job_id="dead-letters")


async def test_a_client_cannot_take_a_ticks_id_and_the_tick_runs(service: JobService) -> None:
    spec = new_schedule("nightly", "work", every=timedelta(seconds=3600))
    due = int(time.time() // 3600 * 3600 * 1000)  # the last tick: the one that fires now
    await service.backend.put_schedule("nightly", spec.to_json(), spec.timing, due, "work")
    with pytest.raises(ValueError, match="scheduler's"):
        await service.submit_job("evil", job_id=tick_job_id("nightly", due))
    scheduler = Scheduler(service.backend)
    await scheduler.run_once()
    assert scheduler.fired == 1
    job = await service.get_job(tick_job_id("nightly", due))
    assert job is not None and job.name == "work"  # the schedule's job, not a client's
    assert (await service.trigger_schedule("nightly")).startswith("sched:nightly:manual-")


async def test_route_words_are_refused_as_schedule_names(service: JobService) -> None:
    for name in ("pause", "Trigger", "retry-all", ".."):
        with pytest.raises(ValueError, match=r"^schedule name: .* word of the HTTP API"):
            await service.add_schedule(name, "work", every=60)
    with pytest.raises(ValueError, match=r"^schedule name: "):
        service.schedule("resume", "work", every=timedelta(seconds=5))
    # One stored before the word was reserved still reads and fires.
    legacy = new_schedule("nightly", "work", every=timedelta(seconds=60))
    await put_spec(service.backend, legacy)
    raw = legacy.to_json()
    await service.backend.put_schedule("pause", raw, legacy.timing, 1000, "work")
    names = {info.name: info.error for info in await service.list_schedules()}
    assert names["pause"] is None


def test_the_cli_refuses_them_in_one_line(redis_url: str, prefix: str) -> None:
    for job_id in ("retry-all", "sched:nightly:1"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "jobdeck.core.cli",
                "submit",
                "x",
                "--job-id",
                job_id,
                "--url",
                redis_url,
                "--prefix",
                prefix,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("jobdeck: error: job_id: ")
