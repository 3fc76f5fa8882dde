"""`SyncJobService` from 32 threads at once, over Redis and memory, and the Flask example."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from jobdeck.core import JobService, JobStatus, SyncJobService
from jobdeck.core.backend.memory import MemoryBackend

from .serve_process import ROOT

pytestmark = pytest.mark.timeout(60)


def _hammer(client: SyncJobService, thread: int) -> list[str]:
    ids = []
    for i in range(25):
        job_id = client.submit_job("add", (thread, i), job_id=f"t{thread}-{i}")
        job = client.get_job(job_id)
        assert job is not None and job.args == (thread, i)
        ids.append(job_id)
    return ids


@pytest.mark.parametrize("engine", ["redis", "memory"])
def test_thirty_two_threads_at_once(
    engine: str, request: pytest.FixtureRequest, prefix: str
) -> None:
    url = request.getfixturevalue("redis_url") if engine == "redis" else f"memory://{prefix}"
    before = threading.active_count()
    with SyncJobService(url, prefix=prefix) as client:
        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(lambda t: _hammer(client, t), range(32)))
        ids = [job_id for chunk in results for job_id in chunk]
        assert len(set(ids)) == 32 * 25
        assert client.get_metrics(1).depths["pending"] == 800
        assert len(client.list_jobs(JobStatus.PENDING, limit=1000)) == 800
        assert client.cancel_job("t0-0") and not client.cancel_job("t0-0")
        with pytest.raises(ValueError, match="priority"):
            client.submit_job("x", priority="urgent")
        assert client.submit_jobs([{"name": "b"}] * 3).__len__() == 3
    assert threading.active_count() <= before  # the loop thread is gone
    with pytest.raises(RuntimeError, match="closed"):
        client.get_job("t0-0")
    if engine == "memory":
        MemoryBackend.forget(f"{prefix}/{prefix}/default")


def test_closed_at_interpreter_exit(redis_url: str, prefix: str) -> None:
    """No close() call: the process still exits promptly and cleanly."""
    code = (
        "from jobdeck.core import SyncJobService\n"
        f"c = SyncJobService({redis_url!r}, prefix={prefix!r})\n"
        "print(c.submit_job('x'))\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    # Nothing on stderr but the one warning that no live worker has a handler for 'x'.
    others = [line for line in done.stderr.splitlines() if "no live worker" not in line]
    assert done.returncode == 0 and others == [], done.stderr
    assert time.monotonic() - started < 20

    async def check() -> None:
        async with JobService(redis_url, prefix=prefix) as service:
            assert await service.get_job(done.stdout.strip()) is not None

    asyncio.run(check())


def test_flask_example(redis_url: str, prefix: str) -> None:
    from examples.flask_app import create_app

    with SyncJobService(redis_url, prefix=prefix) as client:
        app = create_app(client)
        web = app.test_client()
        reply = web.post("/add", data={"a": "2", "b": "3"})
        assert reply.status_code == 201
        job_id = reply.get_json()["id"]
        assert web.get(f"/jobs/{job_id}").get_json()["status"] == "pending"
        assert web.get("/jobs/nope").status_code == 404
        assert web.post("/add", data={"a": "x"}).status_code == 400
