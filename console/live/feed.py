"""The event feed: `JobService.events()` regrouped into batches a UI can digest.

A reader task drains the service's iterator into a buffer as fast as events come; the
consumer takes everything buffered at most every `interval` seconds, so a thousand events a
second become ten messages. When the consumer falls behind, batches simply grow (nothing is
dropped and the UI's message queue never fills up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from textual.message import Message

from jobdeck.core.events import Event, Events

from .refresher import FetchFailed

__all__ = ["EventsArrived", "batched", "follow", "post_batches"]

log = logging.getLogger("jobdeck.console")

_URGENT = (Events.CONNECTION_LOST, Events.CONNECTION_RESTORED)


async def batched(
    source: AsyncIterator[Event], interval: float = 0.1, max_batch: int = 20_000
) -> AsyncIterator[list[Event]]:
    buffer: list[Event] = []
    arrived = asyncio.Event()
    failure: list[BaseException] = []

    async def pump() -> None:
        try:
            async for event in source:
                buffer.append(event)
                arrived.set()
                if len(buffer) >= max_batch:
                    await asyncio.sleep(0)  # let the consumer catch up
        except Exception as exc:  # surfaces in the consumer, never silently lost
            failure.append(exc)
            arrived.set()

    loop = asyncio.get_running_loop()
    reader = loop.create_task(pump(), name="jobdeck-console-feed")
    try:
        while True:
            await arrived.wait()
            if failure:
                # What arrived before the break is news too: hand it over, then the break.
                if buffer:
                    batch, buffer[:] = buffer[:], []
                    yield batch
                raise failure[0]
            # Give the rest of this burst `interval` to arrive, except for connection news.
            if not any(e.type in _URGENT for e in buffer):
                await asyncio.sleep(interval)
            batch, buffer[:] = buffer[:], []
            arrived.clear()
            if batch:
                yield batch
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


async def follow(
    service: Any,
    interval: float,
    deliver: Callable[[list[Event]], Awaitable[None]],
    failed: Callable[[str], None],
) -> None:
    """`service.events()` in batches, handed to `deliver` one at a time, for ever: a bug or
    a broken server is reported (`failed`) and the feed starts again a second later."""
    while True:
        try:
            async for batch in batched(service.events(), interval):
                await deliver(batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a broken server must not kill the console
            log.exception("event feed failed")
            failed(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(1.0)


class EventsArrived(Message):
    """A batch of events for the app; it sets `taken` once the batch is applied."""

    def __init__(self, events: list[Event], taken: asyncio.Event) -> None:
        super().__init__()
        self.events, self.taken = events, taken


async def post_batches(service: Any, interval: float, post: Callable[[Message], object]) -> None:
    """`follow`, each batch posted as `EventsArrived` (the next waits until it is taken:
    back-pressure, batches grow instead) and a failure as `FetchFailed`."""

    async def deliver(batch: list[Event]) -> None:
        taken = asyncio.Event()
        post(EventsArrived(batch, taken))
        await taken.wait()

    def failed(error: str) -> None:
        post(FetchFailed(f"event feed: {error}"))

    await follow(service, interval, deliver, failed)
