"""Scenario 11: bad input at the edges. The CLI and the Python API refuse bad arguments with
one clear message naming what is wrong (no traceback), and nothing reaches Redis.

Size: 10 CLI invocations (run in parallel) and 12 API calls against a private Redis, whose
keyspace must stay empty.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys

import pytest
from redis.exceptions import RedisError

from jobdeck.core import JobService

from ..redis_server import free_port
from ..worker_process import ROOT
from .conftest import Harness

pytestmark = pytest.mark.timeout(60)


def _cli_cases(url: str, dead_url: str) -> list[tuple[list[str], str]]:
    """(arguments, a word the one-line message must contain)."""
    app = "tests.faults.apps.faultapp:service"
    return [
        (["submit", "work", "--url", url, "--priority", "urgent"], "--priority"),
        (["submit", "work", "--url", url, "--timeout", "-1"], "timeout"),
        (["submit", "work", "--url", url, "--args", "{bad"], "--args"),
        (["submit", "work", "--url", url, "--args", '{"a": 1}'], "--args"),
        (["submit", "work", "--url", dead_url], f"cannot reach {dead_url}"),
        (["submit", "work", "--url", "redis://127.0.0.1:notaport/0"], "port"),
        (["submit", "work", "--url", "http://127.0.0.1/"], "scheme"),
        (["worker", "os:path", "--url", url], "not a jobdeck JobService"),
        (["worker", "no_such_module_xyz:service", "--url", url], "cannot import"),
        (["worker", app, "--url", url, "--concurrency", "-1"], "--concurrency"),
    ]


def _start_cli(cases: list[tuple[list[str], str]]) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "jobdeck.core.cli", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args, _ in cases
    ]


async def test_bad_input_is_refused_at_the_edges(harness: Harness, figure) -> None:
    """The CLI invocations run in parallel while the API calls are made (both wait a few
    seconds on the unreachable URL: jobdeck retries a connection before giving up)."""
    dead_url = f"redis://127.0.0.1:{free_port()}/0"
    cases = _cli_cases(harness.url, dead_url)
    procs = _start_cli(cases)
    api_refused, api_bad, api_reached = await _api_checks(harness)
    bad = []
    for (args, word), proc in zip(cases, procs, strict=True):
        out, err = proc.communicate(timeout=30)
        lines = [line for line in err.splitlines() if line.strip()]
        if (
            proc.returncode == 0
            or "Traceback" in err
            or len(lines) != 1
            or not lines[0].startswith("jobdeck: error: ")
            or word not in lines[0]
            or out.strip()
        ):
            bad.append((args, proc.returncode, err[-500:]))
    keys = harness.r.dbsize()
    figure(
        "11 bad input (CLI)",
        f"{len(cases) - len(bad)}/{len(cases)} refused with one clear line, no traceback; "
        f"keys written {keys}",
        "one clear message, no traceback, nothing written",
        f"{len(cases)} bad invocations of submit and worker",
    )
    figure(
        "11 bad input (API)",
        f"{api_refused}/13 refused with a ValueError/TypeError naming the field; unreachable "
        f"URL: one-line connection error {api_reached}; keys written {keys}",
        "one clear message, no traceback, nothing written",
        "13 bad calls + 1 unreachable URL",
    )
    assert not bad, bad
    assert not api_bad, api_bad
    assert api_refused == 13
    assert api_reached
    assert keys == 0


async def _api_checks(harness: Harness) -> tuple[int, list[tuple[str, str]], bool]:
    refused, bad = 0, []
    # An unreachable server (it retries for a few seconds first: overlap it with the rest).
    unreachable = JobService(f"redis://127.0.0.1:{free_port()}/0")
    attempt = asyncio.ensure_future(unreachable.submit_job("work"))

    def check(exc: BaseException, word: str) -> None:
        nonlocal refused
        message = str(exc)
        if isinstance(exc, (ValueError, TypeError)) and word in message and "\n" not in message:
            refused += 1
        else:
            bad.append((type(exc).__name__, message[:300]))

    for url, word in (
        ("http://127.0.0.1/", "scheme"),
        ("redis://h:port/0", "port"),
        ("nonsense", "url"),
        ("redis:///0", "host"),
    ):
        with pytest.raises(Exception) as info:
            JobService(url)
        check(info.value, word)

    async with harness.service() as service:
        calls = [
            (dict(name="work", priority="urgent"), "priority"),
            (dict(name="work", priority=7), "priority"),
            (dict(name="work", timeout=-1), "timeout"),
            (dict(name="work", delay=math.inf), "delay"),
            (dict(name="work", args=[object()]), "args"),
            (dict(name="work", kwargs={"x": math.nan}), "kwargs"),
            (dict(name="", args=[]), "name"),
            (dict(name="work", job_id="no/slashes"), "job_id"),
        ]
        for kwargs, word in calls:
            with pytest.raises(Exception) as info:
                await service.submit_job(**kwargs)
            check(info.value, word)
        # A bad spec anywhere in a batch: nothing of the batch is written.
        with pytest.raises(Exception) as info:
            await service.submit_jobs(
                [{"name": "work"}] * 10 + [{"name": "work", "max_retries": -1}]
            )
        check(info.value, "max_retries")
    # The unreachable server: a connection error that says where it tried.
    with pytest.raises(Exception) as info:
        await attempt
    # A connection error (redis-py's, or OSError) with a one-line message. The CLI adds the
    # URL it tried; an API caller has it already.
    message = str(info.value)
    reached = (
        isinstance(info.value, (RedisError, OSError)) and bool(message) and "\n" not in message
    )
    return refused, bad, reached
