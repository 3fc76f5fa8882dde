"""streaq driver: `await task.enqueue(...)` per job inside `async with worker`, bulk via
`worker.enqueue_many`; worker is `streaq run module:worker` (concurrency=C, one process)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from bench.peers.base import AsyncPeer, WorkerSpec, client_main


class StreaqPeer(AsyncPeer):
    name = "streaq"
    requires = "streaq"
    supports_bulk = True
    notes = {"default": "`streaq run bench.peers.streaq_tasks:worker`, Worker(concurrency=C)"}

    async def connect(self) -> None:
        from bench.peers import streaq_tasks

        self.tasks: Any = streaq_tasks
        self.stack = AsyncExitStack()
        await self.stack.enter_async_context(streaq_tasks.worker)

    def _task(self, kind: str, index: int) -> Any:
        return getattr(self.tasks, kind).enqueue(*self.kind_args(kind, index))

    async def submit(self, kind: str, index: int) -> None:
        await self._task(kind, index)

    async def submit_bulk(self, kind: str, indices: Sequence[int]) -> None:
        await self.tasks.worker.enqueue_many([self._task(kind, i) for i in indices])

    async def close(self) -> None:
        await self.stack.aclose()

    @classmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        return [spec.exe("streaq"), "run", "bench.peers.streaq_tasks:worker"]


ADAPTER = StreaqPeer

if __name__ == "__main__":
    client_main(ADAPTER)
