"""Limits, groups and routing as `JobService` offers them (issues 22, 24): bad input is one
error naming the field with nothing written; a handler's default limit; the warning for a
name no live worker serves, once per name, from a cached view."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobdeck.core import JobService, JobSpec
from jobdeck.core.limits import Limit


@pytest.fixture
async def service() -> AsyncIterator[JobService]:
    async with JobService(f"memory://flow-{uuid.uuid4().hex[:8]}") as svc:
        yield svc


@pytest.mark.parametrize(
    ("key", "options", "message"),
    [
        ("k", {}, "^concurrency: give concurrency, rate or both"),
        ("k", {"concurrency": -1}, "^concurrency: 0-1000000"),
        ("k", {"concurrency": 10**7}, "^concurrency: 0-1000000"),
        ("k", {"concurrency": True}, "^concurrency: expected an int"),
        ("k", {"concurrency": 1.5}, "^concurrency: expected an int"),
        ("k", {"rate": 0}, "^rate: 1-100000"),
        ("k", {"rate": -3}, "^rate: 1-100000"),
        ("k", {"rate": 10**9}, "^rate: 1-100000"),
        ("k", {"rate": 2.5}, "^rate: expected an int"),
        ("k", {"rate": 5, "per": 0}, "^per: 0.001-86400"),
        ("k", {"rate": 5, "per": float("nan")}, "^per: 0.001-86400"),
        ("k", {"rate": 5, "per": float("inf")}, "^per: 0.001-86400"),
        ("k", {"rate": 5, "per": 10**6}, "^per: 0.001-86400"),
        ("k", {"rate": 5, "per": "1"}, "^per: expected a number"),
        ("k", {"concurrency": 1, "per": 2.0}, "^per: only with rate"),
        ("", {"concurrency": 1}, "^key: 1-128 characters"),
        ("a b", {"concurrency": 1}, "^key: 1-128 characters"),
        ("x" * 129, {"concurrency": 1}, "^key: 1-128 characters"),
        ("k\n", {"concurrency": 1}, "^key: 1-128 characters"),
        ("user*", {"concurrency": 1}, "^key: a template is a prefix ending in ':'"),
        ("us*er:*", {"concurrency": 1}, "^key: a template is a prefix ending in ':'"),
        ("user:*:*", {"concurrency": 1}, "^key: a template is a prefix ending in ':'"),
        (5, {"concurrency": 1}, "^key: expected str"),
    ],
)
async def test_bad_limits_name_the_field_and_write_nothing(
    service: JobService, key: Any, options: dict[str, Any], message: str
) -> None:
    start = await service.last_event_id()
    with pytest.raises((ValueError, TypeError), match=message):
        await service.set_limit(key, **options)
    assert await service.list_limits() == []
    assert await service.event_log(start) == []


async def test_set_replaces_and_remove_says_whether_there_was_one(service: JobService) -> None:
    assert await service.set_limit("stripe", concurrency=5, rate=100) == Limit(
        "stripe", 5, 100, 1.0
    )
    assert await service.set_limit("stripe", rate=10, per=60) == Limit("stripe", None, 10, 60.0)
    await service.set_limit("*", concurrency=0)
    assert [lim.key for lim in await service.list_limits()] == ["*", "stripe"]
    assert await service.remove_limit("stripe") is True
    assert await service.remove_limit("stripe") is False
    with pytest.raises(ValueError, match=r"^key"):
        await service.remove_limit("a b")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limit": "a b"}, "^limit: 1-128 characters"),
        ({"limit": "user:*"}, "^limit: 1-128 characters"),
        ({"limit": ""}, "^limit: 1-128 characters"),
        ({"limit": 42}, "^limit: expected str"),
        ({"group": "x" * 129}, "^group: 1-128 characters"),
        ({"group": "tenant 42"}, "^group: 1-128 characters"),
    ],
)
async def test_a_bad_limit_or_group_on_a_job_names_the_field(
    service: JobService, options: dict[str, Any], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        await service.submit_job("work", **options)
    with pytest.raises((ValueError, TypeError), match="^job 1: " + message[1:]):
        await service.submit_jobs([JobSpec("work"), JobSpec("work", **options)])
    assert (await service.get_metrics()).depths["pending"] == 0


async def test_limit_and_group_are_stored_only_when_given(service: JobService) -> None:
    plain = await service.submit_job("work")
    flowing = await service.submit_job("work", limit="user:42", group="tenant-42")
    job = await service.get_job(plain)
    assert job is not None and (job.limit, job.group, job.throttled) == (None, None, None)
    fields = await service.backend.get(plain)
    assert fields is not None and not {"limit", "group"} & {str(k) for k in fields}
    job = await service.get_job(flowing)
    assert job is not None and (job.limit, job.group) == ("user:42", "tenant-42")


async def test_a_handler_names_the_limit_its_jobs_are_under(service: JobService) -> None:
    @service.handler(limit="stripe")
    async def charge() -> None: ...

    own = await service.submit_job("charge")
    other = await service.submit_job("charge", limit="paypal")
    [bulk] = await service.submit_jobs([JobSpec("charge")])
    limits = [(await service.get_job(i)).limit for i in (own, other, bulk)]  # type: ignore[union-attr]
    assert limits == ["stripe", "paypal", "stripe"]
    with pytest.raises(ValueError, match=r"^limit"):
        service.register_handler("bad", charge, limit="a b")


async def test_a_name_no_live_worker_serves_warns_once_without_a_round_trip_per_submit(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with JobService(redis_url, queue="flow", prefix=prefix) as svc:
        reads = 0
        real = svc.backend.list_workers

        async def counted() -> Any:
            nonlocal reads
            reads += 1
            return await real()

        svc.backend.list_workers = counted  # type: ignore[method-assign]
        with caplog.at_level(logging.WARNING, logger="jobdeck"):
            for _ in range(50):
                await svc.submit_job("resize")
            await svc.submit_jobs([JobSpec("mail")] * 10 + [JobSpec("resize")])
            await asyncio.sleep(1.2)  # the view is read again at most once a second
            await svc.submit_job("mail")
            await asyncio.sleep(0.1)
        warned = [r.getMessage() for r in caplog.records if "no live worker" in r.getMessage()]
        assert len(warned) == 2, warned
        assert {"resize", "mail"} == {
            name for name in ("resize", "mail") for w in warned if f"'{name}'" in w
        }
        assert reads <= 3  # 62 submits, a view read at most once a second
