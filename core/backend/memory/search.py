"""Search in memory: one bounded step of a scan over a status set (search.lua)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import clock
from .engine import MemoryEngine
from .jobs import capped_fields
from .store import _STATUS_KEYS

__all__ = ["SearchMixin"]

_FIELDS = ("name", "args", "kwargs", "error")


def _lower(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return str(value).lower()


class SearchMixin(MemoryEngine):
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
        now, needle = clock.now_ms(), needle.lower()
        ids = self._s.sets[_STATUS_KEYS[status]].page(max(0, offset), budget, newest_first)
        rows: list[tuple[str, Mapping[Any, Any]]] = []
        read = 0
        for job_id in ids:
            read += 1
            rec = self._job(job_id, now) or {}
            if job_id.lower().startswith(needle) or any(
                needle in _lower(rec[f]) for f in _FIELDS if f in rec
            ):
                rows.append((job_id, capped_fields(rec, max_field)))
                if len(rows) >= limit:
                    break
        return rows, offset + read, read == len(ids) and len(ids) < budget
