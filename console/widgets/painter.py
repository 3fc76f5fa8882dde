"""Drawing the main screen from the state: coalesced, and only what changed.

The `Painter` holds the main screen's widgets and tells them (attributes down) to show what
the state says. Live updates are drawn at most every `frame_interval` (`soon` + `flush`): a
thousand events a second then cost a few frames, not a frame per batch. It draws whichever
state it is given, so the time mode can show the past through the same widgets.
"""

from __future__ import annotations

from ..live.filtering import filter_info
from ..live.state import ConsoleState
from .filter_bar import FilterBar
from .header import HeaderStrip
from .job_table import JobTable
from .tab_bar import TabBar

__all__ = ["Painter"]


class Painter:
    def __init__(
        self,
        state: ConsoleState,
        header: HeaderStrip,
        tab_bar: TabBar,
        tables: dict[str, JobTable],
        filter_bar: FilterBar,
    ) -> None:
        self.state = state
        self.header, self.tab_bar, self.tables, self.filter_bar = (
            header,
            tab_bar,
            tables,
            filter_bar,
        )
        self.due: set[str] = set()

    @property
    def attached(self) -> bool:
        """False while the app shuts down: nothing on screen to draw into."""
        return self.header.is_attached

    def show_state(self, state: ConsoleState) -> None:
        """Draw `state` from now on (the live one, or the past in time mode)."""
        self.state = state
        self.header.state = state
        self.tab_bar.state = state
        for tab in self.tables:
            self.table(tab)
        self.header_now()
        self.flush()

    def soon(self, *parts: str) -> None:
        self.due.update(parts)

    def flush(self) -> None:
        if not self.due or not self.attached:
            return
        due, self.due = self.due, set()
        if "table" in due:
            self.table()
        if "header" in due:
            self.header_now()

    def header_now(self) -> None:
        self.header.redraw()
        self.tab_bar.redraw()
        if self.state.filter:
            self.filter_bar.show_info(filter_info(self.state))

    def table(self, tab: str | None = None) -> None:
        tab = tab or self.state.active
        view = self.state.views[tab]
        if view.loaded:
            self.tables[tab].show(view.offset if not view.filter else 0, view.rows, view.total)
        self.tab_bar.redraw()

    def loading_text(self, text: str) -> None:
        for table in self.tables.values():
            if table.loading_text != text:
                table.loading_text = text
                table.refresh()

    def tick(self) -> None:
        """Ages and elapsed times move on even when nothing happens."""
        if self.attached:
            self.header.redraw()
            self.tables[self.state.active].redraw()
