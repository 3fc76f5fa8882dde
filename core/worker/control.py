"""The pool's link to the rest of the cluster: heartbeats and control messages.

The heartbeat registers the worker, extends its leases, rescues jobs of dead workers, and
learns which of its jobs were cancelled elsewhere or lost to another attempt. The control
loop obeys scale / cancel / pause messages sent from other processes. A handler that blocked
the event loop is published (an event, and a field of the worker's record) once the loop
turns again. A mixin of `WorkerPool`: all of it acts on the pool's own state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redis.exceptions import NoPermissionError

from ..events import Events
from .reporter import TRANSIENT
from .watchdog import LoopStall

if TYPE_CHECKING:
    from .pool import WorkerPool

__all__ = ["HeartbeatAndControl", "refused"]

log = logging.getLogger("jobdeck.worker")
_TRANSIENT = TRANSIENT


class HeartbeatAndControl:
    async def _heartbeat_once(self: WorkerPool) -> None:
        leases = [(job_id, r.ctx.token) for job_id, r in self._running.items()]
        leases += [(claimed.id, claimed.token) for claimed, _ in self._ready]
        lost, cancel = await self.backend.heartbeat(self.record(), leases, self.settings.lease)
        for job_id in lost:
            if self.cancel_local(job_id, "lost"):
                log.warning("worker %s lost the lease on job %s; abandoning it", self.id, job_id)
        for job_id in cancel:
            self.cancel_local(job_id, "cancelled")

    async def _publish_state(self: WorkerPool) -> None:
        """Write the worker's record now, not at the next heartbeat: a console that reads
        it on the event that follows shows the new slots (or pause) within a second."""
        if self._loops:
            with contextlib.suppress(*_TRANSIENT):
                await self._heartbeat_once()

    async def _heartbeat_loop(self: WorkerPool) -> None:
        warned = time.monotonic()  # the CLI logs the server's warnings once at start
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            self._hand_back_stale()
            try:
                await self._heartbeat_once()
            except _TRANSIENT as exc:
                log.warning("worker %s: heartbeat failed (%s)", self.id, exc)
            if time.monotonic() - warned >= self.settings.warn_interval:
                warned = time.monotonic()
                await self._warn_about_server()

    async def _warn_about_server(self: WorkerPool) -> None:
        """Repeat what puts jobs at risk (an eviction policy, a full server) in the log, so
        nobody reads a worker's log without seeing it."""
        try:
            warnings = await self.backend.server_warnings()
        except _TRANSIENT:
            return
        for warning in warnings:
            if "evict" in warning or "memory" in warning:
                log.warning("worker %s: %s", self.id, warning)

    async def _control_loop(self: WorkerPool) -> None:
        while True:
            try:
                messages = await self.backend.next_control(self.id, 1.0)
            except _TRANSIENT as exc:
                if isinstance(exc, NoPermissionError):
                    await refused(self.id, exc)
                    continue
                log.warning("worker %s: control channel failed (%s)", self.id, exc)
                await asyncio.sleep(0.5)
                continue
            for message in messages:
                await self._obey(message)

    async def _obey(self: WorkerPool, message: Mapping[str, Any]) -> None:
        op = message.get("op")
        try:
            if op == "cancel" and isinstance(message.get("job_id"), str):
                self.cancel_local(message["job_id"], "cancelled")
            elif op == "scale":
                target = message.get("concurrency")
                if isinstance(message.get("delta"), int):
                    target = max(0, self.concurrency + message["delta"])
                await self.scale(target)  # type: ignore[arg-type]
            elif op in ("pause", "resume"):
                if self.paused != (op == "pause"):
                    self.set_paused(op == "pause")
                    await self._publish_state()
                    kind = "PAUSED" if self.paused else "RESUMED"
                    await self._emit(Events[f"JOB_SERVICE_WORKERS_{kind}"])
            else:
                log.warning("worker %s: ignoring unknown control message %r", self.id, message)
        except (ValueError, TypeError) as exc:
            log.warning("worker %s: bad control message %r: %s", self.id, message, exc)

    async def _emit(self: WorkerPool, event_type: Events, **data: Any) -> None:
        await self.backend.emit(
            event_type, {"worker": self.id, "host": self.host, "pid": self.pid, **data}
        )

    def _loop_resumed(self: WorkerPool, stall: LoopStall) -> None:
        self.loop_blocked = stall
        self._stall_report = asyncio.get_running_loop().create_task(self._report_stall(stall))

    async def _report_stall(self: WorkerPool, stall: LoopStall) -> None:
        with contextlib.suppress(*_TRANSIENT):
            await self._emit(
                Events.WORKER_LOOP_BLOCKED,
                job_id=stall.job_id,
                job_name=stall.job_name,
                seconds=stall.seconds,
                lease=self.settings.lease,
            )


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
