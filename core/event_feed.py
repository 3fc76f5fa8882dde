"""Reading a queue's event log: following it live through dropped connections, paging
through what is stored, and telling whether a resume point has been trimmed away. Handed a
backend; `JobService.events()` and friends are thin doors onto it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from redis.exceptions import RedisError

from .backend import Backend
from .events import Event, Events, event_key

__all__ = ["EventFeed"]

_CONNECTION_ERRORS = (RedisError, OSError)


class EventFeed:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def follow(self, after: str | None, block: float) -> AsyncIterator[Event]:
        """Events after `after` (None: from now on), forever. A dropped connection is said
        once (CONNECTION_LOST), retried every half second, and its end said too
        (CONNECTION_RESTORED); the follow resumes from the last event it yielded."""
        last = after
        lost = False
        while True:
            try:
                if last is None:
                    last = await self.backend.last_event_id()
                batch = await self.backend.read_events(last, 500, block)
            except _CONNECTION_ERRORS as exc:
                if not lost:
                    lost = True
                    yield Event(Events.CONNECTION_LOST, time.time(), data={"error": str(exc)})
                await asyncio.sleep(0.5)
                continue
            if lost:
                lost = False
                yield Event(Events.CONNECTION_RESTORED, time.time())
            for event in batch:
                last = event.id
                yield event

    async def page(self, after: str, count: int) -> list[Event]:
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100_000:
            raise ValueError(f"count: expected 1-100000, got {count!r}")
        return await self.backend.read_events(after, count, 0.001)

    async def lost_after(self, after: str) -> bool:
        return event_key(after) < event_key(await self.backend.trimmed_through())
