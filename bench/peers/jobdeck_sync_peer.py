"""jobdeck's synchronous client, the one a Flask or Django app uses: `SyncJobService.submit_job`
per job (the calling thread sends it; threads submitting at once share script calls), bulk
via `SyncJobService.submit_jobs`. A second client of the jobdeck row's queue: its row runs
the client scenarios only (enqueue, enqueue-bulk, enqueue-concurrent); the worker is the
jobdeck row's, `jobdeck worker ...`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.peers.base import SyncPeer, WorkerSpec, client_main
from bench.peers.jobdeck_peer import PREFIX, QUEUE, JobdeckPeer


class JobdeckSyncPeer(SyncPeer):
    name = "jobdeck-sync"
    requires = "jobdeck.core"
    supports_bulk = True
    client_only = True
    notes = {"default": "`SyncJobService` (blocking client); worker as the jobdeck row's"}

    @classmethod
    def unavailable_reason(cls, bin_dir: str) -> str | None:
        return JobdeckPeer.unavailable_reason(bin_dir)

    def connect(self) -> None:
        from jobdeck.core import SyncJobService

        self.service: Any = SyncJobService(self.redis_url, queue=QUEUE, prefix=PREFIX)
        self.service.get_metrics(1)  # connected before the clock starts, as the others

    def submit(self, kind: str, index: int) -> None:
        self.service.submit_job(kind, args=self.kind_args(kind, index), kwargs={})

    def submit_bulk(self, kind: str, indices: Sequence[int]) -> None:
        self.service.submit_jobs(
            [{"name": kind, "args": self.kind_args(kind, i), "kwargs": {}} for i in indices]
        )

    def close(self) -> None:
        self.service.close()

    @classmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        return JobdeckPeer.worker_argv(spec)


ADAPTER = JobdeckSyncPeer

if __name__ == "__main__":
    client_main(ADAPTER)
