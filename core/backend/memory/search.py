"""Search in memory: one bounded step of a scan over a status set (search.lua), a function
over the backend's `Lib`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...keys import STATUS_KEYS
from . import clock
from .jobs import capped_fields
from .lib import Lib

__all__ = ["search"]

_FIELDS = ("name", "args", "kwargs", "error")


def _lower(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return str(value).lower()


def search(
    lib: Lib,
    status: str,
    needle: str,
    offset: int,
    budget: int,
    limit: int,
    newest_first: bool,
    max_field: int = 0,
) -> tuple[list[tuple[str, Mapping[Any, Any]]], int, bool]:
    now, needle = clock.now_ms(), needle.lower()
    ids = lib.s.sets[STATUS_KEYS[status]].page(max(0, offset), budget, newest_first)
    rows: list[tuple[str, Mapping[Any, Any]]] = []
    read = 0
    for job_id in ids:
        read += 1
        rec = lib.job(job_id, now) or {}
        if job_id.lower().startswith(needle) or any(
            needle in _lower(rec[f]) for f in _FIELDS if f in rec
        ):
            rows.append((job_id, capped_fields(rec, max_field)))
            if len(rows) >= limit:
                break
    return rows, offset + read, read == len(ids) and len(ids) < budget
