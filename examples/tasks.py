"""A small application: `jobdeck worker examples.tasks:service --url redis://...`."""

from __future__ import annotations

import asyncio
import time

from jobdeck.core import JobService, current_job

service = JobService(queue="default")


@service.handler()
async def add(a: int, b: int) -> int:
    return a + b


@service.handler()
async def sleep(seconds: float = 1.0) -> str:
    """Sleeps in steps, reporting progress."""
    steps = max(1, int(seconds * 10))
    for step in range(steps):
        await asyncio.sleep(seconds / steps)
        current_job().report_progress((step + 1) / steps, f"step {step + 1} of {steps}")
    return "slept"


@service.handler()
def crunch(n: int = 200_000) -> int:
    """A plain function: it runs on a worker thread, never blocking the event loop."""
    total = 0
    for i in range(n):
        total += i * i
        if i % 50_000 == 0:
            current_job().report_progress(i / n, "crunching")
    time.sleep(0.01)
    return total


@service.handler()
def flaky(fail_until: int = 2) -> str:
    if current_job().attempt <= fail_until:
        raise RuntimeError(f"attempt {current_job().attempt} failed on purpose")
    return "finally"
