"""When the console reads, and what: the periodic reconciliation and reads on demand.

One loop, one round of reads at a time (so requests that pile up while a round is in flight
merge into the next one):
- every `interval` (1 s) a full round: metrics, the window on screen, the job on the detail
  screen, and every third round the workers;
- at once when the operator waits (`urgent`: a key asked for other rows, a tab, a filter);
- `dirty_gap` after events moved rows the reducer could not place (a new job's place among
  100,000 pending ones), at most four times a second.
A round posts `Refreshed`, and the next one starts only once the app has applied it; events
that arrive meanwhile are kept (`note_events`) so the app can replay them onto the fresher
rows, which may have been read before those events happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import RedisError
from textual.message import Message

from jobdeck.core.events import Event

from .fetch import Fetcher, PageRequest, Snapshot

__all__ = ["FetchFailed", "Plan", "Refreshed", "Refresher"]

log = logging.getLogger("jobdeck.console")
_FETCH_ERRORS = (RedisError, OSError, TimeoutError)


class Refreshed(Message):
    """A round of reads, done. `urgent`: the operator is waiting for it."""

    def __init__(self, snapshot: Snapshot, urgent: bool) -> None:
        super().__init__()
        self.snapshot, self.urgent = snapshot, urgent


class FetchFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


@dataclass(frozen=True, slots=True)
class Plan:
    """What the screen shows now, asked for at the start of each round."""

    page: PageRequest
    detail_id: str | None = None
    depths: dict[str, int] | None = None  # the last counts read, if any


class Refresher:
    def __init__(
        self,
        fetcher: Fetcher,
        post: Callable[[Message], object],
        plan: Callable[[], Plan],
        *,
        interval: float = 1.0,
        dirty_gap: float = 0.25,
        timeout: float = 2.5,
        rescan: float = 2.0,
    ) -> None:
        self.fetcher, self.post, self.plan = fetcher, post, plan
        self.interval, self.dirty_gap, self.timeout, self.rescan = (
            interval,
            dirty_gap,
            timeout,
            rescan,
        )
        self.rounds = 0
        self._signal = asyncio.Event()
        self._applied = asyncio.Event()
        self._urgent = True  # the first rows show as soon as they are read
        self._dirty = False
        self._workers = True
        self._detail = False
        self._in_flight = False
        self._replay: list[Event] = []

    def request(
        self,
        *,
        urgent: bool = False,
        dirty: bool = False,
        workers: bool = False,
        detail: bool = False,
    ) -> None:
        self._urgent |= urgent
        self._dirty |= dirty
        self._workers |= workers
        self._detail |= detail
        self._signal.set()

    def note_events(self, events: list[Event]) -> None:
        """Events applied while a round is out: the app replays them onto its result."""
        if self._in_flight:
            self._replay.extend(events)

    def applied(self) -> list[Event]:
        """The app has applied the last round: returns the events to replay onto it and
        lets the next round start."""
        replay, self._replay, self._in_flight = self._replay, [], False
        self._applied.set()
        return replay

    async def _wait(self, last_full: float, last_round: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if self._urgent or now >= last_full + self.interval:
                return
            wake_at = last_full + self.interval
            if self._dirty:
                if now >= last_round + self.dirty_gap:
                    return
                wake_at = min(wake_at, last_round + self.dirty_gap)
            self._signal.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._signal.wait(), max(0.001, wake_at - now))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last_full = last_round = last_workers = last_scan = -1e9
        while True:
            await self._wait(last_full, last_round)
            now = loop.time()
            full, urgent = now >= last_full + self.interval, self._urgent
            plan = self.plan()
            page: PageRequest | None = plan.page
            if (
                plan.page.filter
                and plan.page.tab != "workers"
                and not urgent
                and now - last_scan < self.rescan
            ):
                page = None  # a filtered tab is a search: rescan now and then, or when asked
            workers = self._workers or now - last_workers >= 3 * self.interval
            detail = plan.detail_id if (self._detail or full) else None
            self._urgent = self._dirty = self._workers = self._detail = False
            self._in_flight, self._replay = True, []
            self._applied.clear()
            try:
                snapshot = await asyncio.wait_for(
                    self.fetcher.snapshot(
                        page, workers=workers, detail_id=detail, depths=plan.depths
                    ),
                    self.timeout,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._in_flight, self._replay = False, []
                if not isinstance(exc, _FETCH_ERRORS):
                    log.exception("refresh failed")
                self.post(FetchFailed(describe_error(exc)))
                last_full = last_round = loop.time()
                self.request(urgent=False, dirty=True, workers=True)  # all again, once back
                await asyncio.sleep(0.5)
                continue
            self.rounds += 1
            last_round = loop.time()
            if full:
                last_full = now
            if snapshot.workers is not None:
                last_workers = now
            if page is not None and page.filter:
                last_scan = now
            self.post(Refreshed(snapshot, urgent))
            await self._applied.wait()


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "the server does not answer"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:120]
