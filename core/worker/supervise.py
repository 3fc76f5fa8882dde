"""Keeping a worker's background loops alive, or stopping the worker loudly.

A loop that dies without a word is the worst failure a worker can have: jobs stop
completing (ack loop), leases lapse and jobs run twice (heartbeat loop), or the worker stops
obeying cancel and scale (control loop), while the process looks healthy. So every loop runs
under `supervise`: a crash is logged with its traceback and the loop restarts after a short
backoff; a loop that keeps crashing stops the worker with a clear error instead.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable

__all__ = ["LoopFailed", "supervise"]

log = logging.getLogger("jobdeck.worker")


class LoopFailed(RuntimeError):
    """A worker loop kept crashing: the worker stops rather than run on without it."""


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    on_fatal: Callable[[LoopFailed], None],
    *,
    max_restarts: int = 5,
    window: float = 60.0,
) -> None:
    """Run `run()` until it returns; restart it when it raises. More than `max_restarts`
    crashes within `window` seconds call `on_fatal` and end the supervision."""
    crashes: collections.deque[float] = collections.deque()
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            now = time.monotonic()
            crashes.append(now)
            while crashes and crashes[0] < now - window:
                crashes.popleft()
            if len(crashes) > max_restarts:
                error = LoopFailed(
                    f"the {name} loop failed {len(crashes)} times in {window:g}s, last with "
                    f"{type(exc).__name__}: {exc}"
                )
                log.critical("%s; stopping the worker", error, exc_info=exc)
                on_fatal(error)
                return
            log.error(
                "the %s loop failed (%s: %s); restarting it",
                name,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
            await asyncio.sleep(min(5.0, 0.05 * 2 ** len(crashes)))
