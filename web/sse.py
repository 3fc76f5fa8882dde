"""Live events for HTTP clients: one reader of the event log per server, fanned out.

Each event is read from the log once and encoded once as an SSE frame (`id:` is its stream
id, `event:` its type, `data:` its JSON); every connected client gets the same bytes through
a bounded queue of its own. A client that falls further behind than its queue is told so
(`event: lagged`) and disconnected: its browser reconnects with `Last-Event-ID` and catches up
from the log, so a slow client never slows the others and never silently misses events.

Resuming: a client that sends `Last-Event-ID` is first replayed what it missed, read from the
log, up to the point where the live feed took over, then joins the live feed: no gap, no
duplicate. If the log's cap has already dropped some of what it missed, it first gets
`event: reset` (data: `{"reason": "trimmed", "after": ...}`) and then every event still kept:
its view may be stale and it should refetch what it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field

import orjson

from jobdeck.core import Event, Events, JobService
from jobdeck.core.events import event_key

from .summaries import SummaryFeed

__all__ = ["EventHub", "encode_event"]

_TYPE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_UNSTORED = (Events.CONNECTION_LOST, Events.CONNECTION_RESTORED)
LAGGED = b'event: lagged\ndata: {"reason": "client too slow; reconnect with Last-Event-ID"}\n\n'


def encode_event(event: Event) -> bytes:
    kind = str(event.type)
    if not _TYPE.match(kind):  # a log entry someone else wrote: never break the framing
        kind = "UNKNOWN"
    data = orjson.dumps(
        {
            "id": event.id or None,
            "type": kind,
            "timestamp": event.timestamp,
            "job_id": event.job_id,
            "name": event.name,
            "status": event.status,
            "data": event.data,
        },
        default=str,
    )
    head = f"id: {event.id}\n" if event.id and event.type not in _UNSTORED else ""
    return f"{head}event: {kind}\ndata: ".encode() + data + b"\n\n"


@dataclass(eq=False)
class Client:
    """One SSE connection's share of the feed: frames waiting to be written, bounded."""

    types: frozenset[str] | None
    limit: int
    summaries: frozenset[str] = frozenset()  # the summaries it asked for (`summaries.py`)
    frames: deque[tuple[str, bytes]] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    lagged: bool = False

    def offer(self, kind: str, event_id: str, frame: bytes) -> None:
        if self.types is not None and kind not in self.types:
            return
        self._queue(event_id, frame)

    def offer_frame(self, frame: bytes) -> None:
        """A summary: no event id (it is never replayed, and never skipped as replayed)."""
        self._queue("", frame)

    def _queue(self, event_id: str, frame: bytes) -> None:
        if self.lagged:
            return
        if len(self.frames) >= self.limit:
            self.lagged = True  # what it has not read is dropped: it resumes from the log
            self.frames.clear()
        else:
            self.frames.append((event_id, frame))
        self.ready.set()


class EventHub:
    """Fans the event log out to SSE clients. Runs while it has clients, on the loop of the
    first; stops when the last leaves."""

    def __init__(
        self,
        service: JobService,
        *,
        client_buffer: int = 10_000,
        summaries: SummaryFeed | None = None,
    ) -> None:
        self.service = service
        self.client_buffer = client_buffer
        self.summaries = summaries or SummaryFeed()
        self.clients: set[Client] = set()
        self.position = "0-0"  # id of the newest event fanned out
        self._task: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None

    async def _start(self) -> None:
        if self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._started = loop.create_future()
            self._task = loop.create_task(self._run(self._started), name="jobdeck-sse-hub")
        assert self._started is not None
        await asyncio.shield(self._started)

    async def _run(self, started: asyncio.Future[None]) -> None:
        try:
            self.position = await self.service.last_event_id()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise
        started.set_result(None)
        async for event in self.service.events(after=self.position):
            kind = str(event.type)
            if event.type not in _UNSTORED:
                self.position = event.id
            frame = encode_event(event)
            for client in tuple(self.clients):
                client.offer(kind, event.id, frame)

    async def close(self) -> None:
        self.clients.clear()
        await self.summaries.close()
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _leave(self, client: Client) -> None:
        self.clients.discard(client)
        await self.summaries.left(self.clients)
        if not self.clients and self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def stream(
        self,
        after: str | None,
        types: Collection[str] | None,
        heartbeat: float,
        summaries: Collection[str] = (),
    ) -> AsyncIterator[bytes]:
        """The SSE byte stream of one client (with the summaries it asked for)."""
        await self._start()
        client = Client(
            frozenset(types) if types else None, self.client_buffer, frozenset(summaries)
        )
        self.clients.add(client)
        self.summaries.join(client, lambda: self.clients)
        joined_at = self.position
        try:
            yield b"retry: 2000\n\n"
            floor = joined_at
            if after is not None and event_key(after) < event_key(joined_at):
                if await self.service.events_lost_after(after):
                    yield (
                        b"event: reset\ndata: "
                        + orjson.dumps({"reason": "trimmed", "after": after})
                        + b"\n\n"
                    )
                async for frame in self._replay(after, joined_at, client.types):
                    yield frame
            elif after is not None:
                floor = after
            floor_key = event_key(floor)
            frames = client.frames
            while True:
                if not frames and not client.lagged:
                    client.ready.clear()
                    try:
                        await asyncio.wait_for(client.ready.wait(), heartbeat)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                if client.lagged:
                    yield LAGGED
                    return
                # Everything waiting goes out as one write: at a thousand events a second a
                # client costs one send per wake-up, not one per event.
                out: list[bytes] = []
                while frames and len(out) < 1000:
                    event_id, frame = frames.popleft()
                    if event_id and event_key(event_id) <= floor_key:
                        continue  # already replayed
                    out.append(frame)
                if out:
                    yield b"".join(out)
        finally:
            await self._leave(client)

    async def _replay(
        self, after: str, until: str, types: frozenset[str] | None
    ) -> AsyncIterator[bytes]:
        """What the log holds after `after`, up to and including `until`."""
        until_key = event_key(until)
        events = self.service.events(after=after)
        try:
            async for event in events:
                if event.type in _UNSTORED:
                    yield encode_event(event)
                    continue
                key = event_key(event.id)
                if key > until_key:
                    return
                if types is None or str(event.type) in types:
                    yield encode_event(event)
                if key == until_key:
                    return
        finally:
            await events.aclose()  # type: ignore[attr-defined]
