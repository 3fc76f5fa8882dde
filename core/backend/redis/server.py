"""What a Redis server's configuration puts at risk, said to the operator once (`jobdeck
worker` logs it, `jobdeck stats` prints it): eviction, memory, no persistence."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ResponseError

from . import replies
from .replies import pairs, text

__all__ = ["server_warnings"]


async def server_warnings(execute: Callable[..., Awaitable[Any]]) -> list[str]:
    """`execute` sends a command to the server (on a cluster: the master of the queue)."""
    warnings: list[str] = []
    try:
        config = pairs(await execute("CONFIG", "GET", "maxmemory-policy"))
        policy = text(config.get("maxmemory-policy", b"noeviction"))
        if policy != "noeviction":
            warnings.append(
                f"Redis maxmemory-policy is {policy!r}: under memory pressure Redis may "
                "evict job records and queues. Set it to 'noeviction'."
            )
        memory = replies.memory_warning(text(await execute("INFO", "memory")))
        if memory:
            warnings.append(memory)
        persistence = pairs(await execute("CONFIG", "GET", "appendonly"))
        save = pairs(await execute("CONFIG", "GET", "save"))
        if text(persistence.get("appendonly", b"no")) != "yes" and not text(save.get("save", b"")):
            warnings.append(
                "Redis persistence is off (no AOF, no RDB snapshots): a Redis restart "
                "loses every queued job. Enable 'appendonly yes' for durable queues."
            )
    except ResponseError:
        pass  # CONFIG is disabled on many managed services (or by an ACL); nothing to check
    return warnings
