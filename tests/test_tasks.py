"""Typed tasks (issue 23, section 1): `@service.task(...)` on an async or plain function,
`await task.submit(...)` checked against its signature (by mypy, and at run time), a typed
`JobHandle` (`result`, `status`, `cancel`), `task.options(...)`, `queue=`, string names that
keep working, and the blocking twin through `SyncJobService.submit(task, ...)`."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jobdeck.core import (
    JobCancelled,
    JobHandle,
    JobNotFound,
    JobService,
    JobSpec,
    JobStatus,
    SyncJobService,
    Task,
    WorkerSettings,
)
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.retry import RetryRules

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent
FAST = WorkerSettings(lease=5.0, heartbeat_interval=0.5)


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest, prefix: str) -> Any:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    yield f"memory://{prefix}"
    for queue in ("t", "emails"):
        MemoryBackend.forget(f"{prefix}/{prefix}/{queue}")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(url, "t", prefix, worker_settings=FAST) as service:
        yield service


async def test_a_task_submits_and_its_handle_gives_the_result(service: JobService) -> None:
    @service.task(max_retries=2, timeout=30)
    async def resize(path: str, width: int = 100) -> str:
        return f"{path}@{width}"

    @service.task
    def count(words: list[str]) -> int:  # a plain function: runs on a thread
        return len(words)

    assert isinstance(resize, Task) and resize.name == "resize" and resize.queue == "t"
    assert service.handlers["resize"] is resize.func and service.handlers["count"] is count.func
    handle = await resize.submit("cat.png", width=640)
    assert isinstance(handle, JobHandle) and isinstance(handle.id, str)
    assert await handle.status() == JobStatus.PENDING
    job = await handle.get()
    assert (job.name, job.args, job.kwargs) == ("resize", ("cat.png",), {"width": 640})
    assert (job.max_retries, job.timeout) == (2, 30.0)
    await service.start_workers(2)
    assert await handle.result(timeout=10) == "cat.png@640"
    assert await handle.status() == JobStatus.COMPLETED
    assert await (await count.submit(["a", "b", "c"])).result(timeout=10) == 3
    # String names keep working: the same handler, by name.
    job_id = await service.submit_job("resize", ["dog.png"])
    assert await service.result(job_id, timeout=10) == "dog.png@100"
    # Calling the task calls the function here, not as a job.
    assert count(["x"]) == 1 and await resize("here.png") == "here.png@100"


async def test_cancel_through_the_handle(service: JobService) -> None:
    @service.task(delay=600)
    async def later() -> None:
        return None

    handle = await later.submit()
    assert await handle.status() == JobStatus.SCHEDULED
    assert await handle.cancel() is True
    assert await handle.status() == JobStatus.CANCELLED
    assert await handle.cancel() is False
    with pytest.raises(JobCancelled):
        await handle.result(timeout=1)
    gone = JobHandle(service, "no-such-job")
    with pytest.raises(JobNotFound):
        await gone.status()


async def test_options_give_a_task_with_other_defaults(service: JobService) -> None:
    @service.task(priority="low", max_retries=1, meta={"team": "a"})
    async def report(day: str) -> str:
        return day

    urgent = report.options(priority="high", delay=60, job_id="report-monday")
    assert urgent is not report and urgent.name == "report" and urgent.func is report.func
    first = await urgent.submit("monday")
    again = await urgent.submit("monday")  # the same job id: queued once
    assert first.id == again.id == "report-monday" and first == again
    job = await first.get()
    assert (job.priority.name, job.max_retries, job.status.value) == ("HIGH", 1, "scheduled")
    assert job.meta == {"team": "a"}
    plain = await (await report.submit("tuesday")).get()
    assert (plain.priority.name, plain.status.value) == ("LOW", "pending")  # report unchanged
    assert report.options(result_ttl=5).defaults.result_ttl == 5


async def test_a_task_on_another_queue_submits_there(service: JobService) -> None:
    @service.task(queue="emails")
    async def send(to: str) -> str:
        return f"sent to {to}"

    handle = await send.submit("ann@example.com")
    assert send.queue == "emails"
    assert await service.list_jobs("pending") == []  # not on the service's own queue
    emails = service.queue_sibling("emails")
    assert emails is service.queue_sibling("emails") and emails.queue == "emails"
    [job] = await emails.list_jobs("pending")
    assert job.id == handle.id and job.name == "send"
    await emails.start_workers(1)  # a worker serving "emails" has the handler
    assert await handle.result(timeout=10) == "sent to ann@example.com"
    await service.close()  # closes the sibling it opened too
    assert emails.pool is None and not emails._initialized


async def test_arguments_that_do_not_fit_are_refused_and_nothing_written(
    service: JobService,
) -> None:
    @service.task
    async def resize(path: str, width: int) -> None:
        return None

    for args, kwargs, message in [
        (("a",), {}, "args: resize(): missing a required argument: 'width'"),
        (("a", 1, 2), {}, "args: resize(): too many positional arguments"),
        (("a",), {"width": 1, "height": 2}, "args: resize(): got an unexpected keyword"),
    ]:
        with pytest.raises(TypeError) as caught:
            await resize.submit(*args, **kwargs)  # type: ignore[call-arg,arg-type]
        assert str(caught.value).startswith(message)
    with pytest.raises(TypeError, match="args: not JSON-serializable"):
        await resize.submit("a", {1, 2})  # type: ignore[arg-type]
    assert sum((await service.get_metrics()).depths.values()) == 0


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"priority": "urgent"}, ValueError, "priority: expected one of"),
        ({"max_retries": -1}, ValueError, "max_retries: must be >= 0"),
        ({"timeout": 0}, ValueError, "timeout: must be a positive number"),
        ({"meta": [1]}, TypeError, "meta: expected a JSON object"),
        ({"queue": "no spaces"}, ValueError, "queue: 1-64 characters"),
        ({"colour": "red"}, TypeError, "task: unknown option(s): colour"),
        ({"job_id": "x"}, TypeError, "task: unknown option(s): job_id"),
        ({"retry_on": "ValueError"}, TypeError, "retry_on: expected exception classes"),
    ],
)
def test_bad_task_options_are_refused_when_the_task_is_declared(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    service = JobService("memory://bad-task-options")
    with pytest.raises(error) as caught:

        @service.task(**options)
        def work() -> None:
            return None

    assert str(caught.value).startswith(message)
    assert "work" not in service.handlers


def test_bad_options_are_refused_by_options_naming_them() -> None:
    service = JobService("memory://bad-options")

    @service.task
    def work() -> None:
        return None

    with pytest.raises(ValueError, match=r"^delay: must be >= 0"):
        work.options(delay=-1)
    with pytest.raises(ValueError, match=r"^job_id: 1-128 characters"):
        work.options(job_id="a b")


async def test_a_tasks_retry_rules_are_its_handlers(service: JobService) -> None:
    @service.task(retry_on=(ConnectionError,), max_retries=3)
    async def fetch() -> None:
        raise ValueError("not retried")

    assert service.retry_rules["fetch"] == RetryRules(None, (ConnectionError,), ())


async def test_specs_of_a_task_for_a_bulk_submit(service: JobService) -> None:
    @service.task(priority="high")
    def add(a: int, b: int) -> int:
        return a + b

    ids = await service.submit_jobs([add.spec(1, 2), add.spec(3, b=4), JobSpec("add", (5, 6))])
    jobs = [await service.get_job(job_id) for job_id in ids]
    assert [(j.args, j.kwargs, j.priority.name) for j in jobs if j] == [
        ((1, 2), {}, "HIGH"),
        ((3,), {"b": 4}, "HIGH"),
        ((5, 6), {}, "NORMAL"),
    ]
    with pytest.raises(TypeError, match="args: add"):
        add.spec(1)  # type: ignore[call-arg]


async def test_synchronous_code_submits_a_task_through_the_sync_client(prefix: str) -> None:
    url = f"memory://{prefix}-sync"
    async with JobService(url, "t", prefix, worker_settings=FAST) as service:

        @service.task
        async def double(n: int) -> int:
            return 2 * n

        @service.task(queue="emails")
        def shout(text: str) -> str:
            return text.upper()

        await service.start_workers(1)
        await service.queue_sibling("emails").start_workers(1)

        def from_a_thread() -> tuple[int, str, JobStatus]:
            with SyncJobService(url, "t", prefix) as client:
                handle = client.submit(double, 21)
                loud = client.submit(shout, "hi")
                with pytest.raises(TypeError, match="args: double"):
                    client.submit(double, 1, 2)  # type: ignore[call-arg]
                return handle.result(timeout=10), loud.result(timeout=10), handle.status()

        assert await asyncio.to_thread(from_a_thread) == (42, "HI", JobStatus.COMPLETED)
    for queue in ("t", "emails"):
        MemoryBackend.forget(f"{prefix}-sync/{prefix}/{queue}")


SNIPPET = """
from jobdeck.core import JobService, SyncJobService

service = JobService("memory://typed")


@service.task(priority="high", max_retries=2)
async def resize(path: str, width: int) -> bytes:
    return path.encode() * width


@service.task
def count(words: list[str]) -> int:
    return len(words)


async def main() -> None:
    handle = await resize.submit("cat.png", "wide")
    data = await handle.result(timeout=10)
    reveal_type(data)
    n = await (await count.submit(["a"])).result()
    reveal_type(n)
    await resize.options(delay=5).submit("cat.png", 640)
    reveal_type(SyncJobService().submit(count, ["a"]).result())
"""


def test_a_type_checker_finds_a_wrong_argument_type(tmp_path: Path) -> None:
    """mypy (pinned in the test extra) on code that passes a str where the task takes an int:
    exactly that error, and the handles' results typed as the functions return."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text(textwrap.dedent(SNIPPET).lstrip())
    # From the checkout, with its own configuration and cache (CI's mypy run warms it).
    checked = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context",
            "--no-pretty", "--show-error-codes", str(snippet),
        ],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    lines = [re.sub(r"^\S*snippet\.py", "snippet.py", line) for line in checked.stdout.splitlines()]
    assert lines == [
        'snippet.py:17: error: Argument 2 to "submit" of "Task" has incompatible type "str"; '
        'expected "int"  [arg-type]',
        'snippet.py:19: note: Revealed type is "bytes"',
        'snippet.py:21: note: Revealed type is "int"',
        'snippet.py:23: note: Revealed type is "int"',
    ], checked.stdout + checked.stderr
