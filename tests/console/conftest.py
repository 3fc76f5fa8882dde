"""Fixtures for the console tests: a service on the shared test Redis (own key prefix),
a running console under `App.run_test()`, and polling helpers."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from textual.pilot import Pilot

from jobdeck.console.app import JobdeckApp
from jobdeck.core import JobService, RetryPolicy, WorkerSettings

from .app_tasks import register

# Times in the pictures are local times: pin the zone so snapshots match anywhere.
os.environ["TZ"] = "UTC"
time.tzset()

FAST_WORKERS = WorkerSettings(
    lease=5.0, heartbeat_interval=0.5, idle_wait=0.2, progress_interval=0.05, shutdown_timeout=1.0
)
FAST_RETRY = RetryPolicy(base=0.05, factor=1.0, max_delay=0.05, jitter=0.0)


def make_service(url: str, prefix: str) -> JobService:
    return register(
        JobService(
            url=url,
            queue="q",
            prefix=prefix,
            worker_settings=FAST_WORKERS,
            retry_policy=FAST_RETRY,
        )
    )


@pytest.fixture
async def service(redis_url: str, prefix: str) -> AsyncIterator[JobService]:
    svc = make_service(redis_url, prefix)
    await svc.initialize()
    yield svc
    await svc.close()


@dataclass
class Console:
    app: JobdeckApp
    pilot: Pilot[int]
    notes: list[str] = field(default_factory=list)

    async def until(self, check: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
        return await until(self.pilot, check, timeout, what)

    def ids(self, tab: str) -> list[str]:
        return [row.id for row in self.app.state.views[tab].rows]

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.pilot.pause()


async def until(
    pilot: Pilot[Any], check: Callable[[], Any], timeout: float = 5.0, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        await pilot.pause(0.02)


@contextlib.asynccontextmanager
async def open_console(
    service: Any, size: tuple[int, int] = (120, 34), **options: Any
) -> AsyncIterator[Console]:
    options.setdefault("reconcile_interval", 0.5)
    app = JobdeckApp(service, **options)
    notes: list[str] = []
    notify = app.notify

    def record(message: str, **kwargs: Any) -> None:
        notes.append(str(message))
        notify(message, **kwargs)

    app.notify = record  # type: ignore[method-assign]
    async with app.run_test(size=size) as pilot:
        console = Console(app, pilot, notes)
        await console.until(lambda: app.fetches >= 1, what="the first refresh")
        yield console
