"""The time mode (`t`): a cursor over the past the event log holds, and what it shows.

`TimeMode` keeps the `Past` fed from the first time the time mode or the charts are opened
(until then it keeps nothing: most operators never time_mode): it loads the stored log in the
background (small pages, folded in slices of a few milliseconds so keys and the live feed get
their turn, while live events wait in a buffer so everything is folded in order), then folds
live events as they arrive, within the history's bound. In time mode the painter draws the
rebuilt state instead of the live one, so the live state (and what it fetches) never
changes: esc simply draws it again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from redis.exceptions import RedisError
from textual.message import Message

from jobdeck.core.events import Event, event_key

from ..live.state import ConsoleState
from .past import TIME_MODE_JOBS, Moment, Past

__all__ = ["STEPS", "TimeMode"]

STEPS = {"": 1.0, "shift": 10.0, "ctrl": 60.0}  # seconds per ←/→, by modifier
# Events per read of the stored log: decoding a page holds the event loop (~35 µs an event),
# so a page is a few tens of milliseconds at most. Folding yields every `_SLICE` seconds.
_PAGE = 500
_SLICE = 0.01
_WAITING = 50_000
_LOST = (RedisError, OSError, TimeoutError)


def _key(event_id: str) -> tuple[int, int]:
    try:
        return event_key(event_id)
    except ValueError:
        return (0, 0)


class TimeMode:
    """Messages it posts: `Loaded` once the stored log is in."""

    class Loaded(Message):
        def __init__(self, events: int) -> None:
            super().__init__()
            self.events = events

    def __init__(
        self, service: Any, post: Callable[[Message], object], *, jobs: int = TIME_MODE_JOBS
    ) -> None:
        self.service, self.post = service, post
        self.past = Past(jobs)
        self.started = False  # the stored log asked for: live events are kept from now on
        self.ready = False
        self.loaded = 0
        # Live events that came while the stored log loads. The loader stops at the first
        # one, so when more wait than this the oldest are dropped: it reads them from the
        # log instead (a bound on the buffer whatever the log's size and the event rate).
        self._waiting: deque[Event] = deque(maxlen=_WAITING)
        self.cursor: float | None = None  # None: live

    # -- feeding the past -------------------------------------------------------------
    def live(self, events: list[Event]) -> None:
        if not self.started:
            return  # nothing is kept until the past is first asked for (the log has it)
        if self.ready:
            self.past.add_all(events)
        else:
            self._waiting.extend(events)

    def start(self) -> Callable[[], Coroutine[Any, Any, None]]:
        """From now on live events are kept; returns the loader of the stored log, to run
        in the background (live events wait for it). The loader, not its coroutine: a
        console closed before it starts leaves no coroutine behind that never ran."""
        self.started = True
        return self.load

    async def load(self) -> None:
        """Fold in the stored log up to where the live feed began, then the buffered live
        events (the two overlap a little: events are folded once, by id)."""
        self.started = True
        after = "0-0"
        loop = asyncio.get_running_loop()
        try:
            while True:
                page = await self._page(after)
                if not page:
                    break
                joined, pause_at = self._joined(), loop.time() + _SLICE
                for event in page:
                    if joined is not None and _key(event.id) >= joined:
                        return
                    self.past.add(event)
                    self.loaded += 1
                    if loop.time() >= pause_at:
                        await asyncio.sleep(0)  # keys and live events go first
                        joined, pause_at = self._joined(), loop.time() + _SLICE
                after = page[-1].id
                await asyncio.sleep(0)
        finally:
            done = _key(self.past.loaded_through or "0-0")
            waiting, self._waiting = self._waiting, deque(maxlen=_WAITING)
            self.past.add_all(e for e in waiting if not e.id or _key(e.id) > done)
            self.ready = True
            self.post(self.Loaded(self.loaded))

    async def _page(self, after: str) -> list[Event]:
        """A page of the stored log. A lost server is waited for (the header says so); the
        load goes on where it was once the server answers again."""
        while True:
            try:
                return list(await self.service.event_log(after, _PAGE))
            except _LOST:
                await asyncio.sleep(1.0)

    def _joined(self) -> tuple[int, int] | None:
        """The id of the first live event buffered, if one has come."""
        for event in self._waiting:
            if event.id:
                return _key(event.id)
        return None

    # -- the cursor ----------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.cursor is not None

    def span(self) -> tuple[float, float] | None:
        return self.past.span()

    def enter(self) -> bool:
        span = self.span()
        if span is None:
            return False
        self.cursor = span[1]
        return True

    def leave(self) -> None:
        self.cursor = None

    def step(self, seconds: float) -> None:
        span = self.span()
        if span is None or self.cursor is None:
            return
        self.cursor = min(span[1], max(span[0], self.cursor + seconds))

    def jump_burst(self, direction: int) -> bool:
        if self.cursor is None:
            return False
        found = self.past.next_burst(self.cursor, direction)
        if found is None:
            return False
        self.cursor = found + 0.999  # the end of the burst's second: its failures show
        return True

    def moment(self, live: ConsoleState) -> Moment:
        assert self.cursor is not None
        return self.past.at(self.cursor, live)
