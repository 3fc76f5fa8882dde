"""The event log and the metrics in memory (XREAD on `events`, emit.lua, metrics.lua)."""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Mapping
from itertools import islice
from operator import itemgetter
from typing import Any

from ...codec import dumps
from ...events import Event
from ..base import RawMetrics
from . import clock
from .clock import fmt_s as _fmt_s
from .engine import MemoryEngine
from .store import _STAT_TTL_S, _STATUS_KEYS, EventKey, _parse_event_id

__all__ = ["EventsMixin"]


class EventsMixin(MemoryEngine):
    async def metrics(self, window: int) -> RawMetrics:
        s, now = self._s, clock.now_ms()
        sec = now // 1000
        buckets = [
            dict(s.stats.get(t, {})) if t > sec - _STAT_TTL_S else {}
            for t in range(sec - window + 1, sec + 1)
        ]
        return RawMetrics(
            now=float(_fmt_s(now)),
            depths={name: len(s.sets[key]) for name, key in _STATUS_KEYS.items()},
            totals=dict(s.totals),
            buckets=buckets,
            paused=s.paused is not None,
            histograms=dict(s.histograms),
            events_through=f"{s.events[-1][0][0]}-{s.events[-1][0][1]}" if s.events else "0-0",
        )

    def _events_after(self, floor: EventKey, count: int) -> list[Event]:
        events = self._s.events
        start = bisect_right(events, floor, key=itemgetter(0))
        newer = len(events) - start
        if newer <= 0:
            return []
        if start <= newer:  # walk from whichever end is nearer
            chosen = list(islice(events, start, start + count))
        else:
            chosen = list(islice(reversed(events), newer))[::-1][:count]
        return [Event.from_fields(f"{key[0]}-{key[1]}", fields) for key, fields in chosen]

    async def read_events(self, after: str | None, count: int, block: float) -> list[Event]:
        floor = self._s.last_event if after in (None, "$") else _parse_event_id(after)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.001, block)
        while True:
            found = self._events_after(floor, max(1, count))
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                return found
            await self._s.event_signal.wait(remaining)

    async def last_event_id(self) -> str:
        if not self._s.events:
            return "0-0"
        ms, seq = self._s.events[-1][0]
        return f"{ms}-{seq}"

    async def trimmed_through(self) -> str:
        ms, seq = self._s.trimmed_through
        return f"{ms}-{seq}"

    async def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        self._emit(clock.now_ms(), event_type, data=dumps(dict(data)))
