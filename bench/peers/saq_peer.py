"""SAQ driver: `Queue.enqueue(name, **kwargs)` per job; worker is the `saq` CLI with a settings
dict (concurrency = C, one worker process: the CLI's default --workers 1)."""

from __future__ import annotations

from typing import Any

from bench.peers.base import AsyncPeer, WorkerSpec, client_main


class SaqPeer(AsyncPeer):
    name = "saq"
    requires = "saq"
    notes = {"default": "`saq bench.peers.saq_tasks.settings`, concurrency=C"}

    async def connect(self) -> None:
        from saq import Queue

        self.queue: Any = Queue.from_url(self.redis_url)
        await self.queue.connect()

    async def submit(self, kind: str, index: int) -> None:
        if kind == "probe":
            await self.queue.enqueue(kind, index=index)
        else:
            await self.queue.enqueue(kind)

    async def close(self) -> None:
        await self.queue.disconnect()

    @classmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        return [spec.exe("saq"), "bench.peers.saq_tasks.settings"]


ADAPTER = SaqPeer

if __name__ == "__main__":
    client_main(ADAPTER)
