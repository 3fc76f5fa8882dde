"""The event log and the metrics in memory (XREAD on `events`, emit.lua, metrics.lua):
functions over the backend's `Lib`; only `read_events`, a blocking read, awaits."""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Mapping
from itertools import islice
from operator import itemgetter
from typing import Any

from ...codec import dumps
from ...events import Event
from ...keys import STATUS_KEYS
from ..base import RawHistory, RawMetrics
from ..records import MAX_PARKED_NAMES
from . import clock, history
from .clock import fmt_s as _fmt_s
from .lib import Lib
from .store import _STAT_TTL_S, EventKey, _parse_event_id

__all__ = ["emit", "last_event_id", "metrics", "read_events", "trimmed_through"]


def metrics(lib: Lib, window: int) -> RawMetrics:
    s, now = lib.s, clock.now_ms()
    sec, window = now // 1000, min(window, _STAT_TTL_S)  # as metrics.lua: the buckets kept
    buckets = [
        dict(s.stats.get(t, {})) if t > sec - _STAT_TTL_S else {}
        for t in range(sec - window + 1, sec + 1)
    ]
    lanes = s.lanes
    depths = {name: len(s.sets[key]) for name, key in STATUS_KEYS.items()}
    depths["pending"] += lanes.total()
    parked = [(int(count), name) for count, name in lanes.parked.items()]
    return RawMetrics(
        now=float(_fmt_s(now)),
        depths=depths,
        totals=dict(s.totals),
        buckets=buckets,
        paused=s.paused is not None,
        histograms=dict(s.histograms),
        events_through=f"{s.events[-1][0][0]}-{s.events[-1][0][1]}" if s.events else "0-0",
        throttled=dict(lanes.throttle.throttled),
        parked={name: count for count, name in reversed(parked[-MAX_PARKED_NAMES:])},
        throttled_total=lanes.throttle.count,
        parked_total=lanes.counts.get("parked", 0),
        names=dict(s.names),
    )


def long_history(lib: Lib, minutes: bool, count: int) -> RawHistory:
    now = clock.now_ms()
    step = 60 if minutes else 3600
    per_key = 60 if minutes else 24
    last = now // 1000 // step
    count = min(count, 1440 if minutes else 720)
    counts = {
        (kind, key * per_key + place): n
        for kind, key, place, n in history.read(lib.s, now, minutes, count)
    }
    return RawHistory(float(_fmt_s(now)), step, last - count + 1, count, counts)


def _events_after(lib: Lib, floor: EventKey, count: int) -> list[Event]:
    events = lib.s.events
    start = bisect_right(events, floor, key=itemgetter(0))
    newer = len(events) - start
    if newer <= 0:
        return []
    if start <= newer:  # walk from whichever end is nearer
        chosen = list(islice(events, start, start + count))
    else:
        chosen = list(islice(reversed(events), newer))[::-1][:count]
    return [Event.from_fields(f"{key[0]}-{key[1]}", fields) for key, fields in chosen]


async def read_events(lib: Lib, after: str | None, count: int, block: float) -> list[Event]:
    s = lib.s
    with s.lock:
        floor = s.last_event if after in (None, "$") else _parse_event_id(after)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.001, block)
    while True:
        with s.lock:
            seen = s.event_signal.version
            found = _events_after(lib, floor, max(1, count))
        remaining = deadline - loop.time()
        if found or remaining <= 0:
            return found
        await s.event_signal.wait(remaining, seen)


def last_event_id(lib: Lib) -> str:
    if not lib.s.events:
        return "0-0"
    ms, seq = lib.s.events[-1][0]
    return f"{ms}-{seq}"


def trimmed_through(lib: Lib) -> str:
    ms, seq = lib.s.trimmed_through
    return f"{ms}-{seq}"


def emit(lib: Lib, event_type: str, data: Mapping[str, Any]) -> None:
    lib.emit(clock.now_ms(), event_type, data=dumps(dict(data)))
