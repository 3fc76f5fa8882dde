"""Worker registry, wake-ups, control messages and server checks."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...codec import decode_control, dumps, loads
from ..base import WorkerRecord
from .engine import RedisEngine, _pairs, _s

__all__ = ["WorkersMixin"]

_UNBLOCK_REFUSED = (ResponseError, RedisConnectionError, RedisTimeoutError)


class WorkersMixin(RedisEngine):
    async def list_workers(self) -> list[WorkerRecord]:
        flat = await self._run("workers", int(self.settings.worker_ttl * 1000))
        workers = []
        for i in range(1, len(flat), 3):
            try:
                info = loads(flat[i + 1])
                info["last_heartbeat"] = float(flat[i + 2]) / 1000
                workers.append(WorkerRecord(**info))
            except (TypeError, ValueError):
                continue  # a record we cannot read is not a worker we can show
        return workers

    async def heartbeat(
        self, worker: WorkerRecord, leases: Sequence[tuple[str, str]], lease: float
    ) -> tuple[list[str], list[str]]:
        if not self._registered:
            await self._register_queue()
        args: list[Any] = [
            worker.id,
            dumps(worker.to_dict()),
            int(self.settings.worker_ttl * 1000),
            int(lease * 1000),
            self.settings.max_stalls,
            len(leases),
        ]
        for job_id, token in leases:
            args += [job_id, token]
        lost, cancel = await self._run("heartbeat", *args)
        return [_s(x) for x in lost], [_s(x) for x in cancel]

    async def unregister_worker(self, worker_id: str) -> None:
        await self._run("unregister", worker_id)

    async def wait_for_work(self, timeout: float) -> None:
        await self._waiting().execute("BLPOP", self._p + "wake", f"{max(0.01, timeout):.3f}")

    async def interrupt_wait(self) -> None:
        # CLIENT UNBLOCK ends the BLPOP as a timeout would: the claim pipelined behind it
        # still runs and its reply is read, so nothing is stranded.
        client_id = None if self._waiter is None else self._waiter.client_id
        if client_id is not None and self._fast is not None:
            with contextlib.suppress(*_UNBLOCK_REFUSED):  # a managed server may refuse it
                # on the fast connection: the waiter's own node, on a cluster too
                await self._fast.execute("CLIENT", "UNBLOCK", client_id)

    async def send_control(self, message: Mapping[str, Any], worker_id: str | None) -> int:
        return int(
            await self._run(
                "control",
                worker_id or "*",
                dumps(dict(message)),
                int(self.settings.worker_ttl * 1000),
            )
        )

    async def next_control(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        key = self._p + "control:" + worker_id
        first = await self._blocking("BLPOP", key, f"{max(0.01, timeout):.3f}")
        if first is None:
            return []
        raw = [first[1]]
        raw += await self.client.lpop(key, 100) or []
        return decode_control(raw)

    async def server_warnings(self) -> list[str]:
        warnings: list[str] = []
        try:
            # On the fast connection: on a cluster, the master that holds this queue.
            config = _pairs(await self._fast.execute("CONFIG", "GET", "maxmemory-policy"))
            policy = _s(config.get("maxmemory-policy", b"noeviction"))
            if policy != "noeviction":
                warnings.append(
                    f"Redis maxmemory-policy is {policy!r}: under memory pressure Redis may "
                    "evict job records and queues. Set it to 'noeviction'."
                )
            memory = await self._memory_warning()
            if memory:
                warnings.append(memory)
            persistence = _pairs(await self._fast.execute("CONFIG", "GET", "appendonly"))
            save = _pairs(await self._fast.execute("CONFIG", "GET", "save"))
            if _s(persistence.get("appendonly", b"no")) != "yes" and not _s(save.get("save", b"")):
                warnings.append(
                    "Redis persistence is off (no AOF, no RDB snapshots): a Redis restart "
                    "loses every queued job. Enable 'appendonly yes' for durable queues."
                )
        except ResponseError:
            pass  # CONFIG is disabled on many managed services (or by an ACL); nothing to check
        return warnings

    async def _memory_warning(self) -> str | None:
        """Said when Redis is near or at `maxmemory`: with noeviction it then refuses new
        jobs (and progress), with an eviction policy it drops keys, job records among them."""
        info = _s(await self._fast.execute("INFO", "memory"))
        fields = dict(
            line.split(":", 1) for line in info.splitlines() if ":" in line and line[0] != "#"
        )
        try:
            used, limit = int(fields["used_memory"]), int(fields["maxmemory"])
        except (KeyError, ValueError):
            return None
        if limit <= 0 or used < limit * 0.9:
            return None
        share = f"{used / limit:.0%} of maxmemory ({used >> 20} MiB of {limit >> 20} MiB)"
        if fields.get("maxmemory_policy", "noeviction").strip() == "noeviction":
            return f"Redis memory is at {share}: when full it refuses new jobs."
        return f"Redis memory is at {share}: it is evicting keys, job records among them."
