"""Limits over Redis where one call is not enough: a limit set on a template that holds more
keys than one limit_wake.lua call wakes. The memory engine's `flow.py` mirrors it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...codec import dumps
from ..records import MAX_LIMITS
from .connection import RedisConnection
from .replies import text

__all__ = ["set_limit"]

WAKE_STEP = 1000  # held keys one limit_set.lua or limit_wake.lua call wakes at most


async def set_limit(conn: RedisConnection, key: str, value: str, event: Mapping[str, Any]) -> int:
    reply = await conn.run("limit_set", key, value, MAX_LIMITS, dumps(dict(event)))
    existed = int(reply[0])
    if existed < 0:
        return -1
    woken, last = int(reply[1]), text(reply[2])
    while woken >= WAKE_STEP:  # a template over more held keys than one call wakes
        woken, last = await conn.run("limit_wake", key, last)
        woken, last = int(woken), text(last)
    return existed
