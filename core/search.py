"""Finding jobs among millions with a bounded cost per call: a scan with a budget and a cursor.

No index is kept: submit and finish stay as cheap as they are. Instead, each call reads at
most `budget` records (one Lua step per status, a few milliseconds of Redis time for a few
thousand records) and hands back a cursor to resume from, so a console spends a known amount
per keystroke and pages through the results as the operator scrolls. A record matches when
its id starts with the text, or its name, args, kwargs, error (message and traceback) or
meta contain it, ignoring case. An exact job id is found at once, whatever the budget.

The cursor is a position in the status sets, which move while jobs run: a job that moves
during a long scan may be seen twice or missed, as with any paging over a live list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .models import JobDefinition, JobStatus
from .reading import decode_or_stub

__all__ = ["SEARCHABLE", "SearchPage", "parse_cursor", "search_page", "search_step"]

SEARCHABLE = (
    "pending", "scheduled", "running", "failed", "completed", "cancelled", "waiting", "expired",
)
_MAX_TEXT = 200
_PER_CALL = 1000  # records one script call reads at most (~4 us each, and 512 KB of text)


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One step of a search: the matches it found, where to resume (None: every status was
    read to its end), and how many records it read."""

    jobs: list[JobDefinition]
    cursor: str | None
    scanned: int

    @property
    def done(self) -> bool:
        return self.cursor is None


def check_search(
    text: Any, statuses: Sequence[JobStatus | str] | None, limit: Any, budget: Any
) -> tuple[str, tuple[str, ...]]:
    """Validated arguments, or ValueError naming the field."""
    if not isinstance(text, str) or not text.strip() or len(text) > _MAX_TEXT:
        raise ValueError(f"text: expected 1-{_MAX_TEXT} characters, got {text!r}")
    chosen = tuple(JobStatus(s).value for s in (statuses or SEARCHABLE))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise ValueError(f"limit: expected 1-10000, got {limit!r}")
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= 100_000:
        raise ValueError(f"budget: expected 1-100000 records, got {budget!r}")
    return text.strip(), chosen


def parse_cursor(cursor: str | None, statuses: Sequence[str]) -> tuple[int, int]:
    """(index into `statuses`, offset in that status's set). A cursor past the last status
    (from a search over more statuses) is at the end: nothing more is read."""
    if cursor is None:
        return 0, 0
    index, _, offset = str(cursor).partition(":")
    try:
        where = int(index), int(offset)
    except ValueError:
        raise ValueError(f"cursor: not a search cursor: {cursor!r}") from None
    if where[0] < 0 or where[1] < 0:
        raise ValueError(f"cursor: not a search cursor: {cursor!r}")
    return min(where[0], len(statuses)), where[1]


async def search_step(
    backend: Any,
    text: str,
    statuses: Sequence[str],
    cursor: str | None,
    limit: int,
    budget: int,
    max_field: int = 0,
) -> tuple[list[tuple[str, Mapping[Any, Any]]], str | None, int]:
    """Scan from `cursor` until `limit` matches or `budget` records: (matches, cursor, read)."""
    index, offset = parse_cursor(cursor, statuses)
    found: list[tuple[str, Mapping[Any, Any]]] = []
    read = 0
    while index < len(statuses) and read < budget and len(found) < limit:
        status = statuses[index]
        newest_first = JobStatus(status).is_terminal
        rows, next_offset, ended = await backend.search(
            status,
            text,
            offset,
            min(_PER_CALL, budget - read),
            limit - len(found),
            newest_first,
            max_field,
        )
        found += rows
        read += next_offset - offset
        offset = next_offset
        if ended:
            index, offset = index + 1, 0
    return found, (None if index >= len(statuses) else f"{index}:{offset}"), read


async def search_page(
    backend: Any,
    text: str,
    statuses: Sequence[str],
    cursor: str | None,
    limit: int,
    budget: int,
    max_field: int = 0,
) -> SearchPage:
    """One step of `JobService.search_jobs`, decoded. The first step puts an exact id match
    first, found by one read whatever the budget: an operator pasting an id from a log line
    must not wait for a scan to reach it."""
    rows, next_cursor, read = await search_step(
        backend, text, statuses, cursor, limit, budget, max_field
    )
    jobs = [decode_or_stub(job_id, fields) for job_id, fields in rows]
    if cursor is None and 0 < len(text) <= 128:
        fields = await backend.get(text, max_field)
        exact = None if fields is None else decode_or_stub(text, fields)
        if exact is not None and exact.status.value in statuses:
            jobs = [exact, *(job for job in jobs if job.id != exact.id)]
    return SearchPage(jobs, next_cursor, read)
