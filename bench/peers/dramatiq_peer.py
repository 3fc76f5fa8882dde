"""Dramatiq driver: `actor.send(...)` per job (blocking client); worker is
`dramatiq bench.peers.dramatiq_tasks --processes 1 --threads C`.

No tuned row: Dramatiq's idle back-off (exponential, up to the worker timeout of 1 s) is only
settable from Python (Worker(worker_timeout=...)), not from its CLI."""

from __future__ import annotations

from typing import Any

from bench.peers.base import SyncPeer, WorkerSpec, client_main


class DramatiqPeer(SyncPeer):
    name = "dramatiq"
    requires = "dramatiq"
    notes = {"default": "`dramatiq bench.peers.dramatiq_tasks --processes 1 --threads C`"}

    def connect(self) -> None:
        from bench.peers import dramatiq_tasks

        self.tasks: Any = dramatiq_tasks

    def submit(self, kind: str, index: int) -> None:
        getattr(self.tasks, kind).send(*self.kind_args(kind, index))

    def close(self) -> None:
        self.tasks.broker.close()

    @classmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        return [
            spec.exe("dramatiq"), "bench.peers.dramatiq_tasks",
            "--processes", "1", "--threads", str(spec.concurrency),
        ]


ADAPTER = DramatiqPeer

if __name__ == "__main__":
    client_main(ADAPTER)
