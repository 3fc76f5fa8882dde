"""The worker registry and control over Redis, where a call is more than one script call: a
heartbeat (the queue's registration, then every lease it renews) and reading a worker's
control messages (a BLPOP, then what else waits). Functions over the `RedisConnection`;
the memory engine's `workers.py` mirrors them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...codec import decode_control, dumps
from ..records import WorkerRecord
from .connection import RedisConnection
from .leases import bounds
from .registry import QueueRegistry
from .replies import text

__all__ = ["CONTROL_BATCH", "heartbeat", "next_control"]

CONTROL_BATCH = 100  # control messages one read takes after the first


async def heartbeat(
    conn: RedisConnection,
    registry: QueueRegistry,
    worker: WorkerRecord,
    leases: Sequence[tuple[str, str]],
    lease: float,
) -> tuple[list[str], list[str]]:
    """Renew `leases` and the worker's record: returns the leases it lost and the jobs
    it is asked to cancel. The queue's first write registers it."""
    settings = conn.settings
    if not registry.registered:
        await registry.register()
    args: list[Any] = [
        worker.id,
        dumps(worker.to_dict()),
        int(settings.worker_ttl * 1000),
        int(lease * 1000),
        settings.max_stalls,
        *bounds(settings),
        len(leases),
    ]
    for job_id, token in leases:
        args += [job_id, token]
    lost, cancel = await conn.run("heartbeat", *args)
    return [text(x) for x in lost], [text(x) for x in cancel]


async def next_control(
    conn: RedisConnection, worker_id: str, timeout: float
) -> list[dict[str, Any]]:
    key = conn.key("control:" + worker_id)
    first = await conn.blocking("BLPOP", key, f"{max(0.01, timeout):.3f}")
    if first is None:
        return []
    raw = [first[1]]
    raw += await conn.client.lpop(key, CONTROL_BATCH) or []
    return decode_control(raw)
