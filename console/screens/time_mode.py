"""The time mode (`t`): the queue as it was at a moment of the last hour (or as far back as
the event log reaches), on a screen of its own over the live one.

It has its own header, tab bar and tables, drawing a state rebuilt by `Past` for the
cursor's moment, so the live screen underneath (and everything it fetches) is never touched;
esc pops this screen and the live view is simply there again. ←/→ step 1 s (shift: 10 s,
ctrl: 1 min), f / F jump to the next / previous failure burst, 1-5 switch tabs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import ContentSwitcher

from ..live.state import TABS, ConsoleState
from ..timemode.mode import TimeMode
from ..widgets.columns import COLUMNS
from ..widgets.filter_bar import FilterBar
from ..widgets.footer import KeysFooter
from ..widgets.header import HeaderStrip
from ..widgets.job_table import JobTable
from ..widgets.painter import Painter
from ..widgets.tab_bar import TabBar
from ..widgets.time_bar import TimeBar

__all__ = ["TimeModeScreen"]


class TimeModeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(n), f"show_tab('{tab}')", tab, show=False) for n, tab in enumerate(TABS, 1)),
        Binding("left", "step(-1)", "-1s", key_display="←"),
        Binding("right", "step(1)", "+1s", key_display="→"),
        Binding("shift+left", "step(-10)", "-10s", show=False),
        Binding("shift+right", "step(10)", "+10s", show=False),
        Binding("ctrl+left", "step(-60)", "-1m", show=False),
        Binding("ctrl+right", "step(60)", "+1m", show=False),
        Binding("f", "burst(1)", "Next failure burst"),
        Binding("F", "burst(-1)", "Previous burst", show=False),
        Binding("escape,t", "live", "Live"),
    ]

    def __init__(
        self, time_mode: TimeMode, live: ConsoleState, *, clock: Callable[[], float]
    ) -> None:
        super().__init__()
        self.time_mode, self.live = time_mode, live
        self.state = ConsoleState(queue=live.queue, server=live.server, read_only=True)
        self.state.active = live.active
        self.cursor_clock = clock
        self.header = HeaderStrip(self.state, id="header")
        self.tab_bar = TabBar(self.state, hint=self._shown, tabs=TABS, id="tab-bar")
        self.tables = {
            tab: JobTable(tab, COLUMNS[tab], clock=self._now, empty="nothing then", id=tab)
            for tab in TABS
        }
        self.switcher = ContentSwitcher(*self.tables.values(), initial=live.active, id="switcher")
        self.time_bar = TimeBar(time_mode.past, id="time-bar")
        self.painter = Painter(self.state, self.header, self.tab_bar, self.tables, FilterBar())

    def _shown(self) -> str:
        """The tab bar's right end: how many of the jobs counted have a row. The counts are
        exact; rows exist only for jobs the event log saw (and 500 a tab at most)."""
        tab = self.state.active
        if tab == "workers":
            return "workers: not in the event log"
        rows, counted = self.state.views[tab].total, self.state.tab_count(tab)
        return f"{rows:,} of {counted:,} in the log" if rows < counted else ""

    def _now(self) -> float:
        """Ages in the tables are as of the cursor's moment."""
        return self.time_mode.cursor if self.time_mode.cursor is not None else self.cursor_clock()

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.tab_bar
        yield self.switcher
        yield self.time_bar
        yield KeysFooter()

    def on_mount(self) -> None:
        self.tables[self.state.active].focus()
        self.show_moment()

    def show_moment(self) -> None:
        moment = self.time_mode.moment(self.live)
        moment.state.active = self.state.active
        self.state = moment.state
        self.painter.show_state(moment.state)
        self.time_bar.show(moment.at)

    def action_step(self, seconds: float) -> None:
        self.time_mode.step(seconds)
        self.show_moment()

    def action_burst(self, direction: int) -> None:
        if not self.time_mode.jump_burst(direction):
            self.notify("No failure burst that way.", timeout=2)
            return
        self.show_moment()

    def action_show_tab(self, tab: str) -> None:
        self.state.active = tab
        self.switcher.current = tab
        self.tables[tab].focus()
        self.painter.table(tab)
        self.painter.header_now()

    def action_live(self) -> None:
        self.time_mode.leave()
        self.dismiss(None)
