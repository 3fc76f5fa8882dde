"""The claim loop: lease as many jobs as the worker's `Slots` want in one call, hand them
over, and when the queue runs dry wait on the backend's wake-up signal (no polling).

While the last claim filled every slot, the next one goes out at once (`claim`); once a claim
brings fewer jobs than asked, the next one waits for work first (`wait_and_claim`: in Redis
the claim is pipelined behind the blocking wait, so an idle worker starts a new job one
round trip after its submit). The wait is cut short by the earliest scheduled job's due time,
or the time a limit that holds jobs may have room, which the claim reports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection

from redis.exceptions import NoPermissionError

from ..backend.base import Backend
from .control import refused
from .reporter import TRANSIENT
from .settings import WorkerSettings
from .slots import Slots

__all__ = ["claim_loop"]

log = logging.getLogger("jobdeck.worker")


async def claim_loop(
    backend: Backend,
    slots: Slots,
    worker_id: str,
    settings: WorkerSettings,
    handlers: Collection[str],
) -> None:
    """Until the slots stop accepting (the worker is stopping); the current wait ends first,
    so a job it brings is handed back rather than stranded. Each claim names the `handlers`
    this worker has (a live view: handlers registered later count from the next claim), so a
    job it cannot run is parked for a worker that can, instead of failing here."""
    names: tuple[str, ...] = ()
    failures = 0
    queue_dry = False  # the last claim found fewer jobs than asked for: block until woken
    timeout = settings.idle_wait
    while slots.accepting:
        free = slots.wanted()
        if free <= 0:
            slots.freed.clear()
            await slots.freed.wait()
            continue
        if len(names) != len(handlers):  # handlers are added, never removed
            names = tuple(handlers)
        try:
            if queue_dry:
                batch = await backend.wait_and_claim(
                    worker_id, free, settings.lease, timeout, names
                )
            else:
                batch = await backend.claim(worker_id, free, settings.lease, names)
            failures = 0
        except TRANSIENT as exc:
            failures += 1
            if isinstance(exc, NoPermissionError):
                await refused(worker_id, exc)
                continue
            log.warning("worker %s: claim failed (%s); retrying", worker_id, exc)
            await asyncio.sleep(min(2.0, 0.05 * 2**failures))
            continue
        # The claim ran in Redis at most a round trip ago: its leases end a lease from now
        # (Slots stops a little before, in case the clocks drift).
        slots.take(batch.jobs, time.monotonic() + settings.lease)
        if batch.jobs:
            await asyncio.sleep(0)  # let the new jobs start before the next claim goes out
        queue_dry = len(batch.jobs) < free
        timeout = settings.idle_wait
        if batch.next_due is not None:
            timeout = min(timeout, batch.next_due + 0.001)
