"""Windows over lists that live in two sorted sets, fetched a page at a time.

The Pending tab is pending jobs (run order) followed by scheduled ones (due time): a window
over the concatenation. History is completed and cancelled jobs merged newest first: the
window at offset k starts after the first k items of the merge, and a binary search on
single-row probes finds how many of those come from each list, so a window deep in a long
history costs a few dozen tiny reads instead of reading everything above it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["concat_page", "merged_page"]

Fetch = Callable[[int, int], Awaitable[list[Any]]]  # (offset, limit) -> rows
_ROUNDS = 4  # reads of one list for one window, at most


async def concat_page(
    first: Fetch, first_size: int, second: Fetch, offset: int, limit: int
) -> list[Any]:
    """Rows `offset .. offset+limit` of `first` followed by `second`.

    A list can hold places that are no longer rows (a cancelled pending job keeps its place
    until a claim drops it, and a read leaves it out): `first` is asked for the whole
    window's places, not just the rows its size says are left, and when it answers fewer
    rows than its size says follow, the places after are read too (a few rounds at most),
    so its last rows are not lost behind such places. (A window whose places are all such
    places answers nothing from `first`, as a list that shrank does, until a claim drops
    them; windows are a few screens of rows.)"""
    rows: list[Any] = []
    if offset < first_size:
        at, wanted = offset, min(limit, first_size - offset)
        for _ in range(_ROUNDS):
            got = await first(at, limit - len(rows))
            at += limit - len(rows)
            rows += got
            if not got or len(rows) >= wanted:
                break  # (nothing at all: the list ended; it shrank since it was counted)
    remaining = limit - len(rows)
    if remaining > 0:
        # If `first` shrank since its size was read, `second` starts right after what we got.
        start = max(0, offset - first_size) if offset >= first_size else 0
        rows += await second(start, remaining)
    return rows


async def merged_page(
    a: Fetch,
    a_size: int,
    b: Fetch,
    b_size: int,
    offset: int,
    limit: int,
    key: Callable[[Any], float],
) -> list[Any]:
    """Rows `offset .. offset+limit` of `a` and `b` merged by descending `key` (both lists
    are already in that order; ties go to `a`)."""
    cache: dict[tuple[int, int], Any] = {}

    async def probe(which: int, index: int) -> float | None:
        if (which, index) not in cache:
            rows = await (a if which == 0 else b)(index, 1)
            cache[which, index] = rows[0] if rows else None
        row = cache[which, index]
        return None if row is None else key(row)

    lo, hi = max(0, offset - b_size), min(offset, a_size)
    # Largest i in [lo, hi] such that a[i-1] comes before b[offset-i] in the merge.
    while lo < hi:
        mid = (lo + hi + 1) // 2
        ka, kb = await probe(0, mid - 1), await probe(1, offset - mid)
        if ka is None:
            hi = mid - 1
        elif kb is None or ka >= kb:
            lo = mid
        else:
            hi = mid - 1
    split = lo
    rows_a = await a(split, limit) if split < a_size or offset == 0 else []
    rows_b = await b(offset - split, limit) if offset - split < b_size or offset == 0 else []
    merged: list[Any] = []
    ia = ib = 0
    while len(merged) < limit and (ia < len(rows_a) or ib < len(rows_b)):
        if ib >= len(rows_b) or (ia < len(rows_a) and key(rows_a[ia]) >= key(rows_b[ib])):
            merged.append(rows_a[ia])
            ia += 1
        else:
            merged.append(rows_b[ib])
            ib += 1
    return merged
