"""The worker's link to the rest of the cluster: its heartbeat and its control channel.

`Heartbeat` registers the worker, extends the leases of the jobs its `Slots` hold, rescues
jobs of dead workers, and learns which of its jobs were cancelled elsewhere or lost to
another attempt. `control_loop` reads scale / cancel / pause messages sent from other
processes and hands each to the pool (`WorkerPool.obey`), which owns what they change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.exceptions import NoPermissionError

from ..backend.base import Backend, WorkerRecord
from .reporter import TRANSIENT
from .settings import WorkerSettings
from .slots import Slots

__all__ = ["Heartbeat", "control_loop", "refused"]

log = logging.getLogger("jobdeck.worker")


class Heartbeat:
    def __init__(
        self,
        backend: Backend,
        slots: Slots,
        settings: WorkerSettings,
        record: Callable[[], WorkerRecord],
    ) -> None:
        self.backend = backend
        self.slots = slots
        self.settings = settings
        self.record = record  # the worker's record as of now

    async def beat(self) -> None:
        """One heartbeat: acts on the leases lost and the cancellations it learns of."""
        slots, worker_id = self.slots, self.slots.worker_id
        held, sent = slots.leases(), time.monotonic()
        lost, cancel = await self.backend.heartbeat(self.record(), held, self.settings.lease)
        slots.extend(held, sent + self.settings.lease)  # Redis extended them after `sent`
        for job_id in lost:
            if slots.cancel(job_id, "lost"):
                log.warning("worker %s lost the lease on job %s; abandoning it", worker_id, job_id)
        for job_id in cancel:
            slots.cancel(job_id, "cancelled")

    async def guard(self) -> None:
        """Stop this worker's jobs whose lease runs out with no heartbeat getting through
        (`Slots.expire_leases`): checked several times a lease, on a loop of its own, since a
        heartbeat to an unreachable Redis can itself wait out many seconds of retries."""
        tick = min(0.5, self.settings.lease / 10)
        while True:
            await asyncio.sleep(tick)
            self.slots.expire_leases()

    async def run(self) -> None:
        warned = time.monotonic()  # the CLI logs the server's warnings once at start
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            self.slots.hand_back_stale()
            try:
                await self.beat()
            except TRANSIENT as exc:
                log.warning("worker %s: heartbeat failed (%s)", self.slots.worker_id, exc)
            if time.monotonic() - warned >= self.settings.warn_interval:
                warned = time.monotonic()
                await self._warn_about_server()

    async def _warn_about_server(self) -> None:
        """Repeat what puts jobs at risk (an eviction policy, a full server) in the log, so
        nobody reads a worker's log without seeing it."""
        try:
            warnings = await self.backend.server_warnings()
        except TRANSIENT:
            return
        for warning in warnings:
            if "evict" in warning or "memory" in warning:
                log.warning("worker %s: %s", self.slots.worker_id, warning)


async def control_loop(
    backend: Backend, worker_id: str, obey: Callable[[Mapping[str, Any]], Awaitable[None]]
) -> None:
    """Hand every control message sent to this worker to `obey`, in order."""
    while True:
        try:
            messages = await backend.next_control(worker_id, 1.0)
        except TRANSIENT as exc:
            if isinstance(exc, NoPermissionError):
                await refused(worker_id, exc)
                continue
            log.warning("worker %s: control channel failed (%s)", worker_id, exc)
            await asyncio.sleep(0.5)
            continue
        for message in messages:
            await obey(message)


async def refused(worker_id: str, exc: NoPermissionError) -> None:
    """An ACL that lacks a command the worker needs: say which, loudly, and try again slowly
    (the jobs stay where they are; an operator can grant it without restarting)."""
    log.error(
        "worker %s: Redis refused a command the worker needs (%s); give its ACL user the "
        "worker role (README: ACLs). Retrying in 5 s",
        worker_id,
        exc,
    )
    await asyncio.sleep(5.0)
