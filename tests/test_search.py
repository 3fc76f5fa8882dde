"""`JobService.search_jobs`: bounded steps with a cursor, on both engines."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jobdeck.core import JobService, JobStatus


@pytest.fixture(params=["memory", "redis"])
async def service(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[JobService]:
    memory = f"memory://{prefix}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else memory
    svc = JobService(url, queue="s", prefix=prefix)
    await svc.initialize()
    await svc.pause_queue()
    yield svc
    await svc.close()


async def everything(service: JobService, text: str, budget: int, **kw) -> tuple[list[str], int]:
    ids, cursor, steps = [], None, 0
    while True:
        page = await service.search_jobs(text, cursor=cursor, budget=budget, **kw)
        assert page.scanned <= budget
        ids += [job.id for job in page.jobs]
        steps += 1
        if page.done:
            return ids, steps
        cursor = page.cursor


async def test_by_name_args_error_and_id_prefix(service: JobService) -> None:
    plain = await service.submit_jobs([{"name": "resize", "args": [n]} for n in range(30)])
    mail = await service.submit_job("send_email", ["Alice@Example.com"])
    later = await service.submit_job("report", kwargs={"region": "north"}, delay=60)
    ids, steps = await everything(service, "EXAMPLE.COM", budget=7)
    assert ids == [mail] and steps >= 4  # 32 records, 7 at a time
    assert (await everything(service, "north", budget=100))[0] == [later]
    assert (await everything(service, "resize", budget=100))[0] == plain
    odd = await service.submit_job("sale", ["50% off (a+b) [x]"])
    assert (await everything(service, "50% OFF (A+B) [", budget=100))[0] == [odd]
    first = await service.search_jobs(plain[3][:8], budget=100)
    assert plain[3] in [job.id for job in first.jobs]
    await service.cancel_job(plain[0])
    page = await service.search_jobs("resize", [JobStatus.CANCELLED], budget=100)
    assert [job.id for job in page.jobs] == [plain[0]] and page.done


async def test_a_step_stops_at_its_limit_and_resumes(service: JobService) -> None:
    ids = await service.submit_jobs([{"name": "same"}] * 25)
    page = await service.search_jobs("same", limit=10, budget=1000)
    assert [job.id for job in page.jobs] == ids[:10] and not page.done
    rest, _ = await everything(service, "same", budget=1000, limit=10)
    assert rest == ids


async def test_an_exact_id_comes_first_whatever_the_budget(service: JobService) -> None:
    ids = await service.submit_jobs([{"name": "n"}] * 20)
    page = await service.search_jobs(ids[-1], budget=1)
    assert page.jobs[0].id == ids[-1]


async def test_bad_arguments_name_the_field(service: JobService) -> None:
    for kwargs, field in (
        ({"text": ""}, "text"),
        ({"text": "x", "budget": 0}, "budget"),
        ({"text": "x", "cursor": "nope"}, "cursor"),
        ({"text": "x", "statuses": ["nope"]}, "nope"),
    ):
        with pytest.raises(ValueError, match=field):
            await service.search_jobs(**kwargs)
