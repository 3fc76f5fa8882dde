"""Reading a queue's event log: following it live through dropped connections, paging
through what is stored, and telling whether a resume point has been trimmed away. Handed a
backend; `JobService.events()` and friends are thin doors onto it. `BusRelay` publishes the
log on an in-process bus, for `JobService.subscribe`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from redis.exceptions import RedisError

from ._tasks import cancel_and_wait
from .backend import Backend
from .events import Event, EventBus, Events, event_key

__all__ = ["BusRelay", "EventFeed"]

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


class BusRelay:
    """Publishes every event of the log on `bus` from `start` on, from whichever process
    wrote it, in one task that runs while the bus has subscribers. `start` is the id the
    service read as it connected, so a subscriber added a moment later still sees the
    events of the service's own first calls."""

    def __init__(self, backend: Backend, bus: EventBus, start: str | None) -> None:
        self.feed = EventFeed(backend)
        self.bus = bus
        self.start = start
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._relay(), name="jobdeck-event-follower"
            )

    async def stop(self) -> None:
        if self._task is None:
            return
        await cancel_and_wait(self._task)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._task = None

    async def _relay(self) -> None:
        async for event in self.feed.follow(self.start, 1.0):
            self.bus.publish(event)
