"""The main screen: header, tab bar, one table per tab, the filter bar and the footer.

It owns its widgets and what happens inside them: switching tabs, the window a table asks
for, the filter, the multi-selection. It is handed the state, the selection and a way to ask
for reads (`request`); the app tells it nothing else, and hears from it through the state
it changes and the table messages that bubble up (`JobTable.Opened`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import ContentSwitcher

from ..format import count
from ..keys.bindings import MAIN_BINDINGS, actions_of
from ..keys.selection import Selection
from ..live.filtering import apply_filter, filter_info
from ..live.state import TABS, ConsoleState
from ..widgets.columns import COLUMNS
from ..widgets.filter_bar import FilterBar
from ..widgets.footer import KeysFooter
from ..widgets.header import HeaderStrip
from ..widgets.job_table import JobTable
from ..widgets.tab_bar import TabBar

__all__ = ["MainScreen"]

_EMPTY = {
    "pending": "no pending or scheduled jobs",
    "running": "no job is running",
    "dead": "no dead letters",
    "workers": "no live worker on this queue",
    "history": "no completed or cancelled jobs yet",
}
SCREEN_ACTIONS = actions_of(MAIN_BINDINGS)


class TableSwitcher(ContentSwitcher):
    """The tables, one shown at a time. The shown table covers the switcher whole, so a
    repaint of the switcher is a repaint of every cell of that table: the one Textual asks
    for when the tables mount came out after the first paint, as a second paint of the
    table (~7 KB of blank rows at 120x40). A layout still marks what moved; a table that
    changes repaints itself."""

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> TableSwitcher:
        repaint = repaint and bool(regions)
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        return self


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = MAIN_BINDINGS

    def __init__(
        self,
        state: ConsoleState,
        selection: Selection,
        *,
        request: Callable[..., None],
        keys_changed: Callable[[], None],
        open_job: Callable[[str, str], None],
        clock: Callable[[], float],
    ) -> None:
        """`open_job(id, name)`: a job's page over this screen (enter on a row)."""
        super().__init__()
        self.state, self.selection = state, selection
        self.request, self.keys_changed, self.open_job = request, keys_changed, open_job
        # The widgets are kept as attributes: handlers reach them without a DOM query, and
        # a message that arrives while the app shuts down draws into detached widgets only.
        self.header = HeaderStrip(state, id="header")
        self.tab_bar = TabBar(state, hint=self.position, id="tab-bar")
        self.tables = {
            tab: JobTable(tab, COLUMNS[tab], clock=clock, empty=_EMPTY[tab], id=tab) for tab in TABS
        }
        for tab, table in self.tables.items():
            table.marked = state.views[tab].marked
        self.switcher = TableSwitcher(*self.tables.values(), initial="pending", id="switcher")
        self.filter_bar = FilterBar(id="filter-bar")
        self._laying_out_whole = False

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.tab_bar
        yield self.switcher
        yield self.filter_bar
        yield KeysFooter()

    def on_mount(self) -> None:
        self.table().focus()

    # -- start-up: one whole paint, not two --------------------------------------------
    def on_screen_resume(self) -> None:
        """Textual's own resume handler (it runs after this one) lays the screen out when
        its size changed, which paints every cell, and then asks for a repaint of the whole
        screen, which paints every cell again: at start-up ~14 KB of 120x40 sent twice,
        the largest part of the first paint over SSH. That second ask is dropped (what
        changed since is repainted by the widgets that changed it); a resume at the same
        size (a page closed over this screen) keeps it, as it is the only paint then."""
        self._laying_out_whole = self.is_attached and self.outer_size != self.app.size
        if self._laying_out_whole:
            self.call_next(self._laid_out)

    def _laid_out(self) -> None:
        self._laying_out_whole = False

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> MainScreen:
        if self._laying_out_whole and not regions:
            repaint = False  # the layout under way paints the whole screen
            if not (layout or recompose):
                return self
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        return self

    def table(self, tab: str | None = None) -> JobTable:
        return self.tables[tab or self.state.active]

    def position(self) -> str:
        """The tab bar's right end: `12/1,240`, and how many rows are selected."""
        if not self.is_mounted:
            return ""
        table = self.table()
        if not table.total:
            return ""
        marked = self.selection.count(self.state.active)
        where = f"{table.cursor + 1:,}/{count(table.total, self.app.size.width < 100)}"
        return f"{marked:,} selected · {where}" if marked else where

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.applies(action, on_top=self.app.screen is self)

    def applies(self, action: str, *, on_top: bool) -> bool:
        if action == "filter":
            return on_top
        if action == "clear_filter":
            marked = self.selection.count(self.state.active)
            return on_top and bool(self.state.filter or self.filter_bar.display or marked)
        if action == "mark_all":
            return on_top and self.state.active != "workers"
        return True

    # -- tabs and tables -----------------------------------------------------------------
    def show_tab(self, tab: str) -> bool:
        """Bring `tab` forward; False if it already was."""
        if tab == self.state.active:
            return False
        self.state.active = tab
        self.switcher.current = tab
        self.table().focus()
        if tab == "workers":
            self.request(workers=True)
        self.request(urgent=True)
        return True

    def on_job_table_window_changed(self, message: JobTable.WindowChanged) -> None:
        view = self.state.views[message.table.tab]
        if self.state.filter or view.key == "workers":
            return
        view.offset, view.limit = message.offset, message.limit
        if view.key == self.state.active:
            self.request(urgent=True)

    def on_job_table_opened(self, message: JobTable.Opened) -> None:
        if message.table.tab == "workers":
            self.notify("Workers have no detail page: + / - / s scale the selected one.")
            return
        self.open_job(message.row.id, message.row.name)

    def on_job_table_cursor_moved(self, message: JobTable.CursorMoved) -> None:
        self.tab_bar.redraw()
        self.keys_changed()

    # -- the filter ----------------------------------------------------------------------
    def action_filter(self) -> None:
        self.filter_bar.open()
        self.keys_changed()

    def action_clear_filter(self) -> None:
        """esc: the selection first, then the filter."""
        if self.selection.clear(self.state.active):
            self.selection_drawn(self.state.active)
            return
        self.filter_bar.clear()
        self._set_filter("")
        self.table().focus()
        self.keys_changed()

    def on_filter_bar_changed(self, message: FilterBar.Changed) -> None:
        self._set_filter(message.text)

    def on_filter_bar_done(self, message: FilterBar.Done) -> None:
        self.table().focus()
        self.keys_changed()

    def _set_filter(self, text: str) -> None:
        if not apply_filter(self.state, text):
            return
        for table in self.tables.values():
            table.reset()
        self.filter_bar.show_info(filter_info(self.state))
        self.request(urgent=True)

    # -- the multi-selection -------------------------------------------------------------
    def on_job_table_marked(self, message: JobTable.Marked) -> None:
        self.selection.mark(message.table.tab, message.row, message.toggle)
        self.selection_drawn(message.table.tab)

    def action_mark_all(self) -> None:
        work = partial(self.selection.mark_all, self.state.active)
        self.run_worker(work, group="selection")  # type: ignore[arg-type]  # (see app._start_pool)

    def on_selection_changed(self, message: Selection.Changed) -> None:
        if message.note:
            self.notify(message.note, timeout=3)
        self.selection_drawn(message.tab)

    def selection_drawn(self, tab: str) -> None:
        self.table(tab).redraw()
        self.tab_bar.redraw()
        self.keys_changed()
