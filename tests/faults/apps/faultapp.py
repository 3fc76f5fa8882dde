"""The application every fault test runs: `jobdeck worker tests.faults.apps.faultapp:service`.

Each handler appends `job_id attempt event time pid [extra]` to the ledger file named by
`$JOBDECK_LEDGER` with one `O_APPEND` write per line (atomic for lines this short), so a test
counts executions from what really ran, never from the queue's own bookkeeping.
`$FAULT_RETRY_BASE` sets the retry policy's base delay (seconds).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

from jobdeck.core import JobService, RetryPolicy, current_job

_fd: int | None = None
_lock = threading.Lock()
_running = 0  # handlers of `probe` running in this process right now


def ledger(event: str, *extra: object) -> None:
    global _fd
    with _lock:
        if _fd is None:
            path = os.environ["JOBDECK_LEDGER"]
            _fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    job = current_job()
    fields = [job.job_id, job.attempt, event, f"{time.time():.6f}", os.getpid(), *extra]
    os.write(_fd, (" ".join(str(f) for f in fields) + "\n").encode())


def _policy() -> RetryPolicy | None:
    base = os.environ.get("FAULT_RETRY_BASE")
    return RetryPolicy(base=float(base), factor=2.0, max_delay=300.0, jitter=0.5) if base else None


service = JobService(queue="default", retry_policy=_policy())


@service.handler()
async def work(ms: float = 50, fail: bool = False, later_ms: float | None = None) -> dict[str, Any]:
    """Sleeps `ms` milliseconds (`later_ms` from attempt 2 on) without blocking the loop,
    then returns, or raises with `fail`."""
    ledger("start")
    if later_ms is not None and current_job().attempt > 1:
        ms = later_ms
    await asyncio.sleep(ms / 1000)
    ledger("done")
    if fail:
        raise RuntimeError(f"attempt {current_job().attempt} fails")
    return {"attempt": current_job().attempt, "pid": os.getpid()}


@service.handler()
async def probe(ms: float = 10) -> None:
    """Like `work`, and records how many `probe` handlers run at once in this process."""
    global _running
    _running += 1
    try:
        ledger("start", _running)
        await asyncio.sleep(ms / 1000)
        ledger("done")
    finally:
        _running -= 1


@service.handler()
async def fail() -> None:
    ledger("start")
    raise RuntimeError(f"attempt {current_job().attempt} fails on purpose")


@service.handler()
async def block(seconds: float, run_ms: float = 0, then_fail: bool = False) -> dict[str, Any]:
    """Attempt 1 blocks the event loop for `seconds` (no heartbeat can be sent); later
    attempts sleep `run_ms`. Returns (or raises) naming the attempt."""
    ledger("start")
    attempt = current_job().attempt
    if attempt == 1:
        time.sleep(seconds)  # noqa: ASYNC251 - blocking the event loop is the point
    else:
        await asyncio.sleep(run_ms / 1000)
    ledger("done")
    if then_fail:
        raise RuntimeError(f"attempt {attempt} fails")
    return {"attempt": attempt, "pid": os.getpid()}


@service.handler()
def crash(mode: str = "exit") -> None:
    """Takes its whole worker process down, every time."""
    ledger("start")
    if mode == "exit":
        os._exit(1)
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)


@service.handler()
async def wait_cancel(seconds: float = 60) -> None:
    """Sleeps on the event loop; records when cancellation reaches it."""
    ledger("start")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        ledger("cancelled")
        raise
    ledger("done")


@service.handler()
def wait_cancel_sync(seconds: float = 60) -> str:
    """A plain function on a worker thread: polls `cancelled` as a sync handler must."""
    ledger("start")
    ctx = current_job()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ctx.cancelled:
            ledger("cancelled")
            return "stopped"
        time.sleep(0.005)
    ledger("done")
    return "finished"


@service.handler()
async def child(ms: float = 20) -> dict[str, Any]:
    """(workflows) A job with parents: records how many of its parents had completed when it
    started (all of them, or it was released early) and how many it has."""
    ctx = current_job()
    ledger("start", len(ctx.parent_results()), len(ctx.job.parents))
    await asyncio.sleep(ms / 1000)
    ledger("done")
    return {"attempt": ctx.attempt, "parents": len(ctx.job.parents)}


@service.handler()
async def resize(ms: float = 20) -> None:
    """A handler only the new version of the application has (the rolling-deploy scenario:
    `old` below is the version before it)."""
    ledger("start")
    await asyncio.sleep(ms / 1000)
    ledger("done")


# The application as it was before `resize` was added: the same queue, every other handler.
old = JobService(queue="default", retry_policy=_policy())
for _name, _func in service.handlers.items():
    if _name != "resize":
        old.register_handler(_name, _func)
