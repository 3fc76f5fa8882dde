"""The demo's jobs do what the demo promises (quick mail, images and reports with progress,
cards that may fail and retry, an inventory sync that always fails, crunching, delayed
reminders), with the randomness pinned so the test is quick and certain."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from jobdeck.console import demo
from jobdeck.core import JobService, JobStatus
from jobdeck.core.backend.memory import MemoryBackend

from ..waiting import eventually

KINDS = ("email", "image", "report", "charge", "inventory", "crunch", "reminder")


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda a, b: a)
    monkeypatch.setattr(random, "randint", lambda a, b: a)
    monkeypatch.setattr(random, "random", lambda: 0.99)  # the card is charged


@pytest.fixture
async def service(prefix: str, pinned: None) -> AsyncIterator[JobService]:
    svc = demo.demo_service(f"memory://{prefix}")
    async with svc:
        yield svc
    MemoryBackend.forget(f"{prefix}/{prefix}/demo")


def test_one_job_of_each_kind(monkeypatch: pytest.MonkeyPatch, pinned: None) -> None:
    names = []
    for kind in KINDS:
        monkeypatch.setattr(random, "choices", lambda population, weights, k=kind: [k])
        names.append(demo._one_job()["name"])
    assert names == [
        "send_email",
        "resize_image",
        "build_report",
        "charge_card",
        "sync_inventory",
        "crunch",
        "send_reminder",
    ]


@pytest.mark.slow
async def test_every_demo_job_runs_to_its_end(service: JobService) -> None:
    await service.start_workers(8)
    jobs = {
        "send_email": await service.submit_job("send_email", ["a@example.com"]),
        "resize_image": await service.submit_job("resize_image", ["img.png"], {"sizes": 1}),
        "build_report": await service.submit_job("build_report", ["2025-01"]),
        "charge_card": await service.submit_job("charge_card", [1, 9.5]),
        "sync_inventory": await service.submit_job("sync_inventory", ["store-1"]),
        "crunch": await service.submit_job("crunch", kwargs={"n": 1000}),
        "send_reminder": await service.submit_job("send_reminder", [7]),
    }

    async def all_ended() -> bool:
        found = [await service.get_job(job_id) for job_id in jobs.values()]
        return all(job is not None and job.status.is_terminal for job in found)

    await eventually(all_ended, 20.0, "every demo job to end")
    status = {name: (await service.get_job(job_id)) for name, job_id in jobs.items()}
    assert status["sync_inventory"].status == JobStatus.FAILED  # type: ignore[union-attr]
    assert "refused the connection" in status["sync_inventory"].error.message  # type: ignore[union-attr]
    for name in set(jobs) - {"sync_inventory"}:
        assert status[name].status == JobStatus.COMPLETED, name  # type: ignore[union-attr]
    assert status["resize_image"].result == ["img.png@1x"]  # type: ignore[union-attr]
    assert status["build_report"].result == {"month": "2025-01", "pages": 20}  # type: ignore[union-attr]
    assert status["crunch"].result == sum(i * i for i in range(1000))  # type: ignore[union-attr]
