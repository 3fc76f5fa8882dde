"""Limits in memory (limit_set.lua, limit_wake.lua, limits.lua): set, remove and read them,
functions over the backend's `Lib`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...codec import dumps
from ..records import MAX_LIMITS, RawLimits
from . import clock
from .lib import Lib

__all__ = ["limits", "set_limit"]


def set_limit(lib: Lib, key: str, value: str, event: Mapping[str, Any]) -> int:
    throttle, now = lib.s.lanes.throttle, clock.now_ms()
    existed = key in throttle.limits
    if not value:
        if not existed:
            return 0
        del throttle.limits[key]
    else:
        if not existed and len(throttle.limits) >= MAX_LIMITS:
            return -1
        throttle.limits[key] = value
    lib.emit(now, "LIMIT_CHANGED", "", "", "", dumps(dict(event)))
    lib.wake(throttle.wake_held(key, now))
    return int(existed)


def limits(lib: Lib) -> RawLimits:
    throttle = lib.s.lanes.throttle
    return RawLimits(dict(throttle.limits), dict(throttle.throttled), dict(throttle.in_use))
