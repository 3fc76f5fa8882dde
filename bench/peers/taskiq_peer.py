"""taskiq driver: `await broker.startup()` then `await task.kiq(...)` per job (the taskiq docs'
client pattern); worker is `taskiq worker ... --workers 1 --max-async-tasks C`.

`--workers 1` overrides taskiq's default of 2 worker processes so every peer gets one worker
process; `--max-async-tasks` is taskiq's concurrency knob (default 100)."""

from __future__ import annotations

from typing import Any

from bench.peers.base import AsyncPeer, WorkerSpec, client_main


class TaskiqPeer(AsyncPeer):
    name = "taskiq"
    requires = "taskiq_redis"
    notes = {
        "default": "`taskiq worker bench.peers.taskiq_tasks:broker --workers 1 --max-async-tasks C`"
        ", RedisStreamBroker + RedisAsyncResultBackend (README setup)",
    }

    async def connect(self) -> None:
        from bench.peers import taskiq_tasks

        self.tasks: Any = taskiq_tasks
        # startup() also creates the stream's consumer group, so jobs queued before the
        # worker starts are delivered (the group is created at "$").
        await taskiq_tasks.broker.startup()

    async def submit(self, kind: str, index: int) -> None:
        await getattr(self.tasks, kind).kiq(*self.kind_args(kind, index))

    async def close(self) -> None:
        await self.tasks.broker.shutdown()

    @classmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        return [
            spec.exe("taskiq"), "worker", "bench.peers.taskiq_tasks:broker",
            "--workers", "1", "--max-async-tasks", str(spec.concurrency),
        ]


ADAPTER = TaskiqPeer

if __name__ == "__main__":
    client_main(ADAPTER)
