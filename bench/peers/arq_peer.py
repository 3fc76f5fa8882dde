"""arq driver: `ArqRedis.enqueue_job` per job; worker is the `arq` CLI with a WorkerSettings
class (max_jobs = concurrency). Tuned row: poll_delay 0.5 s -> 0.01 s."""

from __future__ import annotations

from typing import Any

from bench.peers.base import AsyncPeer, WorkerSpec, client_main


class ArqPeer(AsyncPeer):
    name = "arq"
    requires = "arq"
    variants = ("default", "tuned")
    notes = {
        "default": "`arq bench.peers.arq_tasks.WorkerSettings`, max_jobs=C, "
        "poll_delay=0.5 (default)",
        "tuned": "same, poll_delay=0.01",
    }

    async def connect(self) -> None:
        from arq import create_pool
        from arq.connections import RedisSettings

        self.pool: Any = await create_pool(RedisSettings.from_dsn(self.redis_url))

    async def submit(self, kind: str, index: int) -> None:
        await self.pool.enqueue_job(kind, *self.kind_args(kind, index))

    async def close(self) -> None:
        await self.pool.aclose()

    @classmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        return [spec.exe("arq"), "bench.peers.arq_tasks.WorkerSettings"]


ADAPTER = ArqPeer

if __name__ == "__main__":
    client_main(ADAPTER)
