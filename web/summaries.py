"""Summaries pushed on the event stream (`/events?summaries=workers,queues`): what the
dashboard's Workers and Queues tabs show, read by the server once for all the clients that
asked, and sent only when it changed, so no browser re-reads them on a timer.

Why the server reads at all: a worker's arrival, heartbeat and death, and the depths of the
other queues, are not events of this queue's stream (heartbeats are not logged; other queues
log to their own streams). So while at least one client wants a summary, one task per hub
reads each wanted kind every `interval` seconds (and at once when a client joins and none
was read yet); a frame whose bytes equal the last one sent is not sent. A heartbeat is a
change (the Workers tab shows its age), so with live workers a `workers` frame goes out about
once per heartbeat; an idle queue's `queues` frame goes out once.

Bounds: one read per kind per interval whatever the number of clients; a frame holds at most
`MAX_WORKERS` workers (`omitted` counts the rest) and the overview's queues are capped by the
server's open-queue limit; each frame goes through the client's bounded queue like any
event (a client too slow is told `lagged`, as for events).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any, Protocol

import orjson

__all__ = ["KINDS", "MAX_WORKERS", "Reader", "SummaryFeed"]

KINDS = ("workers", "queues")
MAX_WORKERS = 1000  # workers in one `workers` frame; `omitted` counts the others
INTERVAL = 2.0  # seconds between two reads of a wanted kind

Reader = Callable[[], Awaitable[Any]]
log = logging.getLogger("jobdeck.web")


class Listener(Protocol):
    summaries: frozenset[str]

    def offer_frame(self, frame: bytes) -> None: ...


def summary_frame(kind: str, payload: Any) -> bytes:
    return f"event: {kind}\ndata: ".encode() + orjson.dumps(payload, default=str) + b"\n\n"


class SummaryFeed:
    """The summaries of one hub: read while wanted, each changed frame offered to the
    listeners that asked for its kind."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.readers: dict[str, Reader] = {}
        self.latest: dict[str, bytes] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def provide(self, kind: str, reader: Reader) -> None:
        """How a kind is read (set by the route that knows the app's queues)."""
        self.readers.setdefault(kind, reader)

    def join(self, listener: Listener, listeners: Callable[[], Iterable[Listener]]) -> None:
        """A client that asked for summaries: it gets the latest of each kind now, then each
        change. `listeners()` are every client of the hub (read on each round)."""
        if not listener.summaries:
            return
        for kind in sorted(listener.summaries):
            frame = self.latest.get(kind)
            if frame is not None:
                listener.offer_frame(frame)
            else:
                self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(listeners), name="jobdeck-summaries"
            )

    async def left(self, remaining: Collection[Listener]) -> None:
        """A client left: with no client wanting summaries the reads stop (and what was last
        read is forgotten: it would be stale by the next join)."""
        if any(listener.summaries for listener in remaining):
            return
        await self.close()

    async def close(self) -> None:
        self.latest.clear()
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _run(self, listeners: Callable[[], Iterable[Listener]]) -> None:
        while True:
            self._wake.clear()
            clients = tuple(listeners())
            wanted = sorted({kind for c in clients for kind in c.summaries} & self.readers.keys())
            for kind in wanted:
                try:
                    frame = summary_frame(kind, await self.readers[kind]())
                except Exception as exc:  # the store is away: the event stream says so
                    log.debug("summary %s not read: %s", kind, type(exc).__name__)
                    continue
                if frame == self.latest.get(kind):
                    continue
                self.latest[kind] = frame
                for client in tuple(listeners()):
                    if kind in client.summaries:
                        client.offer_frame(frame)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
