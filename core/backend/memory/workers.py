"""Worker registry, wake-ups and control messages in memory (heartbeat.lua, workers.lua,
unregister.lua, control.lua, and the BLPOPs on `wake` and `control:<id>`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from ...codec import decode_control, dumps, loads
from ..base import WorkerRecord
from . import clock
from .engine import MemoryEngine

__all__ = ["WorkersMixin"]


class WorkersMixin(MemoryEngine):
    async def list_workers(self) -> list[WorkerRecord]:
        s, now = self._s, clock.now_ms()
        self._drop_stale_workers(now)
        workers = []
        for score, worker_id in s.workers.items():
            info = s.worker_info.get(worker_id)
            if info is None:
                continue
            try:
                data = loads(info[0])
                data["last_heartbeat"] = score / 1000
                workers.append(WorkerRecord(**data))
            except (TypeError, ValueError):
                continue  # a record we cannot read is not a worker we can show
        return workers

    async def heartbeat(
        self, worker: WorkerRecord, leases: Sequence[tuple[str, str]], lease: float
    ) -> tuple[list[str], list[str]]:
        s, now = self._s, clock.now_ms()
        ttl_ms = int(self.settings.worker_ttl * 1000)
        s.worker_info[worker.id] = (dumps(worker.to_dict()), now + ttl_ms)
        s.workers.add(worker.id, now)
        lost: list[str] = []
        cancel: list[str] = []
        for job_id, token in leases:
            rec = self._job(job_id, now)
            if rec is not None and rec.get("token") == token:
                s.sets["running"].add(job_id, now + int(lease * 1000), only_existing=True)
                if rec.get("cancel") == "1":
                    cancel.append(job_id)
            else:
                lost.append(job_id)
        self._recover(now, 100, self.settings.max_stalls)
        self._drop_stale_workers(now)
        return lost, cancel

    async def unregister_worker(self, worker_id: str) -> None:
        self._s.workers.remove(worker_id)
        self._s.worker_info.pop(worker_id, None)
        self._s.control.pop(worker_id, None)

    async def wait_for_work(self, timeout: float) -> None:
        """Take one wake-up token, waiting up to `timeout` for one (BLPOP on `wake`)."""
        s = self._s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.01, timeout)
        interrupts = self._interrupts
        while s.wake <= 0:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._interrupts != interrupts:
                return
            await s.work_signal.wait(remaining)
        s.wake -= 1

    async def interrupt_wait(self) -> None:
        self._interrupts += 1
        self._s.work_signal.notify()

    async def send_control(self, message: Mapping[str, Any], worker_id: str | None) -> int:
        s, now = self._s, clock.now_ms()
        target, payload = worker_id or "*", dumps(dict(message))
        oldest = now - int(self.settings.worker_ttl * 1000)
        sent = 0
        for score, live in s.workers.items():
            if score >= oldest and target in ("*", live):
                self._push_control(now, live, payload)
                sent += 1
        return sent

    async def next_control(
        self,
        worker_id: str,
        timeout: float,
    ) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.01, timeout)
        while not (queue := self._control_queue(worker_id, clock.now_ms())):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._s.control_signal.wait(remaining)
        raw = [queue.popleft() for _ in range(min(len(queue), 101))]  # BLPOP, then LPOP 100
        if not queue:
            del self._s.control[worker_id]
        return decode_control(raw)

    async def server_warnings(self) -> list[str]:
        return []
