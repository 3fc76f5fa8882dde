"""The `/` filter over a whole queue: the server's search, resumed a bounded step per round.

A filtered tab is a search (`JobService.search_jobs`). Each round of reads continues it from
its cursor by at most `budget` records (so one keystroke costs a known amount of Redis time,
whatever the size of the queue) and the results grow on screen until the lists have been
read to their end or `max_rows` matches are held. Once a pass is done, later passes (every
few seconds) run in the background while the last complete result stays on screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .limits import ROW_FIELD_BYTES
from .state import TAB_STATUSES, JobRow

__all__ = ["Search", "SearchResult"]

_STEP_LIMIT = 500  # matches per service call


@dataclass(slots=True)
class _Pass:
    rows: list[JobRow] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    cursor: str | None = None
    scanned: int = 0
    done: bool = False
    started: bool = False


@dataclass(frozen=True, slots=True)
class SearchResult:
    rows: list[JobRow]
    scanned: int  # records read by the pass whose rows these are (so far)
    done: bool  # that pass read every list to its end (or holds `max_rows`)


class Search:
    """One search at a time (the filter on the active tab), resumed round after round."""

    def __init__(self, service: Any, *, budget: int = 20_000, max_rows: int = 10_000) -> None:
        self.service, self.budget, self.max_rows = service, budget, max_rows
        self.key: tuple[str, str] | None = None
        self.shown: _Pass | None = None  # the last complete pass
        self.current = _Pass()

    async def step(self, tab: str, text: str) -> SearchResult:
        """Continue the search for `text` on `tab` by at most `budget` records."""
        if self.key != (tab, text):
            self.key, self.shown, self.current = (tab, text), None, _Pass()
        elif self.current.done:
            self.shown, self.current = self.current, _Pass()  # a fresh pass, in the background
        run = self.current
        read = 0
        statuses = TAB_STATUSES[tab]
        while not run.done and read < self.budget:
            page = await self.service.search_jobs(
                text,
                statuses,
                cursor=run.cursor,
                limit=min(_STEP_LIMIT, self.max_rows - len(run.rows)),
                budget=self.budget - read,
                max_field_bytes=ROW_FIELD_BYTES,
            )
            run.started = True
            read += page.scanned
            run.scanned += page.scanned
            for job in page.jobs:
                if job.id not in run.seen:
                    run.seen.add(job.id)
                    run.rows.append(JobRow.from_job(job))
            run.cursor = page.cursor
            run.done = page.done or len(run.rows) >= self.max_rows
            if page.scanned == 0 and not page.jobs and not page.done:
                break  # nothing read: do not spin
        shown = run if run.done or self.shown is None else self.shown
        rows = shown.rows
        if tab == "history":
            rows = sorted(rows, key=lambda row: row.finished_at or 0.0, reverse=True)
        return SearchResult(list(rows), shown.scanned, shown.done)
