"""Stopping jobdeck's own background tasks reliably."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(*tasks: asyncio.Task[Any], interval: float = 0.1) -> None:
    """Cancel `tasks` and return once every one of them has ended.

    One `cancel()` is not always enough on Python 3.11: `asyncio.wait_for`, which redis-py
    uses to send each command, returns normally and drops a cancellation that lands just as
    the command has been written; a loop around that command then runs on forever. So cancel
    again until the tasks are done. Their outcomes are left for the caller to collect.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=interval)
