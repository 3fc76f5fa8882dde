"""Scenario 12: no pickle anywhere. Every load path of jobdeck runs in a fresh interpreter
with an import recorder (guard/sitecustomize.py): a real `jobdeck worker` running jobs until
SIGTERM, `jobdeck submit` and `jobdeck stats`, every module of jobdeck.core plus an embedded
worker pool on the memory backend, and the console's modules. No pickle-family module and no
`marshal` may be imported on the worker, CLI and core paths; on the console path the only
importer allowed is the `rich` library itself (Textual's renderer copies its own Style objects
with pickle; it never sees job data). A control run proves the recorder sees `import pickle`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobdeck.core import JobStatus

from ..waiting import eventually
from ..worker_process import ROOT
from .conftest import Harness

pytestmark = pytest.mark.timeout(60)

GUARD = Path(__file__).with_name("guard")

CORE_AND_POOL = """
import asyncio, importlib, pkgutil
import jobdeck.core
from jobdeck.core import JobService
for info in pkgutil.walk_packages(jobdeck.core.__path__, "jobdeck.core."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)

async def main():
    async with JobService("memory://no-pickle") as service:
        seen = []
        service.subscribe(None, seen.append)
        service.register_handler("add", lambda a, b: a + b)
        await service.start_workers(2)
        job_id = await service.submit_job("add", (2, 3))
        for _ in range(200):
            job = await service.get_job(job_id)
            if job.status.is_terminal:
                break
            await asyncio.sleep(0.01)
        assert job.result == 5, job
asyncio.run(main())
"""

CONSOLE = """
import importlib, pkgutil
import jobdeck.console
for info in pkgutil.walk_packages(jobdeck.console.__path__, "jobdeck.console."):
    importlib.import_module(info.name)
"""


def _hits(report: Path) -> list[dict[str, str]]:
    """What the recorder saw in the process(es) that wrote `report.<pid>`. A process that
    left no report was not watched (or never ran to its end): that is a failure, not a pass."""
    files = list(report.parent.glob(report.name + ".*"))
    assert files, f"no import report from {report.name}: the recorder did not run there"
    return [json.loads(line) for p in files for line in p.read_text().splitlines()]


async def test_no_pickle_on_any_load_path(harness: Harness, figure, tmp_path: Path) -> None:
    def env(name: str) -> dict[str, str]:
        # Not measured for coverage: coverage itself loads pickle before the recorder runs.
        unmeasured = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
        return {
            **unmeasured,
            "PYTHONPATH": f"{GUARD}{os.pathsep}{ROOT}",
            "JOBDECK_IMPORT_REPORT": str(tmp_path / name),
            "JOBDECK_LEDGER": str(harness.ledger.path),
        }

    def run(name: str, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env(name),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    cli = ["-m", "jobdeck.core.cli"]
    url = ["--url", harness.url]
    worker = run(
        "worker",
        *cli,
        "worker",
        "tests.faults.apps.faultapp:service",
        *url,
        "--concurrency",
        "4",
        "--lease",
        "2",
        "--worker-id",
        "guarded",
    )
    others = {
        "control": run("control", "-c", "import json, pickle"),
        "core": run("core", "-c", CORE_AND_POOL),
        "console": run("console", "-c", CONSOLE),
        "submit": run("submit", *cli, "submit", "work", *url, "--kwargs", '{"ms": 5}'),
    }
    for name, proc in others.items():
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, (name, err.decode()[-2000:])
    async with harness.service() as service:
        ids = await service.submit_jobs(
            [{"name": "work", "kwargs": {"ms": 5}}] * 20
            + [{"name": "fail", "max_retries": 1}, {"name": "wait_cancel"}]
        )

        async def running() -> bool:  # the cancel must reach a running handler
            job = await service.get_job(ids[-1])
            return job is not None and job.status == JobStatus.RUNNING

        await eventually(running, 15, "the job to be cancelled to start")
        await service.cancel_job(ids[-1])
        harness.wait_terminal(ids, timeout=15)
        ran = [job.worker for job in [await service.get_job(j) for j in ids[:20]] if job]
        assert ran == ["guarded"] * 20, ran  # the guarded worker ran them, under the recorder
    stats = run("stats", *cli, "stats", *url)
    _, err = stats.communicate(timeout=30)
    assert stats.returncode == 0, err.decode()
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err.decode()[-2000:]

    reports = {
        name: _hits(tmp_path / name)
        for name in ("control", "core", "console", "submit", "stats", "worker")
    }
    strict = {
        n: [h["module"] + " from " + h["importer"] for h in hits]
        for n, hits in reports.items()
        if n not in ("control", "console") and hits
    }
    # Who imported pickle on the console path, leaving out pickle.py loading its own parts.
    console_importers = sorted(
        {h["importer"] for h in reports["console"] if Path(h["importer"]).name != "pickle.py"}
    )
    console_ours = [i for i in console_importers if os.sep + "rich" + os.sep not in i]
    figure(
        "12 no pickle",
        f"pickle/marshal imports on worker, submit, stats, core+pool paths: "
        f"{sum(len(v) for v in strict.values())}; console path: only via "
        f"{', '.join(Path(i).parent.name + '/' + Path(i).name for i in console_importers)}",
        "pickle or marshal imported on no load path",
        "6 fresh interpreters with an import recorder (worker ran 22 jobs)",
    )
    assert any(h["module"] == "pickle" for h in reports["control"]), "the recorder is blind"
    assert not strict, strict
    assert not console_ours, console_importers
