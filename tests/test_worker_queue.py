"""`jobdeck worker app:service` serves the queue (and key prefix) of the application's own
service unless told otherwise; told another queue, it says so once, and the schedules the
application declares are still written for the queue they belong to, shown as unserved
while no worker serves that queue."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from jobdeck.core import JobService
from jobdeck.core.cli import main

from .waiting import eventually

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent
APP = """
    from jobdeck.core import JobService

    service = JobService(queue="mail", prefix="{prefix}")


    @service.handler()
    def send(to: str) -> str:
        return f"sent to {{to}}"


    service.schedule("digest", "send", every=3600, args=["everyone"])
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    prefix = f"wq{uuid.uuid4().hex[:10]}"
    (tmp_path / f"mailapp_{prefix}.py").write_text(textwrap.dedent(APP.format(prefix=prefix)))
    yield tmp_path, prefix


class Worker:
    def __init__(self, cwd: Path, module: str, url: str, *flags: str) -> None:
        self.log = cwd / f"worker-{uuid.uuid4().hex[:6]}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("JOBDECK_URL", None)
        command = [sys.executable, "-m", "jobdeck.core.cli", "worker", f"{module}:service"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, "--url", url, "--concurrency", "2", *flags],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        return self.log.read_text()


@pytest.mark.slow
async def test_the_worker_serves_the_applications_queue_and_prefix(
    app_dir: tuple[Path, str], redis_url: str
) -> None:
    cwd, prefix = app_dir
    worker = Worker(cwd, f"mailapp_{prefix}", redis_url)  # neither --queue nor --prefix
    try:
        async with JobService(redis_url, "mail", prefix) as mail:
            job_id = await mail.submit_job("send", args=("ada",))
            assert await mail.result(job_id, timeout=20) == "sent to ada"
            [record] = await mail.list_workers()
            assert record.queue == "mail" and record.handlers == ["send"]
            [digest] = await mail.list_schedules()
            assert digest.name == "digest" and not digest.unserved
    finally:
        log = worker.stop()
    assert "not 'mail'" not in log and "queues mail (" in log


@pytest.mark.slow
async def test_told_another_queue_it_says_so_and_still_writes_the_schedules(
    app_dir: tuple[Path, str], redis_url: str
) -> None:
    cwd, prefix = app_dir
    worker = Worker(cwd, f"mailapp_{prefix}", redis_url, "--queue", "other")
    try:
        async with (
            JobService(redis_url, "other", prefix) as other,
            JobService(redis_url, "mail", prefix) as mail,
        ):

            async def registered() -> bool:
                return bool(await other.list_workers())

            await eventually(registered, 20, "the worker on queue 'other'")
            assert await mail.list_workers() == []
            [digest] = await mail.list_schedules()  # written for its own queue, not 'other'
            assert digest.name == "digest" and digest.unserved
            assert (await mail.get_schedule("digest")).unserved  # type: ignore[union-attr]
            assert await other.list_schedules() == []
            flags = ["--url", redis_url, "--queue", "mail", "--prefix", prefix]
            listed = await asyncio.to_thread(
                CliRunner().invoke, main, ["schedules", "list", *flags]
            )
            assert listed.exit_code == 0, listed.output
            assert "unserved" in listed.stdout.splitlines()[1]
            assert "no live worker serves queue 'mail'" in listed.stderr
    finally:
        log = worker.stop()
    said = [line for line in log.splitlines() if "the queue of the application's service" in line]
    assert len(said) == 1, log
    assert "serving 'other' (--queue), not 'mail'" in said[0]
    assert "its schedules (digest) are written for 'mail'" in said[0]


@pytest.mark.parametrize("engine", ["memory", "redis"])
async def test_a_schedule_is_unserved_while_no_worker_serves_its_queue(
    engine: str, request: pytest.FixtureRequest, prefix: str
) -> None:
    url = request.getfixturevalue("redis_url") if engine == "redis" else f"memory://{prefix}"
    async with JobService(url, "s", prefix) as service:
        service.register_handler("tick", lambda: None)
        await service.add_schedule("hourly", "tick", every=3600)
        [info] = await service.list_schedules()
        assert info.unserved and info.to_dict()["unserved"] is True
        await service.start_workers(1, scheduler=False)
        [info] = await service.list_schedules()
        assert not info.unserved
        assert not (await service.get_schedule("hourly")).unserved  # type: ignore[union-attr]
