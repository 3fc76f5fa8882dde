"""jobdeck driver: `JobService.submit_job` per job, bulk via `JobService.submit_jobs`; worker
is jobdeck's own CLI, `jobdeck worker bench.peers.jobdeck_tasks:service --url URL --queue bench
--concurrency C`, driven exactly like the peers (same completion probe, same Redis)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from typing import Any

from bench.peers.base import AsyncPeer, WorkerSpec, client_main

#: Queue name and key prefix; jobdeck_tasks imports these (never the other way round, so the
#: harness can import this module while jobdeck itself does not import).
QUEUE = "bench"
PREFIX = "jobdeck"


class JobdeckPeer(AsyncPeer):
    name = "jobdeck"
    requires = "jobdeck.core"
    supports_bulk = True
    notes = {
        "default": "`jobdeck worker bench.peers.jobdeck_tasks:service --url URL --queue bench "
        "--concurrency C`",
    }

    @classmethod
    def unavailable_reason(cls, bin_dir: str) -> str | None:
        """jobdeck is being written alongside this harness: check the parts the adapter uses
        (JobService with submit_job/submit_jobs, the `jobdeck worker` CLI) and say which is
        missing instead of failing mid-run."""
        reason = super().unavailable_reason(bin_dir)
        if reason:
            return reason
        try:
            from jobdeck.core import JobService
        except Exception as exc:  # any import-time error in a half-written package
            return f"`from jobdeck.core import JobService` failed: {type(exc).__name__}: {exc}"
        for method in ("initialize", "submit_job", "submit_jobs", "register_handler", "close"):
            if not hasattr(JobService, method):
                return f"JobService has no {method}()"
        exe = os.path.join(bin_dir, "jobdeck")
        if not os.path.exists(exe):
            return f"no `jobdeck` console script in {bin_dir} (reinstall jobdeck into the venv)"
        probe = subprocess.run([exe, "worker", "--help"], capture_output=True, text=True,
                               timeout=60, check=False)
        if probe.returncode != 0:
            tail = (probe.stderr or probe.stdout).strip().splitlines()[-1:] or ["(no output)"]
            return f"`jobdeck worker --help` exited {probe.returncode}: {tail[0]}"
        for flag in ("--url", "--queue", "--concurrency"):
            if flag not in probe.stdout:
                return f"`jobdeck worker` has no {flag} option"
        return None

    async def connect(self) -> None:
        from jobdeck.core import JobService

        self.service: Any = JobService(url=self.redis_url, queue=QUEUE, prefix=PREFIX)
        await self.service.initialize()

    async def submit(self, kind: str, index: int) -> None:
        await self.service.submit_job(kind, args=self.kind_args(kind, index), kwargs={})

    async def submit_bulk(self, kind: str, indices: Sequence[int]) -> None:
        await self.service.submit_jobs(
            [{"name": kind, "args": self.kind_args(kind, i), "kwargs": {}} for i in indices]
        )

    async def close(self) -> None:
        await self.service.close()

    @classmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        return [
            spec.exe("jobdeck"), "worker", "bench.peers.jobdeck_tasks:service",
            "--url", spec.redis_url, "--queue", QUEUE, "--concurrency", str(spec.concurrency),
        ]


ADAPTER = JobdeckPeer

if __name__ == "__main__":
    client_main(ADAPTER)
