"""Celery driver: `task.delay(...)` per job (blocking client); worker is
`celery -A bench.peers.celery_tasks worker --pool threads -c C` (one process, C threads; the
default prefork pool would be C processes).

Tuned row adds `--without-mingle --without-gossip --without-heartbeat`, the usual advice for a
Redis broker: mingle alone makes the worker wait for replies from other nodes at start-up."""

from __future__ import annotations

from typing import Any

from bench.peers.base import SyncPeer, WorkerSpec, client_main


class CeleryPeer(SyncPeer):
    name = "celery"
    requires = "celery"
    variants = ("default", "tuned")
    notes = {
        "default": "`celery -A bench.peers.celery_tasks worker --pool threads -c C`",
        "tuned": "same + `--without-mingle --without-gossip --without-heartbeat`",
    }

    def connect(self) -> None:
        from bench.peers import celery_tasks

        self.tasks: Any = celery_tasks

    def submit(self, kind: str, index: int) -> None:
        getattr(self.tasks, kind).delay(*self.kind_args(kind, index))

    def close(self) -> None:
        self.tasks.app.close()

    @classmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        argv = [
            spec.exe("celery"), "-A", "bench.peers.celery_tasks", "worker",
            "--pool", "threads", "-c", str(spec.concurrency),
        ]
        if spec.variant == "tuned":
            argv += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        return argv


ADAPTER = CeleryPeer

if __name__ == "__main__":
    client_main(ADAPTER)
