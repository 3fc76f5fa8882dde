"""Huge values (issue 9, item 8): a console that shows a preview must not read 50 MB args
every second, and a 100 MB result must not stop the History tab from loading. Lists and the
detail read values only up to a cap (`max_field_bytes`) and name the rest with their sizes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jobdeck.console.app import JobdeckApp
from jobdeck.console.live.limits import ROW_FIELD_BYTES
from jobdeck.console.screens.detail import DetailScreen
from jobdeck.core import JobService
from jobdeck.core.backend.base import Finish, Outcome
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.codec import dumps

from .console.conftest import until

BIG = "x" * 3_000_000


@pytest.fixture(params=["memory", "redis"])
async def service(request, prefix: str) -> AsyncIterator[JobService]:
    url = "memory://big" if request.param == "memory" else request.getfixturevalue("redis_url")
    svc = JobService(url, queue="big", prefix=prefix)
    await svc.initialize()
    yield svc
    await svc.close()
    if request.param == "memory":
        MemoryBackend.forget(f"big/{prefix}/big")


async def _finished_with_big_result(service: JobService) -> str:
    job_id = await service.submit_job("export", args=["small"])
    token = (await service.backend.claim("w1", 1, 60.0)).jobs[0].token
    done = Finish(job_id, token, Outcome.COMPLETED, dumps({"rows": BIG}), event_data=b"{}")
    await service.backend.finish("w1", [done])
    return job_id


async def test_lists_and_gets_leave_big_values_on_the_server(service: JobService) -> None:
    finished = await _finished_with_big_result(service)
    [job] = await service.list_jobs("completed", max_field_bytes=4096)
    assert job.id == finished and job.result is None and "result" in job.omitted

    big_args = await service.submit_job("resize", args=[BIG], kwargs={"w": 640})
    small = await service.submit_job("resize", args=["a.png"])
    pending = await service.list_jobs("pending", max_field_bytes=4096)
    by_id = {job.id: job for job in pending}
    assert by_id[big_args].args == () and by_id[big_args].kwargs == {"w": 640}
    assert by_id[big_args].omitted == {"args": len(BIG) + 4}  # the JSON: ["x...x"]
    assert by_id[small].args == ("a.png",) and by_id[small].omitted == {}
    # Without a cap, everything (as before).
    full = await service.get_job(big_args)
    assert full is not None and full.args == (BIG,) and full.omitted == {}
    capped = await service.get_job(big_args, max_field_bytes=1 << 20)
    assert capped is not None and capped.name == "resize" and "args" in capped.omitted
    assert await service.get_job("no-such-job", max_field_bytes=10) is None
    with pytest.raises(ValueError, match="max_field_bytes"):
        await service.list_jobs("pending", max_field_bytes=0)
    # A search that matches the big job returns it capped too (the filter of a tab).
    page = await service.search_jobs("resize", ["pending"], max_field_bytes=4096)
    found = {job.id: job for job in page.jobs}
    assert found[big_args].args == () and "args" in found[big_args].omitted
    exact = await service.search_jobs(big_args, max_field_bytes=4096)
    assert exact.jobs[0].id == big_args and "args" in exact.jobs[0].omitted


async def test_the_console_shows_sizes_instead_of_reading_huge_values() -> None:
    service = JobService("memory://big-console", queue="big")
    async with service:
        finished = await _finished_with_big_result(service)
        await service.submit_job("resize", args=[BIG])
        app = JobdeckApp(service, reconcile_interval=0.3)
        async with app.run_test(size=(120, 34)) as pilot:
            await until(pilot, lambda: app.fetches >= 1, what="the first refresh")
            await until(pilot, lambda: app.state.views["pending"].rows, what="pending rows")
            rows = app.state.views["pending"].rows
            assert rows[0].preview.startswith("(args: 2.9 MB, not loaded)"), rows[0].preview
            await pilot.press("5")
            await until(pilot, lambda: app.state.views["history"].rows, what="history rows")
            row = app.state.views["history"].rows[0]
            assert row.preview == "(result: 2.9 MB, not loaded)"
            app.open_detail(finished)
            await until(pilot, lambda: getattr(app.screen, "job", None) is not None)
            assert isinstance(app.screen, DetailScreen)
            assert "result" in app.screen.job.omitted
    MemoryBackend.forget("big-console/jobdeck/big")
    assert len(BIG) > ROW_FIELD_BYTES
