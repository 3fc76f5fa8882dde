"""`jobdeck demo`: a queue that is never quiet, to try the console with nothing installed.

The demo queue runs on the embedded memory backend (or any URL given). Its handlers cover
what an operator meets: quick jobs, long ones that report progress, flaky ones that retry,
broken ones that land in the dead-letter queue with a traceback, several priorities, and
delayed jobs. A second, simulated worker process shares the queue, so the Workers tab has
two rows to scale.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable

from jobdeck.core import JobService, RetryPolicy, WorkerSettings, current_job

__all__ = ["demo_service", "start_demo"]

_SETTINGS = WorkerSettings(lease=10.0, heartbeat_interval=1.0, shutdown_timeout=2.0)
_RETRY = RetryPolicy(base=1.0, factor=2.0, max_delay=10.0)
_MAX_BACKLOG = 400


def demo_service(url: str = "memory://demo") -> JobService:
    service = JobService(url, queue="demo", retry_policy=_RETRY, worker_settings=_SETTINGS)
    register_handlers(service)
    return service


def register_handlers(service: JobService) -> None:
    @service.handler()
    async def send_email(to: str, template: str = "welcome") -> dict[str, str]:
        await asyncio.sleep(random.uniform(0.05, 0.4))
        return {"to": to, "status": "sent"}

    @service.handler()
    async def resize_image(path: str, sizes: int = 4) -> list[str]:
        steps = sizes * 5
        for step in range(steps):
            await asyncio.sleep(random.uniform(0.1, 0.4))
            current_job().report_progress((step + 1) / steps, f"size {step // 5 + 1}/{sizes}")
        return [f"{path}@{n}x" for n in range(1, sizes + 1)]

    @service.handler()
    async def build_report(month: str) -> dict[str, object]:
        pages = random.randint(20, 60)
        for page in range(pages):
            await asyncio.sleep(random.uniform(0.1, 0.3))
            current_job().report_progress((page + 1) / pages, f"page {page + 1} of {pages}")
        return {"month": month, "pages": pages}

    @service.handler()
    async def charge_card(order: int, amount: float) -> str:
        await asyncio.sleep(random.uniform(0.1, 0.6))
        if random.random() < 0.35:
            raise RuntimeError(f"payment gateway timeout for order {order}")
        return f"charged {amount:.2f}"

    @service.handler()
    async def sync_inventory(store: str) -> None:
        await asyncio.sleep(random.uniform(0.2, 1.0))
        _connect_to_warehouse(store)

    @service.handler()
    def crunch(n: int = 300_000) -> int:
        return sum(i * i for i in range(n))

    @service.handler()
    async def send_reminder(user: int) -> str:
        await asyncio.sleep(0.1)
        return f"reminded {user}"


def _connect_to_warehouse(store: str) -> None:
    raise ConnectionRefusedError(f"warehouse API for {store!r} refused the connection")


def _one_job() -> dict[str, object]:
    """A random demo job as `submit_jobs` takes it."""
    kind = random.choices(
        ("email", "image", "report", "charge", "inventory", "crunch", "reminder"),
        weights=(40, 10, 3, 12, 2, 10, 8),
    )[0]
    n = random.randint(1000, 9999)
    if kind == "email":
        return {
            "name": "send_email",
            "args": [f"user{n}@example.com"],
            "priority": random.choice(["low", "normal", "normal", "high"]),
        }
    if kind == "image":
        return {"name": "resize_image", "args": [f"uploads/img_{n}.png"], "kwargs": {"sizes": 3}}
    if kind == "report":
        month = f"2025-{random.randint(1, 12):02d}"
        return {"name": "build_report", "args": [month], "priority": "low"}
    if kind == "charge":
        return {
            "name": "charge_card",
            "args": [n, round(random.uniform(5, 500), 2)],
            "priority": "critical",
            "max_retries": 1,
        }
    if kind == "inventory":
        return {"name": "sync_inventory", "args": [f"store-{n % 7}"], "max_retries": 0}
    if kind == "crunch":
        return {"name": "crunch", "kwargs": {"n": random.randint(50_000, 300_000)}}
    return {
        "name": "send_reminder",
        "args": [n],
        "delay": random.uniform(5, 40),
        "priority": "high",
    }


async def _produce(service: JobService) -> None:
    await service.submit_jobs([_one_job() for _ in range(30)])
    tick = 0
    while True:
        await asyncio.sleep(random.uniform(0.2, 0.6))
        tick += 1
        metrics = await service.get_metrics(window=1)
        if metrics.depths.get("pending", 0) > _MAX_BACKLOG:
            continue
        jobs = [_one_job() for _ in range(random.randint(1, 2))]
        if tick % 60 == 0:  # now and then a burst of low-priority mail
            jobs += [
                {"name": "send_email", "args": [f"news{i}@example.com"], "priority": "low"}
                for i in range(25)
            ]
        await service.submit_jobs(jobs)


async def start_demo(service: JobService) -> Callable[[], Awaitable[None]]:
    """Start the producer and a simulated second worker; returns how to stop them."""
    remote = JobService(
        service.url, queue=service.queue, retry_policy=_RETRY, worker_settings=_SETTINGS
    )
    remote.handlers.update(service.handlers)
    await remote.start_workers(2, worker_id="demo-remote-worker")
    producer = asyncio.get_running_loop().create_task(_produce(service), name="demo-producer")

    async def stop() -> None:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await producer
        with contextlib.suppress(Exception):
            await remote.stop_workers(graceful=False)
            await remote.close()

    return stop
