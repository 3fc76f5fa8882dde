"""Handlers for the console tests: in-process (`register`) or in a `jobdeck worker`
subprocess (`tests.console.app_tasks:service`)."""

from __future__ import annotations

import asyncio

from jobdeck.core import JobService, current_job

_failed_once: set[str] = set()


def register(service: JobService) -> JobService:
    @service.handler()
    async def quick(value: object = None) -> object:
        return value

    @service.handler()
    async def hold(seconds: float = 30.0) -> str:
        """Runs for `seconds`, reporting progress, unless cancelled first."""
        steps = max(1, int(seconds * 20))
        for step in range(steps):
            current_job().report_progress(step / steps, f"holding {step}/{steps}")
            await asyncio.sleep(seconds / steps)
        return "held"

    @service.handler()
    async def boom(reason: str = "boom", **context: object) -> None:
        raise ValueError(f"it went {reason}")

    @service.handler()
    async def fail_once(tag: str = "") -> str:
        """Fails on its first attempt in this process, succeeds when retried."""
        job_id = current_job().job_id
        if job_id not in _failed_once:
            _failed_once.add(job_id)
            raise RuntimeError(f"first attempt of {tag or job_id} fails")
        return "second time lucky"

    return service


service = register(JobService(queue="q"))
