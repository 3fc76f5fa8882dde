"""The event stream and the metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.exceptions import ResponseError

from ...codec import dumps
from ...events import Event
from ..base import RawMetrics
from .engine import _DEPTH_ORDER, RedisEngine, _pairs, _s

__all__ = ["EventsMixin"]


class EventsMixin(RedisEngine):
    async def metrics(self, window: int) -> RawMetrics:
        now, depths, totals, buckets, paused, hist, through = await self._run("metrics", window)
        return RawMetrics(
            now=float(now),
            depths=dict(zip(_DEPTH_ORDER, (int(d) for d in depths), strict=True)),
            totals={k: int(v) for k, v in _pairs(totals).items()},
            buckets=[{k: int(v) for k, v in _pairs(b).items()} for b in buckets],
            paused=bool(paused),
            histograms={k: int(v) for k, v in _pairs(hist).items()},
            events_through=_s(through),
        )

    async def read_events(self, after: str | None, count: int, block: float) -> list[Event]:
        reply = await self._blocking(
            "XREAD",
            "COUNT",
            count,
            "BLOCK",
            max(1, int(block * 1000)),
            "STREAMS",
            self._p + "events",
            after or "$",
        )
        events: list[Event] = []
        for _stream, entries in reply or ():
            events.extend(Event.from_fields(_s(eid), _pairs(fields)) for eid, fields in entries)
        return events

    async def last_event_id(self) -> str:
        last = await self.client.xrevrange(self._p + "events", count=1)
        return _s(last[0][0]) if last else "0-0"

    async def trimmed_through(self) -> str:
        try:
            info = await self.client.xinfo_stream(self._p + "events")
        except ResponseError:  # no stream yet
            return "0-0"
        # Redis >= 7 keeps the newest id the cap removed; older servers cannot tell.
        value = info.get("max-deleted-entry-id", info.get(b"max-deleted-entry-id", "0-0"))
        return _s(value) if value else "0-0"

    async def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        await self._run("emit", event_type, dumps(dict(data)))
