"""Every queue under the served one's key prefix, from one server: `/api/v1/queues/{queue}/…`
answers what `/api/v1/…` answers for the served queue, through a service for that queue.

`QueueServices` is the app's registry: the served queue's own service, and for any other
queue the server lists (`JobService.list_queues`, read again at most every few seconds) a
sibling opened on first use (`JobService.for_queue`), at most `max_open` of them (the least
recently used is closed to make room), each with the SSE hub of its own events. A name the
server does not list is a 404, so a caller cannot make it open connections for any word.
`QueueScope`, a dependency of every queue-scoped route, puts the queue's service where
`deps.Service` finds it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Annotated

from fastapi import Depends, Path, Request

from jobdeck.core import JobService

from .problems import Problem
from .sse import EventHub

__all__ = ["QUEUE_NAME", "QueueScope", "QueueServices", "queue_services"]

QUEUE_NAME = r"^[A-Za-z0-9_.:-]{1,64}$"  # core.keys' rule for queue names
SCOPED_SERVICE = "jobdeck.queue_service"  # where QueueScope leaves the queue's service


class QueueServices:
    def __init__(self, served: JobService, *, max_open: int = 32, listing_ttl: float = 5.0):
        self.served = served
        self.max_open, self.listing_ttl = max_open, listing_ttl
        self._open: OrderedDict[str, JobService] = OrderedDict()
        self._hubs: dict[int, EventHub] = {}
        self._names: list[str] = []
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    async def names(self) -> list[str]:
        """The queues under the prefix that have been used, sorted (the served one always)."""
        if time.monotonic() - self._read_at > self.listing_ttl:
            listed = await self.served.list_queues()
            self._names = sorted({*listed, self.served.queue})
            self._read_at = time.monotonic()
        return self._names

    async def get(self, name: str) -> JobService:
        if name == self.served.queue:
            return self.served
        async with self._lock:
            service = self._open.get(name)
            if service is not None:
                self._open.move_to_end(name)
                return service
            if name not in await self.names():
                raise Problem(404, f"no queue {name} under this prefix", field="path.queue")
            while len(self._open) >= self.max_open:
                _, oldest = self._open.popitem(last=False)
                await self._close(oldest)
            service = self.served.for_queue(name)
            await service.initialize()
            self._open[name] = service
            return service

    def hub(self, service: JobService) -> EventHub:
        """The SSE hub of a queue's events (one per queue, started by its first client)."""
        hub = self._hubs.get(id(service))
        if hub is None:
            hub = self._hubs[id(service)] = EventHub(service)
        return hub

    async def _close(self, service: JobService) -> None:
        hub = self._hubs.pop(id(service), None)
        if hub is not None:
            await hub.close()
        if service is not self.served:
            await service.close()

    async def close(self) -> None:
        """Close every hub and every sibling (the served service is its owner's to close)."""
        for service in [*self._open.values(), self.served]:
            await self._close(service)
        self._open.clear()


def queue_services(request: Request) -> QueueServices:
    return request.app.state.queues  # type: ignore[no-any-return]


async def _scope(
    request: Request,
    queue: Annotated[str, Path(pattern=QUEUE_NAME, description="the queue (see /queues)")],
) -> None:
    request.scope[SCOPED_SERVICE] = await queue_services(request).get(queue)


QueueScope = Depends(_scope)
