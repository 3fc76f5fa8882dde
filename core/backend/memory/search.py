"""Search in memory: one bounded step of a scan over a status set (search.lua), a function
over the backend's `Lib`, with search.lua's rule for case (`fold`) and its bound on the
text one step searches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..fold import fold
from . import clock
from .jobs import PAGE_BYTES, capped_fields
from .jobs import page as page_ids
from .lib import Lib

__all__ = ["SEARCH_BYTES", "VALUE_BYTES", "search"]

_FIELDS = ("name", "args", "kwargs", "error", "meta")
# search.lua's bounds: the text one step searches at most, and the largest value searched
SEARCH_BYTES, VALUE_BYTES = 524_288, 131_072
_LARGEST = dict.fromkeys(_FIELDS, VALUE_BYTES) | {"meta": 4096}  # search.lua's LARGEST


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _size(value: Any) -> int:
    if isinstance(value, bytes):
        return len(value)
    return len(str(value).encode(errors="surrogatepass"))


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
    now, needle = clock.now_ms(), fold(needle)
    ids = page_ids(lib, status, max(0, offset), budget, newest_first)
    rows: list[tuple[str, Mapping[Any, Any]]] = []
    read, left, page = 0, SEARCH_BYTES, [PAGE_BYTES]
    for job_id in ids:
        rec = lib.job(job_id, now) or {}
        values = [rec[f] for f in _FIELDS if f in rec and _size(rec[f]) <= _LARGEST[f]]
        cost = sum(map(_size, values))
        if cost > left and read:
            break  # waits for the next step, which starts with the whole budget
        read += 1
        left -= cost
        if job_id.lower().startswith(needle) or any(needle in fold(_text(v)) for v in values):
            rows.append((job_id, capped_fields(rec, max_field, page)))
            if len(rows) >= limit:
                break
    return rows, offset + read, read == len(ids) and len(ids) < budget
