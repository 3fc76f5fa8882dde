"""Retries the handler decides: `raise Retry(delay=...)`, `raise Fail(reason)`, and per handler
`retry=`, `retry_on=`, `dont_retry_on=` (issue 23, section 2), on both engines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

import jobdeck.core
from jobdeck.core import (
    Events,
    Fail,
    JobFailed,
    JobService,
    Retry,
    RetryPolicy,
    RetryRules,
    WorkerSettings,
)
from jobdeck.core.backend.memory import MemoryBackend

pytestmark = pytest.mark.timeout(30)

FAST = WorkerSettings(lease=5.0, heartbeat_interval=0.5)
#: The service's own backoff is a minute: a retry that comes sooner was timed by the handler
#: (`Retry(delay=)`) or by its own `retry=` policy.
SLOW_POLICY = RetryPolicy(base=60.0, factor=1.0, jitter=0.0)
QUICK_POLICY = RetryPolicy(base=0.02, factor=1.0, jitter=0.0)


@pytest.fixture(params=["memory", "redis"])
async def service(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[JobService]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else f"memory://{prefix}"
    async with JobService(
        url, "rd", prefix, worker_settings=FAST, retry_policy=SLOW_POLICY
    ) as service:
        yield service
    MemoryBackend.forget(f"{prefix}/{prefix}/rd")


async def _failure(service: JobService, job_id: str) -> JobFailed:
    with pytest.raises(JobFailed) as caught:
        await service.result(job_id, timeout=10)
    return caught.value


async def _failed_events(service: JobService, job_id: str) -> list[dict[str, Any]]:
    page = await service.job_events(job_id)
    return [e.data for e in page.events if e.type == Events.JOB_FAILED]


async def test_retry_runs_the_job_again_after_its_own_delay(service: JobService) -> None:
    starts: list[float] = []

    @service.handler()
    async def flaky() -> str:
        starts.append(time.monotonic())
        if len(starts) == 1:
            raise Retry(delay=0.3, reason="rate limited")
        return "done"

    await service.start_workers(1)
    job_id = await service.submit_job("flaky", max_retries=2)
    assert await service.result(job_id, timeout=10) == "done"
    assert starts[1] - starts[0] >= 0.3  # not sooner than asked, nor the policy's minute
    job = await service.get_job(job_id)
    assert job is not None and job.attempts == 2  # the retry used an attempt
    [first] = await _failed_events(service, job_id)
    assert first["will_retry"] is True and first["retry_in"] == 0.3
    assert first["error_type"] == "Retry" and first["error"] == "retry in 0.3s: rate limited"


async def test_retry_without_a_delay_takes_the_handlers_policy(service: JobService) -> None:
    calls = 0

    async def once_more() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Retry()
        return calls

    service.register_handler("once_more", once_more, retry=QUICK_POLICY)
    await service.start_workers(1)
    job_id = await service.submit_job("once_more", max_retries=1)
    assert await service.result(job_id, timeout=10) == 2
    [first] = await _failed_events(service, job_id)
    assert first["retry_in"] == 0.02


async def test_retry_counts_against_max_retries_and_then_dead_letters(
    service: JobService,
) -> None:
    calls = 0

    @service.handler()
    async def never_ready() -> None:
        nonlocal calls
        calls += 1
        raise Retry(delay=timedelta(milliseconds=10))

    await service.start_workers(1)
    job_id = await service.submit_job("never_ready", max_retries=2)
    failed = await _failure(service, job_id)
    assert calls == 3
    assert failed.error_type == "Retry"
    assert failed.message == "retry in 0.01s; no retries left (max_retries 2)"
    job = await service.get_job(job_id)
    assert job is not None and job.status == "failed" and job.attempts == 3


async def test_fail_dead_letters_at_once_whatever_retries_are_left(service: JobService) -> None:
    calls = 0

    @service.handler()
    async def charge(card: str) -> None:
        nonlocal calls
        calls += 1
        try:
            int(card)
        except ValueError as exc:
            raise Fail() from exc

    @service.handler()
    def refuse() -> None:  # a plain function, on a thread: the same
        raise Fail("the account is closed")

    await service.start_workers(2)
    failed = await _failure(service, await service.submit_job("charge", ["x"], max_retries=5))
    assert calls == 1
    assert failed.error_type == "Fail"
    assert failed.message == "ValueError: invalid literal for int() with base 10: 'x'"
    job_id = await service.submit_job("refuse", max_retries=5)
    failed = await _failure(service, job_id)
    assert (failed.error_type, failed.message) == ("Fail", "the account is closed")
    [event] = await _failed_events(service, job_id)
    assert event["will_retry"] is False and event["not_retried"] == "Fail"


class Declined(ValueError):
    pass


@pytest.mark.parametrize(
    ("rules", "errors", "attempts"),
    [
        # retry_on: only those (subclasses included) are retried
        ({"retry_on": ConnectionError}, [ConnectionRefusedError, ValueError], 2),
        ({"retry_on": (KeyError, ConnectionError)}, [KeyError, ConnectionResetError, None], 3),
        # dont_retry_on: those are not, whatever retries are left; others are
        ({"dont_retry_on": [ValueError]}, [RuntimeError, Declined], 2),
        ({"dont_retry_on": ValueError}, [RuntimeError, RuntimeError, None], 3),
        # both: dont_retry_on wins where both match
        (
            {"retry_on": OSError, "dont_retry_on": FileNotFoundError},
            [OSError, FileNotFoundError],
            2,
        ),
    ],
)
async def test_retry_on_and_dont_retry_on_match_by_class(
    service: JobService,
    rules: dict[str, Any],
    errors: list[type[Exception] | None],
    attempts: int,
) -> None:
    plan = iter(errors)

    async def work() -> str:
        error = next(plan)
        if error is not None:
            raise error("boom")
        return "ok"

    service.register_handler("work", work, retry=QUICK_POLICY, **rules)
    await service.start_workers(1)
    job_id = await service.submit_job("work", max_retries=5)
    if errors[-1] is None:
        assert await service.result(job_id, timeout=10) == "ok"
    else:
        failed = await _failure(service, job_id)
        assert failed.error_type == errors[-1].__name__
        [*_, last] = await _failed_events(service, job_id)
        assert last["will_retry"] is False
        assert last["not_retried"] in ("retry_on", "dont_retry_on")
    job = await service.get_job(job_id)
    assert job is not None and job.attempts == attempts


@pytest.mark.parametrize(("rule", "attempts"), [("retry_on", 2), ("dont_retry_on", 1)])
async def test_a_timeout_counts_as_a_timeout_error(
    service: JobService, rule: str, attempts: int
) -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    service.register_handler("slow", slow, retry=QUICK_POLICY, **{rule: TimeoutError})
    await service.start_workers(1)
    job_id = await service.submit_job("slow", max_retries=1, timeout=0.05)
    failed = await _failure(service, job_id)
    assert failed.error_type == "Timeout"
    job = await service.get_job(job_id)
    assert job is not None and job.attempts == attempts


async def test_the_default_is_unchanged_every_error_is_retried(service: JobService) -> None:
    calls = 0

    @service.handler()
    async def breaks() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("x")

    service.retry_policy = QUICK_POLICY  # read when the workers start
    await service.start_workers(1)
    failed = await _failure(service, await service.submit_job("breaks", max_retries=2))
    assert calls == 3 and failed.error_type == "KeyError"


async def test_a_retry_with_a_bad_delay_fails_the_attempt_naming_the_field(
    service: JobService,
) -> None:
    @service.handler()
    async def wrong() -> None:
        raise Retry(delay=-1)

    await service.start_workers(1)
    failed = await _failure(service, await service.submit_job("wrong"))
    assert failed.error_type == "ValueError"
    assert failed.message == "Retry: delay: must be >= 0 seconds, got -1"


@pytest.mark.parametrize(
    ("delay", "error", "message"),
    [
        (-0.5, ValueError, "Retry: delay: must be >= 0 seconds, got -0.5"),
        (float("nan"), ValueError, "Retry: delay: must be >= 0 seconds, got nan"),
        (timedelta(seconds=-1), ValueError, "Retry: delay: must be >= 0 seconds, got -1.0"),
        (1e12, ValueError, "Retry: delay: at most 315360000 seconds (10 years), got 1e+12"),
        ("30", TypeError, "Retry: delay: expected seconds or a timedelta, got '30'"),
        (True, TypeError, "Retry: delay: expected seconds or a timedelta, got True"),
    ],
)
def test_a_bad_retry_delay_is_refused_naming_it(
    delay: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        Retry(delay=delay)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retry_on": "ValueError"}, "retry_on: expected exception classes, got 'ValueError'"),
        ({"retry_on": [ValueError, 3]}, "retry_on: expected exception classes, got 3"),
        ({"dont_retry_on": int}, "dont_retry_on: expected exception classes, got <class 'int'>"),
        ({"retry": 3}, "retry: expected a RetryPolicy, got int"),
    ],
)
def test_bad_rules_are_refused_when_the_handler_is_registered(
    options: dict[str, Any], message: str
) -> None:
    service = JobService("memory://rules-refused")
    with pytest.raises(TypeError) as caught:
        service.register_handler("h", lambda: None, **options)
    assert str(caught.value) == message
    assert "h" not in service.handlers and not service.retry_rules


def test_rules_are_kept_per_handler_and_shared_with_sibling_queues() -> None:
    service = JobService("memory://rules-kept")
    service.register_handler("a", lambda: None, retry_on=(KeyError,))
    service.register_handler("b", lambda: None)
    assert service.retry_rules == {"a": RetryRules(None, (KeyError,), ())}
    assert service.for_queue("other").retry_rules is service.retry_rules
    service.register_handler("a", lambda: None)  # registered again without rules: none
    assert service.retry_rules == {}


def test_retry_and_fail_are_importable_from_the_core() -> None:
    assert {"Retry", "Fail", "RetryRules"} <= set(jobdeck.core.__all__)
    assert jobdeck.core.Retry is Retry and jobdeck.core.Fail is Fail
