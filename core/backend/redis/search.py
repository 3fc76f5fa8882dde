"""Search: one bounded step of a scan over a status set (search.lua)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .engine import _STATUS_KEYS, RedisEngine, _pairs, _s

__all__ = ["SearchMixin"]


class SearchMixin(RedisEngine):
    async def search(
        self,
        status: str,
        needle: str,
        offset: int,
        budget: int,
        limit: int,
        newest_first: bool,
        max_field: int = 0,
    ) -> tuple[list[tuple[str, Mapping[Any, Any]]], int, bool]:
        next_offset, ended, flat = await self._run(
            "search",
            _STATUS_KEYS[status],
            offset,
            budget,
            limit,
            "1" if newest_first else "0",
            needle.lower(),
            max_field,
        )
        rows = [(_s(flat[i]), _pairs(flat[i + 1])) for i in range(0, len(flat), 2)]
        return rows, int(next_offset), bool(int(ended))
