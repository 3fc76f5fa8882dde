"""Numbers past any sensible bound (issue 9, item 8): refused naming the field, never a
traceback; a record that already holds one (written before the bound, or by hand) still shows."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from jobdeck.console.format import clock_time, duration
from jobdeck.console.screens.detail import DetailScreen
from jobdeck.core import JobService
from jobdeck.core.models import JobDefinition, JobStatus, new_job

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("field", "value"),
    [("delay", 1e308), ("delay", 1e300), ("delay", 3.2e8), ("timeout", 1e300), ("timeout", 1e7)],
)
def test_huge_delays_and_timeouts_are_refused_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"^{field}: at most"):
        new_job("add", **{field: value})


async def test_submit_refuses_them_before_writing() -> None:
    service = JobService("memory://limits", queue="limits")
    async with service:
        with pytest.raises(ValueError, match=r"^job 0: delay: at most"):
            await service.submit_jobs([{"name": "add", "delay": 1e300}])
        assert (await service.get_metrics()).depths.get("scheduled", 0) == 0


def test_cli_delay_1e308_is_one_line() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "jobdeck.core.cli", "submit", "add", "--delay", "1e308"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "JOBDECK_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.startswith("jobdeck: error: delay: at most"), run.stderr


def test_far_future_times_in_a_record_still_show() -> None:
    assert clock_time(1e300, 0.0) == "-"
    assert duration(float("inf")) == "∞" and duration(float("nan")) == "-"
    job = JobDefinition(
        id="j1",
        name="add",
        status=JobStatus.SCHEDULED,
        created_at=1e300,
        scheduled_for=1e300,
        timeout=1e300,
    )
    screen = DetailScreen("j1", clock=lambda: 1_767_258_000.0)
    screen.show(job, [(1e300, "JOB_SUBMITTED", "submitted")])
    console = Console(width=100, file=io.StringIO(), record=True)
    console.print(screen.render_job())
    assert "SCHEDULED" in console.export_text()


def test_cli_submit_to_an_in_process_queue_is_refused() -> None:
    """`jobdeck submit` without --url used to print an id for a job that existed nowhere."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("JOBDECK_URL", None)
    run = subprocess.run(
        [sys.executable, "-m", "jobdeck.core.cli", "submit", "add", "--args", "[1, 2]"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and run.stdout == "", run.stdout
    assert run.stderr.startswith("jobdeck: error: ") and "--url" in run.stderr, run.stderr


async def test_a_library_submit_nobody_can_run_is_warned_about_once(caplog) -> None:
    service = JobService("memory://unserved", queue="unserved")
    async with service:
        with caplog.at_level("WARNING", logger="jobdeck"):
            await service.submit_job("add")
            await service.submit_jobs([{"name": "add"}])
        warnings = [r for r in caplog.records if "no worker runs in this process" in r.message]
        assert len(warnings) == 1
    served = JobService("memory://served", queue="served")
    async with served:
        await served.start_workers(1)
        caplog.clear()
        with caplog.at_level("WARNING", logger="jobdeck"):
            await served.submit_job("add")
        assert not [r for r in caplog.records if "no worker runs" in r.message]
        await served.stop_workers()
