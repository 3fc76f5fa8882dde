"""The memory engine's long history and per-name counts, as `long_history`, `count_names`
and history.lua keep and read them in Redis: per kind (s submitted, c completed, f failed),
one map per hour of its minutes (`hm:<kind>:<hour>`, kept 25 h) and one per day of its hours
(`hh:<kind>:<day>`, kept 31 days); names in one map of at most ~200 `<kind>:<name>` fields."""

from __future__ import annotations

from .store import _Store

__all__ = ["count_name", "note", "read"]

_NAMES_FIELDS = 202  # as count_names: past this, a new field counts under 'other'


def note(s: _Store, now_ms: int, submitted: float, completed: float, failed: float) -> None:
    sec = now_ms // 1000
    hour, day = sec // 3600, sec // 86400
    for kind, value in (("s", submitted), ("c", completed), ("f", failed)):
        if value:
            _add(s, f"hm:{kind}:{hour}", (sec // 60) % 60, int(value), (hour + 25) * 3600_000)
            _add(s, f"hh:{kind}:{day}", hour % 24, int(value), (day + 31) * 86400_000)
    if len(s.long) > 4 * (3 * 25 + 3 * 31):  # expired keys go now and then, not every call
        for key in [key for key, at in s.long_expires.items() if at <= now_ms]:
            del s.long[key], s.long_expires[key]


def _add(s: _Store, key: str, field: int, value: int, expires_ms: int) -> None:
    counts = s.long.setdefault(key, {})
    counts[field] = counts.get(field, 0) + value
    s.long_expires[key] = expires_ms


def count_name(s: _Store, name: object, kind: str) -> None:
    if not isinstance(name, str):
        return
    field = f"{kind}:{name}"
    if field not in s.names and len(s.names) >= _NAMES_FIELDS:
        field = f"{kind}:other"
    s.names[field] = s.names.get(field, 0) + 1


def read(s: _Store, now_ms: int, minutes: bool, count: int) -> list[tuple[str, int, int, int]]:
    """(kind, bucket number, ..) -> [(kind, key number, field, count)] of the span asked."""
    step, span = (60, 3600) if minutes else (3600, 86400)
    last = now_ms // 1000 // step
    first = last - min(count, 1440 if minutes else 720) + 1
    found = []
    for kind in ("s", "c", "f"):
        for key in range(first * step // span, last * step // span + 1):
            name = f"{'hm' if minutes else 'hh'}:{kind}:{key}"
            if s.long_expires.get(name, 0) > now_ms:
                found += [(kind, key, field, n) for field, n in s.long.get(name, {}).items()]
    return found
