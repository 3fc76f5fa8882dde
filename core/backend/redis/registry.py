"""The prefix's registry of queue names (`<prefix>:queues`): listing a prefix's queues is one
read, not a SCAN of the whole keyspace (seconds at a million jobs).

A queue is registered once per process, on its first write (a submit, a worker's first
heartbeat), not on connecting: a process that only reads, or whose input is refused, writes
nothing. Registering is best effort: a user who may not write the registry, or a full
server, leaves the queue to be found by SCAN (`list_queues`).
"""

from __future__ import annotations

import contextlib

from redis.exceptions import RedisError

from ...keys import key_prefix, validate_name
from .connection import RedisConnection
from .replies import text

__all__ = ["QueueRegistry"]


class QueueRegistry:
    """One queue's place in its prefix's registry, over the connection's redis-py client."""

    def __init__(self, conn: RedisConnection) -> None:
        self._conn = conn
        self.prefix, self.queue = conn.prefix, conn.queue
        self._key = f"{conn.prefix}:queues"
        self.registered = False
        self._scanned = False  # this process searched the keyspace for queues (list_queues)

    async def register(self) -> None:
        """Note this queue in the registry, once (see the module)."""
        if self.registered:
            return
        self.registered = True
        with contextlib.suppress(RedisError):
            await self._conn.client.sadd(self._key, self.queue)

    async def list_queues(self) -> list[str]:
        """The registered queues that have an event log, i.e. were used. The registry is
        complete once the keyspace was searched for event logs after it began (a SCAN under
        the prefix, about 1 ms per 1,000 keys, not a script, so Redis is never held): queues
        written before it existed, or by a user who may not write it, are found then and
        registered, and `<prefix>:queues:scanned` says it was done. A process that may not
        write the marker searches once itself."""
        client = self._conn.client
        registry = client.smembers(self._key)
        if not self._scanned and not await client.exists(self._key + ":scanned"):
            names = await self._scan_queues()
            self._scanned = True
            with contextlib.suppress(RedisError):
                if names:
                    await client.sadd(self._key, *names)
                await client.set(self._key + ":scanned", "1")
            registered = sorted({text(name) for name in await registry} | set(names))
        else:
            self._scanned = True
            registered = sorted(text(name) for name in await registry)
        if not registered:
            return []
        pipe = client.pipeline(transaction=False)
        for name in registered:
            pipe.exists(key_prefix(self.prefix, name) + "events")
        used = await pipe.execute()
        return [name for name, found in zip(registered, used, strict=True) if found]

    async def _scan_queues(self) -> list[str]:
        head = f"{self.prefix}:{{"
        names = set()
        async for key in self._conn.client.scan_iter(
            match=f"{head}*}}:events", count=1000, _type="stream"
        ):
            name = text(key)[len(head) : -len("}:events")]
            with contextlib.suppress(ValueError):  # a key of this shape jobdeck did not write
                names.add(validate_name("queue", name))
        return sorted(names)
