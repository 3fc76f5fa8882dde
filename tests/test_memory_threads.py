"""The memory engine shared between threads (issue 28, item 12): `SyncJobService()` without
a URL opens the in-process memory queue, and its calls run on a loop thread of its own, while
the application's async service and workers run on another. One store, two loops, four
submitting threads: nothing lost, nothing run twice, and a job submitted from one thread wakes
a worker idle on the other loop at once (its wake-up crosses the threads)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from jobdeck.core import JobService, SyncJobService
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.worker.pool import WorkerSettings

# Workers that would notice new work late on their own: an idle wait and heartbeats far
# longer than the test, so only a wake-up that reaches their loop starts a job in time.
SLOW_TO_NOTICE = WorkerSettings(idle_wait=30.0, heartbeat_interval=20.0, lease=60.0)


def test_a_sync_client_and_async_workers_share_one_memory_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Threads switch every few microseconds instead of every 5 ms: an engine step that is not
    # atomic between threads is interleaved with the other thread's within the test.
    monkeypatch.setattr(sys, "getswitchinterval", sys.getswitchinterval)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    monkeypatch.undo()
    name = f"threads-{uuid.uuid4().hex[:8]}"
    url = f"memory://{name}"
    ran: list[int] = []
    ready, stop = threading.Event(), threading.Event()
    loop_errors: list[BaseException] = []

    def workers() -> None:
        async def main() -> None:
            service = JobService(url, worker_settings=SLOW_TO_NOTICE)
            service.register_handler("add", lambda n: ran.append(n) or n)
            await service.start_workers(4, scheduler=False)
            ready.set()
            await asyncio.to_thread(stop.wait)
            await service.stop_workers()
            await service.close()

        try:
            asyncio.run(main())
        except BaseException as exc:
            loop_errors.append(exc)
            ready.set()

    thread = threading.Thread(target=workers, daemon=True)
    thread.start()
    client = SyncJobService(url)
    try:
        assert ready.wait(10) and not loop_errors
        time.sleep(0.2)  # the workers are idle, waiting for work
        started = time.monotonic()
        first = client.submit_job("add", [-1])
        assert client.result(first, timeout=10) == -1
        woke_in = time.monotonic() - started
        with ThreadPoolExecutor(4) as pool:
            ids = list(
                pool.map(lambda n: client.submit_job("add", [n]), range(2000))
            )
        for job_id in ids[-50:]:
            client.result(job_id, timeout=30)
        deadline = time.monotonic() + 30
        while len(ran) < 2001 and time.monotonic() < deadline:
            time.sleep(0.05)
        metrics = client.get_metrics()
    finally:
        sys.setswitchinterval(switch)
        stop.set()
        thread.join(30)
        client.close()
        MemoryBackend.forget(f"{name}/jobdeck/default")
    assert not loop_errors, loop_errors
    assert woke_in < 5.0, f"an idle worker started the job after {woke_in:.1f}s"
    assert sorted(ran) == [-1, *range(2000)]  # each once
    assert metrics.depths["completed"] == 2001 and metrics.depths["pending"] == 0


async def test_an_event_written_from_another_thread_wakes_a_reader_at_once() -> None:
    """A reader blocked on this loop (an async service following events, awaiting a result)
    and a job submitted from a `SyncJobService` on its loop thread: the wake-up must reach
    this loop, not wait for its block to run out (10 s here)."""
    name = f"threads-{uuid.uuid4().hex[:8]}"
    backend = MemoryBackend.shared(f"{name}/jobdeck/default")
    client = SyncJobService(f"memory://{name}")
    try:
        after = await backend.last_event_id()
        at: list[float] = []
        ids: list[str] = []

        def submit_later() -> None:  # a plain thread: nothing of it goes through this loop
            time.sleep(0.2)
            at.append(time.monotonic())
            ids.append(client.submit_job("add", [1]))

        thread = threading.Thread(target=submit_later, daemon=True)
        thread.start()
        events = await backend.read_events(after, 10, 10.0)
        took = time.monotonic() - at[0]
        await asyncio.to_thread(thread.join, 10)
        job_id = ids[0]
    finally:
        await asyncio.to_thread(client.close)
        MemoryBackend.forget(f"{name}/jobdeck/default")
    assert [e.job_id for e in events] == [job_id]
    assert took < 2.0, f"the reader woke {took:.1f}s after the event"
