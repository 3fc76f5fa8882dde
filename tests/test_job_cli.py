"""`jobdeck job show|wait|cancel|retry|delete`, `pause`, `resume`, `purge`, `stats --json`
and `--version`, as a user at a shell runs them; and every command that reads a queue
refuses to run on the in-process `memory://` queue instead of reporting it empty."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner, Result

from jobdeck.core import JobService, JobStatus, __version__
from jobdeck.core.cli import main
from jobdeck.core.cli.jobs import safe_json

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("JOBDECK_URL", None)


def _cli(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, env={"JOBDECK_URL": None})


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["stats"], 2),
        (["stats", "--json", "--url", "memory://x"], 2),
        (["queues"], 2),
        (["schedules", "list"], 2),
        (["job", "show", "abc"], 2),
        (["job", "cancel", "abc"], 2),
        (["job", "retry", "abc"], 2),
        (["job", "delete", "abc"], 2),
        (["job", "wait", "abc"], 4),
        (["pause"], 2),
        (["resume"], 2),
        (["purge", "completed", "--yes"], 2),
    ],
)
def test_commands_that_read_a_queue_refuse_without_a_url(argv: list[str], code: int) -> None:
    result = _cli(*argv)
    assert result.exit_code == code, result.output
    assert "would only ever see an empty queue" in result.output
    assert "--url redis://" in result.output and "Traceback" not in result.output


@pytest.fixture
def where(redis_url: str, prefix: str) -> list[str]:
    return ["--url", redis_url, "--queue", "cli", "--prefix", prefix]


@pytest.fixture
def jobs(redis_url: str, prefix: str) -> Iterator[dict[str, str]]:
    """A completed job, a dead letter and a delayed job, made by a worker that stopped."""

    async def make() -> dict[str, str]:
        async with JobService(redis_url, "cli", prefix) as service:
            service.register_handler("add", lambda a, b: {"sum": a + b, "note": "\x1b]52;c;x\a"})
            service.register_handler("boom", lambda: 1 / 0)
            made = {
                "done": await service.submit_job("add", args=(2, 3)),
                "dead": await service.submit_job("boom"),
            }
            await service.start_workers(1)
            for job_id in made.values():
                await service.get_job(job_id, wait=10)
            await service.stop_workers()
            made["later"] = await service.submit_job("add", args=(1, 1), delay=600)
            return made

    yield asyncio.run(make())


def test_show_and_wait(where: list[str], jobs: dict[str, str]) -> None:
    shown = _cli("job", "show", jobs["done"], *where)
    assert shown.exit_code == 0, shown.output
    assert f"id          {jobs['done']}" in shown.output and "status      completed" in shown.output
    assert "\x1b" not in shown.output  # a result's escape sequence is shown, not done
    as_json = json.loads(_cli("job", "show", jobs["dead"], *where, "--json").output)
    assert as_json["status"] == "failed" and as_json["error"]["type"] == "ZeroDivisionError"

    done = _cli("job", "wait", jobs["done"], *where)
    assert done.exit_code == 0 and json.loads(done.output)["sum"] == 5
    assert "\\u001b]52" in done.output and "\x1b" not in done.output
    dead = _cli("job", "wait", jobs["dead"], *where)
    assert dead.exit_code == 1
    assert f"job {jobs['dead']} failed: ZeroDivisionError: division by zero" in dead.output

    began = time.monotonic()
    late = _cli("job", "wait", jobs["later"], *where, "--timeout", "0.3")
    assert (
        late.exit_code == 3 and "did not finish within 0.3 seconds (it is scheduled)" in late.output
    )
    assert time.monotonic() - began < 5
    unknown = _cli("job", "wait", "no-such-job", *where)
    assert unknown.exit_code == 4 and "no job 'no-such-job' on queue 'cli'" in unknown.output
    for bad in (["--timeout", "-1"], ["--timeout", "soon"], ["--colour", "red"]):
        refused = _cli("job", "wait", jobs["done"], *where, *bad)
        assert refused.exit_code == 4, (bad, refused.output)
        assert refused.output.startswith("jobdeck: error: ")
    assert _cli("job", "wait", "a b", *where).exit_code == 4

    cancelled = _cli("job", "cancel", jobs["later"], *where)
    assert cancelled.exit_code == 0 and f"job {jobs['later']}: cancelled" in cancelled.output
    assert _cli("job", "wait", jobs["later"], *where).exit_code == 2
    again = _cli("job", "cancel", jobs["later"], *where)
    assert again.exit_code == 1 and "is cancelled: only unfinished jobs cancel" in again.output


def test_a_running_job_cancelled_shows_as_cancelled(
    where: list[str], redis_url: str, prefix: str
) -> None:
    """A running job, once its cancel took, read `cancelled (cancel requested)`: the request is
    news only while the job still runs."""

    async def cancel_while_running() -> str:
        async with JobService(redis_url, "cli", prefix) as service:
            started = asyncio.Event()

            async def forever() -> None:
                started.set()
                await asyncio.sleep(3600)

            service.register_handler("forever", forever)
            await service.start_workers(1)
            job_id = await service.submit_job("forever")
            await asyncio.wait_for(started.wait(), 30)
            await service.cancel_job(job_id)
            job = await service.get_job(job_id, wait=30)
            await service.stop_workers()
            assert job is not None and job.status is JobStatus.CANCELLED and job.cancel_requested
            return job_id

    job_id = asyncio.run(cancel_while_running())
    shown = _cli("job", "show", job_id, *where)
    assert shown.exit_code == 0, shown.output
    status = next(line for line in shown.output.splitlines() if line.startswith("status"))
    assert status.split() == ["status", "cancelled"], status


def test_a_wait_ends_when_a_worker_finishes_the_job(
    where: list[str], redis_url: str, prefix: str
) -> None:
    async def submit() -> str:
        async with JobService(redis_url, "cli", prefix) as service:
            return await service.submit_job("add", args=(20, 22))

    job_id = asyncio.run(submit())
    waiting = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobdeck.core.cli",
            "job",
            "wait",
            job_id,
            *where,
            "--timeout",
            "30",
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    async def work() -> None:
        await asyncio.sleep(1.0)  # the command is waiting by now (or will find it done)
        async with JobService(redis_url, "cli", prefix) as service:
            service.register_handler("add", lambda a, b: a + b)
            await service.start_workers(1)
            await service.get_job(job_id, wait=10)

    asyncio.run(work())
    out, err = waiting.communicate(timeout=30)
    assert (waiting.returncode, out, err) == (0, "42\n", "")


def test_an_interrupted_wait_says_so_and_exits_130(
    where: list[str], jobs: dict[str, str]
) -> None:
    waiting = subprocess.Popen(
        [sys.executable, "-m", "jobdeck.core.cli", "job", "wait", jobs["later"], *where],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Started and waiting (the job is due in ten minutes) once the process has a connection
    # of its own to the server (named jobdeck:<host>:<pid>): a fixed two seconds was not
    # enough on a loaded machine, and the Ctrl-C landed in the imports, before the command.
    client = redis.Redis.from_url(where[1])
    try:
        for _ in range(600):
            names = [entry.get("name", "") for entry in client.client_list()]
            if any(name.endswith(f":{waiting.pid}") for name in names):
                break
            time.sleep(0.05)
    finally:
        client.close()
    waiting.send_signal(signal.SIGINT)
    out, err = waiting.communicate(timeout=20)
    assert (waiting.returncode, out) == (130, "")
    assert err == f"jobdeck: interrupted while waiting for job {jobs['later']}\n"


def test_retry_delete_pause_resume_purge(
    where: list[str], jobs: dict[str, str], redis_url: str, prefix: str
) -> None:
    retried = _cli("job", "retry", jobs["dead"], *where)
    assert retried.exit_code == 0 and "back in the queue" in retried.output
    not_dead = _cli("job", "retry", jobs["done"], *where)
    assert not_dead.exit_code == 1 and "is completed, not a dead letter" in not_dead.output
    pending = _cli("job", "delete", jobs["dead"], *where)  # pending again: not deletable
    assert pending.exit_code == 1 and "only finished jobs are deleted" in pending.output
    deleted = _cli("job", "delete", jobs["done"], *where)
    assert deleted.exit_code == 0 and "deleted (it was completed)" in deleted.output
    gone = _cli("job", "show", jobs["done"], *where)
    assert gone.exit_code == 1 and "no job" in gone.output

    assert _cli("pause", *where).output == "queue cli: paused\n"
    assert json.loads(_cli("stats", "--json", *where).output)["paused"] is True
    assert _cli("resume", *where).output == "queue cli: resumed\n"

    no = _cli("purge", "pending", *where, stdin="n\n")
    assert no.exit_code == 1 and "Delete 1 pending job from queue 'cli'" in no.output
    figures = json.loads(_cli("stats", "--json", *where).output)
    assert figures["depths"]["pending"] == 1 and figures["paused"] is False
    yes = _cli("purge", "pending", *where, stdin="y\n")
    assert yes.exit_code == 0 and "purged 1 pending job" in yes.output
    assert _cli("purge", "cancelled", *where, "--yes").output == "purged 0 cancelled jobs\n"
    nothing = _cli("purge", "pending", *where)
    assert nothing.exit_code == 0 and nothing.output.startswith("no pending jobs on queue")
    assert _cli("purge", "running", *where, "--yes").exit_code == 2


def test_stats_as_json(where: list[str], redis_url: str, prefix: str) -> None:
    async def run() -> str:
        async with JobService(redis_url, "cli", prefix) as service:
            service.register_handler("b", lambda: None)
            service.register_handler("a", lambda: None)
            await service.start_workers(2, worker_id="stats-worker")
            text = await asyncio.to_thread(lambda: _cli("stats", *where).output)
            assert "  stats-worker  running 0 of 2  handlers: a, b\n" in text
            assert "\ntotals: none yet\n" in text  # a new queue's line ended in "totals: "
            return await asyncio.to_thread(lambda: _cli("stats", "--json", *where).output)

    figures = json.loads(asyncio.run(run()))
    assert set(figures["depths"]) == {s.value for s in JobStatus}
    assert figures["queue"] == "cli" and figures["server"] == where[1]
    assert figures["concurrency"] == 2
    [worker] = figures["workers"]
    assert worker["id"] == "stats-worker" and worker["handlers"] == ["a", "b"]
    text = _cli("stats", *where).output
    assert "concurrency: 0" in text and "slots" not in text


def test_version() -> None:
    result = _cli("--version")
    assert (result.exit_code, result.output) == (0, f"jobdeck {__version__}\n")


def test_json_output_is_safe_for_a_terminal() -> None:
    value = {"a": "\x1b[2J\u202eevil\u200b\x7f", "b": "caf\udce9", "c": "\U000e0041 é"}
    text = safe_json(value)
    assert text.isprintable() and "é" in text
    assert json.loads(text) == value


def test_show_names_the_limit_and_group(where: list[str], redis_url: str, prefix: str) -> None:
    """`job show` left out a job's limit, group and whether a limit holds it, which the API
    returns and the console shows; `--json` had them as absent."""

    async def held_job() -> str:
        async with JobService(redis_url, "cli", prefix) as service:
            service.register_handler("sync", lambda: None)
            await service.set_limit("user:*", concurrency=0)  # paused: its jobs wait
            job_id = await service.submit_job("sync", limit="user:7", group="tenant-1")
            await service.start_workers(1)
            for _ in range(200):
                job = await service.get_job(job_id)
                if job is not None and job.throttled:
                    break
                await asyncio.sleep(0.05)
            await service.stop_workers()
            return job_id

    job_id = asyncio.run(held_job())
    shown = _cli("job", "show", job_id, *where)
    assert shown.exit_code == 0, shown.output
    assert "limit       user:7 (throttled by user:*)\n" in shown.output
    assert "group       tenant-1\n" in shown.output
    as_json = json.loads(_cli("job", "show", job_id, *where, "--json").output)
    assert (as_json["limit"], as_json["group"], as_json["throttled"]) == (
        "user:7",
        "tenant-1",
        "user:*",
    )
