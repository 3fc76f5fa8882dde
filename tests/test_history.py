"""`JobService.get_history` and the per-name counts of `get_metrics`, over both engines; and
that the long history's keys in Redis expire (a day of minutes, 30 days of hours)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.keys import key_prefix

from .waiting import finished

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest, prefix: str) -> Iterator[str]:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(url, prefix=prefix) as service:

        @service.handler()
        async def ok() -> int:
            return 1

        @service.handler()
        async def bad() -> None:
            raise RuntimeError("no")

        yield service


async def test_a_day_of_minutes_and_a_month_of_hours(service: JobService) -> None:
    ids = await service.submit_jobs([{"name": "ok"}] * 4 + [{"name": "bad"}] * 2)
    await service.start_workers(2)
    for job_id in ids:
        await finished(service, job_id)
    day = await service.get_history()
    assert (day.step, day.count) == (60, 1440)
    assert day.start == (int(time.time()) // 60 - 1439) * 60
    # the jobs ran within a minute or two (the test may straddle a minute's end)
    assert (sum(day.submitted), sum(day.completed), sum(day.failed)) == (6, 4, 2)
    assert sum(day.submitted[:-2]) == 0
    month = await service.get_history("hour")
    assert (month.step, month.count, sum(month.completed)) == (3600, 720, 4)
    hour = await service.get_history("minute", 60)
    assert hour.count == 60 and sum(hour.failed) == 2
    by_name = (await service.get_metrics(1)).by_name
    assert by_name == {"bad": {"completed": 0, "failed": 2}, "ok": {"completed": 4, "failed": 0}}


@pytest.mark.parametrize(
    ("step", "count", "field"),
    [
        ("second", None, "step"),
        ("minute", 1441, "count"),
        ("hour", 721, "count"),
        ("hour", 0, "count"),
    ],
)
async def test_bad_history_arguments_name_the_field(
    service: JobService, step: str, count: int | None, field: str
) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        await service.get_history(step, count)


async def test_the_long_history_expires_in_redis(redis_url: str, prefix: str) -> None:
    async with JobService(redis_url, prefix=prefix) as service:
        await service.submit_job("x")
        client = service.backend.client  # type: ignore[attr-defined]
        p = key_prefix(prefix, "default")
        minutes = [k async for k in client.scan_iter(match=p + "hm:*")]
        hours = [k async for k in client.scan_iter(match=p + "hh:*")]
        assert len(minutes) == len(hours) == 1  # submitted only
        assert 24 * 3600 < await client.ttl(minutes[0]) <= 25 * 3600
        assert 30 * 86400 < await client.ttl(hours[0]) <= 31 * 86400
