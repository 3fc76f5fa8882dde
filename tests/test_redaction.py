"""A password in a Redis URL is never shown: not in any error a URL can be quoted in (a URL
that does not parse, a server that does not answer, a wrong password), from the API or from
any `jobdeck` command, nor in a worker's log while it runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobdeck.core import JobService

from .redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-pw"
APP = "tests.apps.tasks:service"
JOBDECK = [sys.executable, "-m", "jobdeck.core.cli"]

pytestmark = pytest.mark.timeout(90)

# URLs that cannot be used, each with the password in it, and a word its error must contain.
MALFORMED = [
    (f"redis://:{SECRET}@/0", "host"),
    (f"redis://admin:{SECRET}@127.0.0.1:notaport/0", "port"),
    (f"redis://admin:{SECRET}@127.0.0.1:99999/0", "port"),
    (f"redis://:{SECRET}@127.0.0.1:6399/notadb", "database"),
    (f"redis://:{SECRET}@127.0.0.1:6399/0?socket_timeout=abc", "socket_timeout"),
    (f"redis://:{SECRET}@127.0.0.1:6399/0?cluster=maybe", "cluster"),
    (f"http://admin:{SECRET}@127.0.0.1:6399/0", "scheme"),
    (f"admin:{SECRET}@127.0.0.1:6399", "url"),
]


@pytest.fixture(scope="module")
def locked() -> Iterator[RedisServer]:
    """A server that wants a password (set after start, so readiness needs none)."""
    server = RedisServer().start()
    server.cli("CONFIG", "SET", "requirepass", SECRET)
    yield server
    server.stop()


@pytest.mark.parametrize(("url", "word"), MALFORMED)
def test_a_url_that_cannot_be_used_is_named_without_its_password(url: str, word: str) -> None:
    with pytest.raises(ValueError) as caught:
        JobService(url, queue="q")
    message = str(caught.value)
    assert word in message and SECRET not in message, message


async def test_an_unreachable_or_refusing_server_is_named_without_its_password(
    locked: RedisServer,
) -> None:
    for url in (
        f"redis://admin:{SECRET}@127.0.0.1:{free_port()}/0",
        f"redis://:wrong-{SECRET}@127.0.0.1:{locked.port}/0",
    ):
        service = JobService(url, queue="q")
        assert SECRET not in service.description
        with pytest.raises(Exception) as caught:
            await service.initialize()
        assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
        await service.close()


def _cli_cases(port: int) -> list[list[str]]:
    """Every command with a server that does not answer; a wrong password for a client and
    a worker; malformed URLs (one path, in make_service, checked in full above) spread over
    the commands. Ten processes: each starts an interpreter, which a loaded machine feels."""
    commands = [
        ["submit", "add"],
        ["stats"],
        ["queues"],
        ["worker", APP],
        ["console", "--read-only"],
    ]
    down = f"redis://admin:{SECRET}@127.0.0.1:{free_port()}/0"
    wrong = f"redis://:wrong-{SECRET}@127.0.0.1:{port}/0"
    cases = [[*command, "--url", down] for command in commands]
    cases += [[*commands[0], "--url", wrong], [*commands[3], "--url", wrong]]
    for n, (url, _word) in enumerate(MALFORMED[:3]):  # each parses in make_service
        cases.append([*commands[(n * 2) % len(commands)], "--url", url])
    return cases


@pytest.mark.slow
def test_no_command_prints_the_password(locked: RedisServer) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("JOBDECK_URL", None)
    runs = [
        (
            argv,
            subprocess.Popen(
                [*JOBDECK, *argv],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for argv in _cli_cases(locked.port)
    ]
    for argv, process in runs:
        out, err = process.communicate(timeout=60)
        assert process.returncode != 0, argv
        assert SECRET not in out + err, (argv, out + err)
        assert "Traceback" not in err and err.count("\n") == 1, (argv, err)


@pytest.mark.slow
async def test_a_running_worker_never_logs_the_password(
    locked: RedisServer, prefix: str, tmp_path: Path
) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:{locked.port}/0"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JOBDECK_TEST_URL": url}
    log = tmp_path / "worker.log"
    worker = await asyncio.to_thread(
        subprocess.Popen,
        [*JOBDECK, "worker", APP, "--url", url, "--queue", "apps", "--prefix", prefix],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        async with JobService(url, queue="apps", prefix=prefix) as service:
            job_id = await service.submit_job("always_fails", ("boom",), max_retries=0)
            for _ in range(200):
                job = await service.get_job(job_id)
                if job is not None and job.status.is_terminal:
                    break
                await asyncio.sleep(0.05)
            assert job is not None and job.status.is_terminal
    finally:
        worker.terminate()
        await asyncio.to_thread(worker.wait, 15)
    text = log.read_text()
    assert "started" in text, text  # it did run and log
    assert SECRET not in text, text
