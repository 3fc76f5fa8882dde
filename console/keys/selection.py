"""Several rows at once: the multi-selection of each job tab.

Space toggles the row under the cursor, shift+arrows select as they move, `a` selects every
row matching the filter (the search's results), or the whole list when it is short enough
to read. The selection is kept by job id in the tab's `TabView.marked`; the actions then act
on it with one confirmation that says how many.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message

from ..live.limits import ROW_FIELD_BYTES
from ..live.state import TAB_STATUSES, ConsoleState, JobRow

__all__ = ["MAX_SELECTED", "Selection"]

MAX_SELECTED = 10_000  # `a` on a longer list asks to narrow it with / first


class Selection:
    """Messages it posts: `Changed` (redraw that tab), `Noted` from actions for refusals."""

    class Changed(Message):
        def __init__(self, tab: str, note: str = "") -> None:
            super().__init__()
            self.tab, self.note = tab, note

    def __init__(
        self, service: Any, state: ConsoleState, post: Callable[[Message], object]
    ) -> None:
        self.service, self.state, self.post = service, state, post

    def count(self, tab: str) -> int:
        return len(self.state.views[tab].marked)

    def mark(self, tab: str, row: JobRow, toggle: bool) -> None:
        marked = self.state.views[tab].marked
        if toggle and row.id in marked:
            del marked[row.id]
        else:
            marked[row.id] = row

    def clear(self, tab: str) -> bool:
        marked = self.state.views[tab].marked
        had = bool(marked)
        marked.clear()
        return had

    async def mark_all(self, tab: str) -> None:
        """Every row of the list (or of the filter's results)."""
        view, state = self.state.views[tab], self.state
        if state.filter:
            rows = list(view.rows)
            note = "" if not view.capped else f"the {len(rows):,} found so far (search goes on)"
        else:
            total = state.tab_count(tab)
            if view.offset == 0 and len(view.rows) >= total:
                rows, note = list(view.rows), ""
            elif total > MAX_SELECTED:
                self.post(
                    self.Changed(
                        tab, f"{total:,} rows: narrow them with / first (at most {MAX_SELECTED:,})"
                    )
                )
                return
            else:
                rows, note = await self._read_all(tab), ""
        for row in rows:
            view.marked[row.id] = row
        said = f"{len(view.marked):,} selected" + (f": {note}" if note else "")
        self.post(self.Changed(tab, said))

    async def _read_all(self, tab: str) -> list[JobRow]:
        rows: list[JobRow] = []
        for status in TAB_STATUSES[tab]:
            offset = 0
            while len(rows) < MAX_SELECTED:
                jobs = await self.service.list_jobs(
                    status, limit=1000, offset=offset, max_field_bytes=ROW_FIELD_BYTES
                )
                rows += [JobRow.from_job(job) for job in jobs]
                if len(jobs) < 1000:
                    break
                offset += len(jobs)
        return rows[:MAX_SELECTED]
