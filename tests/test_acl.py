"""Least-privilege ACL roles (jobdeck.core.acl), each tested with its own Redis ACL user on
a private server: a worker process, a submitter and a read-only console do their work; what a
role may not do is refused with an error naming the command, nothing is lost, and no password
is ever printed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.exceptions import NoPermissionError

from jobdeck.core import JobService, JobStatus
from jobdeck.core.acl import acl_rules

from .redis_server import RedisServer
from .waiting import eventually, finished
from .worker_process import WorkerProcess

ROOT = Path(__file__).resolve().parent.parent
APP = "tests.apps.tasks:service"
SECRET = "s3cret-Pa55"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def acl_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def url_for(acl_server: RedisServer, prefix: str):
    """A URL logging in as a fresh ACL user with `role` on this test's prefix."""

    def url_for(role: str) -> str:
        user = f"{role}-{prefix}"
        rules = acl_rules(role, prefix).split()
        assert acl_server.cli("ACL", "SETUSER", user, "on", f">{SECRET}", *rules) == "OK"
        return f"redis://{user}:{SECRET}@127.0.0.1:{acl_server.port}/0"

    return url_for


async def test_each_role_does_its_work(url_for, acl_server: RedisServer, prefix: str) -> None:
    submitter = JobService(url_for("submitter"), queue="apps", prefix=prefix)
    console = JobService(url_for("console"), queue="apps", prefix=prefix)
    worker = WorkerProcess(
        APP,
        url_for("worker"),
        queue="apps",
        prefix=prefix,
        concurrency=2,
        env={"JOBDECK_TEST_URL": acl_server.url},  # the handlers' own traces: admin
    )
    try:
        worker.start()
        job_id = await submitter.submit_job("add", [2, 3])
        await submitter.submit_jobs([{"name": "add", "args": [1, 1]}] * 5)
        assert (await finished(submitter, job_id)).result["sum"] == 5
        # the read-only console sees everything: jobs, pages, metrics, workers, events, queues
        assert (await console.get_job(job_id)).status == JobStatus.COMPLETED
        assert len(await console.list_jobs(JobStatus.COMPLETED, limit=10)) >= 1
        assert (await console.get_metrics()).totals.get("submitted") == 6
        assert [w.id for w in await console.list_workers()] == [worker.worker_id]
        assert await console.list_queues() == ["apps"]
        seen = [e.type async for e in _first(console.events(after="0-0", block=0.1), 3)]
        assert seen[0] == "JOB_SERVICE_WORKERS_STARTED"
        # ... and may change nothing
        for action in (
            lambda: console.submit_job("add", [1, 2]),
            lambda: console.cancel_job(job_id),
            lambda: console.pause_queue(),
            lambda: console.scale_workers(1, worker_id="*"),
        ):
            with pytest.raises(NoPermissionError, match="evalsha"):
                await action()
        # a submitter awaits results (it follows the event log) but runs no worker
        later = await submitter.submit_job("add", [20, 22])
        assert (await submitter.result(later, timeout=20))["sum"] == 42
        with pytest.raises(NoPermissionError, match="blpop"):
            await submitter.backend.wait_for_work(0.1)
        assert (await submitter.get_metrics()).depths["completed"] == 7
        assert SECRET not in worker.log()
    finally:
        worker.stop()
        await submitter.close()
        await console.close()


async def _first(events, count: int):
    n = 0
    async for event in events:
        yield event
        n += 1
        if n == count:
            return


async def test_a_worker_with_a_narrow_acl_says_so_and_loses_nothing(url_for, prefix: str) -> None:
    """A worker given the submitter's ACL (no BLPOP): it logs the refused command and leaves
    the job where it is; a proper worker takes it afterwards."""
    admin = JobService(url_for("submitter"), queue="apps", prefix=prefix)
    narrow = WorkerProcess(APP, url_for("submitter"), queue="apps", prefix=prefix)
    try:
        narrow.start()
        job_id = await admin.submit_job("add", [1, 1])

        async def refused() -> bool:
            return "refused a command" in narrow.log()

        await eventually(refused, what="the worker to log the refused command")
        log = narrow.log()
        assert "refused a command" in log and "blpop" in log, log
        assert SECRET not in log
        assert narrow.alive()
        status = (await admin.get_job(job_id)).status
        assert status in (JobStatus.PENDING, JobStatus.COMPLETED)  # never lost
    finally:
        narrow.stop()
        await admin.close()


def test_cli_names_the_refused_command(url_for, prefix: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("JOBDECK_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "jobdeck.core.cli", "submit", "add", "--url", url_for("console"),
         "--prefix", prefix],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    lines = run.stderr.strip().splitlines()
    assert run.returncode != 0 and len(lines) == 1, run.stderr
    assert "Redis refused a command" in lines[0] and "evalsha" in lines[0], lines[0]
    assert SECRET not in run.stderr


def test_cli_prints_the_rules() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "jobdeck.core.cli", "acl", "console", "--prefix", "app1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert (
        run.stdout.strip()
        == f"ACL SETUSER jobdeck-console on >PASSWORD {acl_rules('console', 'app1')}"
    )
