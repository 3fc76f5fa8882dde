"""`jobdeck demo` and `jobdeck console` run as an operator runs them: a real process on a
pseudo-terminal, keys typed into it. What the flags promise must reach the screen (read-only,
NO_COLOR), and embedded workers must run jobs and let a running one finish on quit."""

from __future__ import annotations

import asyncio
import re

import pytest
import redis
from click.testing import CliRunner

from jobdeck.core import JobService, JobStatus
from jobdeck.core.cli import main

from ..waiting import eventually, finished
from .terminal import Terminal

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

_SGR = re.compile(rb"\x1b\[([0-9;]*)m")
_GREYS_256 = {0, 7, 8, 15, 16, 231, *range(232, 256)}


def _hues(raw: bytes) -> set[tuple[int, ...]]:
    """Every foreground or background colour set that is not a shade of grey: 256-colour
    (38;5;N) codes outside the grey ramp, true-colour (38;2;R;G;B) codes with R, G, B unequal,
    and the basic 30-37/40-47 colours other than black and white."""
    found = set()
    for match in _SGR.finditer(raw):
        codes = [int(c) for c in match.group(1).split(b";") if c]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                if codes[i + 2] not in _GREYS_256:
                    found.add((code, 5, codes[i + 2]))
                i += 3
            elif code in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
                rgb = tuple(codes[i + 2 : i + 5])
                if len(set(rgb)) > 1:
                    found.add((code, 2, *rgb))
                i += 5
            else:
                if 31 <= code <= 36 or 41 <= code <= 46 or 91 <= code <= 96:
                    found.add((code,))
                i += 1
    return found


async def _exit_code(terminal: Terminal, timeout: float = 30.0) -> int:
    return await asyncio.to_thread(terminal.wait, timeout)


async def test_demo_runs_jobs_in_colour_and_quits() -> None:
    terminal = Terminal("demo", "-c", "2")
    try:
        await asyncio.to_thread(terminal.wait_for, "send_email")
        terminal.press("5")  # History: the embedded workers have completed some
        await asyncio.to_thread(terminal.wait_for, " completed ")
        terminal.press("q")
        assert await _exit_code(terminal) == 0
    finally:
        terminal.close()
    assert _hues(terminal.raw), "no colour at all: the NO_COLOR check would be moot"
    assert "Traceback" not in terminal.text


async def test_read_only_and_no_color_reach_the_screen(redis_url: str, prefix: str) -> None:
    terminal = Terminal(
        "console", "--url", redis_url, "--prefix", prefix, "--read-only", env={"NO_COLOR": "1"}
    )
    try:
        await asyncio.to_thread(terminal.wait_for, "READ-ONLY")
        terminal.press("p")  # pause: refused, and said so
        await asyncio.to_thread(terminal.wait_for, "Read-only console")
        terminal.press("q")
        assert await _exit_code(terminal) == 0
    finally:
        terminal.close()
    assert not _hues(terminal.raw), "colour despite NO_COLOR"
    async with JobService(redis_url, prefix=prefix) as service:
        assert not (await service.get_metrics()).paused


async def test_embedded_workers_run_jobs_and_drain_on_quit(redis_url: str, prefix: str) -> None:
    gate = f"{prefix}:test:gate"
    terminal = Terminal(
        "console",
        "--url",
        redis_url,
        "--prefix",
        prefix,
        "--queue",
        "apps",
        "--app",
        "tests.apps.tasks:service",
        "--workers",
        "2",
        env={"JOBDECK_TEST_URL": redis_url},
    )
    r = redis.Redis.from_url(redis_url)
    try:
        async with JobService(redis_url, queue="apps", prefix=prefix) as service:
            workers = await eventually(service.list_workers, 20, "the embedded workers")
            assert [(w.pid, w.concurrency) for w in workers] == [(terminal.process.pid, 2)]
            quick = await service.submit_job("add", (2, 3))
            held = await service.submit_job("hold", (gate,))

            async def running() -> bool:
                job = await service.get_job(held)
                return job is not None and job.status == JobStatus.RUNNING

            await eventually(running, 20, "the held job to run")
            job = await finished(service, quick)
            assert job.status == JobStatus.COMPLETED
            assert job.worker == workers[0].id and job.result["pid"] == terminal.process.pid

            terminal.press("q")
            await asyncio.to_thread(terminal.wait_for, "stopping embedded workers: 1 running")
            assert terminal.process.poll() is None, "quit without letting the running job end"
            r.set(gate, 1)
            assert await _exit_code(terminal) == 0
            job = await service.get_job(held)
            assert job is not None and job.status == JobStatus.COMPLETED, job
            assert job.worker == workers[0].id
            assert await service.list_workers() == []
    finally:
        r.close()
        terminal.close()


def test_workers_without_an_app_and_a_bad_app_are_one_line(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOBDECK_URL", raising=False)
    runner = CliRunner()
    cases = [
        (["console", "--url", redis_url, "--concurrency", "2"], "--concurrency needs --app"),
        (["console", "--url", redis_url, "--app", "tests.apps.nope:service"], "cannot import"),
        (["console", "--url", redis_url, "--app", "tests.apps.tasks:nothing"], "no attribute"),
        (["console", "--url", redis_url, "--app", "tests.apps.tasks:os"], "not a jobdeck"),
        (["console", "--app", "no-colon-or-dot"], "module:attribute"),
    ]
    for argv, words in cases:
        result = runner.invoke(main, argv)
        assert result.exit_code == 2, (argv, result.output)
        assert words in result.output, (argv, result.output)
        assert "Traceback" not in result.output and result.output.count("\n") == 1, argv
