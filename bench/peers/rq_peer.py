"""RQ driver: `Queue.enqueue(func, ...)` per job (blocking client), bulk via
`Queue.enqueue_many`; worker is `rq worker-pool -n C` (RQ runs one job at a time per worker
process, so concurrency C means C worker processes).

Default row: RQ's default Worker class forks a work horse per job. Tuned row:
`-w rq.worker.SimpleWorker`, RQ's documented no-fork worker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.peers.base import SyncPeer, WorkerSpec, client_main

QUEUE = "default"


class RqPeer(SyncPeer):
    name = "rq"
    requires = "rq"
    variants = ("default", "tuned")
    supports_bulk = True
    notes = {
        "default": "`rq worker-pool -n C` (C processes, fork per job: RQ's default Worker)",
        "tuned": "`rq worker-pool -n C -w rq.worker.SimpleWorker` (no fork per job)",
    }

    def connect(self) -> None:
        from redis import Redis
        from rq import Queue

        from bench.peers import rq_tasks

        self.tasks: Any = rq_tasks
        self.queue_cls: Any = Queue
        self.queue: Any = Queue(QUEUE, connection=Redis.from_url(self.redis_url))

    def submit(self, kind: str, index: int) -> None:
        self.queue.enqueue(getattr(self.tasks, kind), *self.kind_args(kind, index))

    def submit_bulk(self, kind: str, indices: Sequence[int]) -> None:
        func = getattr(self.tasks, kind)
        self.queue.enqueue_many(
            [self.queue_cls.prepare_data(func, args=self.kind_args(kind, i)) for i in indices]
        )

    def close(self) -> None:
        self.queue.connection.close()

    @classmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        argv = [spec.exe("rq"), "worker-pool", "-n", str(spec.concurrency), "-u", spec.redis_url]
        if spec.variant == "tuned":
            argv += ["-w", "rq.worker.SimpleWorker"]
        return [*argv, QUEUE]


ADAPTER = RqPeer

if __name__ == "__main__":
    client_main(ADAPTER)
