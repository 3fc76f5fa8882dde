"""The Schedules tab (key 6): the queue's cron and interval schedules, live.

A screen of its own over the main one, so the job tabs' machinery (feed, reducer, paging)
stays as it is: it reads `service.list_schedules()` once a second (a few hundred schedules
are one script call) and after each action. Keys: p pause or resume, t trigger now,
d remove (asks first); 1-5 go back to a job tab. Read-only consoles refuse the three actions
and say so. Every name and status is untrusted text: shown through `display_text`, never as
markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable

from jobdeck.core import JobService
from jobdeck.core.schedules import ScheduleInfo
from jobdeck.core.text import display_text

from ..format import clip
from ..live.state import ConsoleState
from ..widgets.footer import KeysFooter
from ..widgets.header import HeaderStrip
from ..widgets.keyed_rows import KeyedRows
from ..widgets.tab_bar import TabBar
from .confirm import ConfirmScreen

__all__ = ["SchedulesScreen"]

_COLUMNS = ("Name", "Job", "When", "State", "Next", "Last", "Last job")
_NARROW_WHEN = 22  # cells of "When" below 100 columns (cron 0 3 * * * (Europe/Berl…)
_STATUS_STYLE = {"completed": "green", "failed": "red", "running": "cyan", "cancelled": "yellow"}


class SchedulesScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # the schedule's, never the queue's (the app refuses its own `p` on this screen)
        Binding("p", "toggle_pause", "Pause schedule"),
        Binding("p", "toggle_pause('resume')", "Resume schedule"),
        Binding("t", "trigger", "Trigger now"),
        Binding("d,delete", "remove", "Remove"),
        Binding("escape", "back", "Jobs"),
        # a terminal narrower than the table: a column at a time (Last, Last job at 80)
        # (priority: the table's own left / right would take them first)
        Binding("left", "columns(-1)", "Columns", key_display="←→", show=False, priority=True),
        Binding("right", "columns(1)", "Columns", key_display="←→", priority=True),
        *(
            Binding(str(n), f"app.show_tab('{tab}')", show=False)
            for n, tab in enumerate(("pending", "running", "dead", "workers", "history"), 1)
        ),
        Binding("7", "app.limits", show=False),
    ]

    def __init__(
        self,
        service: JobService,
        state: ConsoleState,
        *,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
        interval: float = 1.0,
    ) -> None:
        """`state`: the live console's, for the header and the tab bar (as on the job tabs)."""
        super().__init__()
        self.service, self.read_only, self.clock, self.interval = (
            service,
            read_only,
            clock,
            interval,
        )
        self.rows: list[ScheduleInfo] = []
        self.header = HeaderStrip(state, id="header")
        self.tab_bar = TabBar(state, hint=self._hint, current="schedules", id="tab-bar")
        self.table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=False)
        self.keyed = KeyedRows(self.table, _COLUMNS)
        self.loaded = False
        self.error = ""

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.tab_bar
        yield self.table
        yield KeysFooter()

    def on_mount(self) -> None:
        for column in _COLUMNS:
            self.table.add_column(column, key=column)
        self.table.focus()
        self.reload()
        self.set_interval(self.interval, self.reload)

    # -- reading -------------------------------------------------------------------------
    @work(exclusive=True, group="schedules-read")
    async def reload(self) -> None:
        try:
            rows = await self.service.list_schedules()
        except Exception as exc:  # the server is away: say so, keep what is shown
            self.error = display_text(f"cannot read ({exc})", limit=60)
            self._draw_bars()
            return
        self.error = ""
        self.show(rows)

    def show(self, rows: list[ScheduleInfo]) -> None:
        selected = self.selected
        self.rows, self.loaded = rows, True
        now = self.clock()
        cursor = selected.name if selected is not None else None
        self.keyed.show([(info.name, self._cells(info, now)) for info in rows], cursor=cursor)
        self._draw_bars()
        self.refresh_bindings()

    def _cells(self, info: ScheduleInfo, now: float) -> list[Text]:
        when = 48 if self.size.width >= 100 else _NARROW_WHEN
        if info.error:
            state = Text("unreadable", style="red")
        elif info.paused:
            state = Text("paused", style="yellow")
        elif info.unserved:  # no live worker serves its queue: nothing fires it (issue 22)
            state = Text("unserved", style="yellow")
        else:
            state = Text("active", style="green")
        status = info.last_status or "-"
        return [
            Text(display_text(info.name, limit=40)),
            Text(display_text(info.job, limit=40)),
            Text(clip(display_text(info.when, limit=48), when)),
            state,
            Text(_relative(info.next_fire, now)),
            Text(_relative(info.last_fire, now)),
            Text(display_text(status, limit=20), style=_STATUS_STYLE.get(status, "")),
        ]

    def _hint(self) -> str:
        if self.error:
            return self.error
        if not self.loaded:
            return "loading…"
        return f"{len(self.rows)} schedule{'s' if len(self.rows) != 1 else ''}"

    def _draw_bars(self) -> None:
        """The header's counts and the tab bar's end move on (only what changed is sent)."""
        self.header.redraw()
        self.tab_bar.redraw()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()  # `p` pauses or resumes the row now selected

    @property
    def selected(self) -> ScheduleInfo | None:
        if not self.rows or not self.table.row_count:
            return None
        return self.rows[min(self.table.cursor_row, len(self.rows) - 1)]

    # -- acting --------------------------------------------------------------------------
    def _refuse(self) -> bool:
        if self.read_only:
            self.notify("read-only console: schedules cannot be changed", severity="warning")
        return self.read_only

    @work(group="schedules-act")
    async def action_toggle_pause(self, _resume: str = "") -> None:
        info = self.selected
        if info is None:
            self.notify("No schedule selected: p pauses or resumes the selected schedule.")
            return
        if self._refuse():
            return
        name = display_text(info.name, limit=64)
        try:
            if info.paused:
                await self.service.resume_schedule(info.name)
                self.notify(f"schedule {name} resumed")
            else:
                await self.service.pause_schedule(info.name)
                self.notify(f"schedule {name} paused")
        except (KeyError, OSError, ValueError) as exc:
            self.notify(display_text(f"{name}: {exc}"), severity="error")
        self.reload()

    @work(group="schedules-act")
    async def action_trigger(self) -> None:
        info = self.selected
        if info is None or self._refuse():
            return
        name = display_text(info.name, limit=64)
        try:
            job_id = await self.service.trigger_schedule(info.name)
        except (KeyError, OSError, ValueError) as exc:
            self.notify(display_text(f"{name}: {exc}"), severity="error")
            return
        self.notify(f"schedule {name}: queued job {display_text(job_id)}")
        self.reload()

    @work(group="schedules-act")
    async def action_remove(self) -> None:
        info = self.selected
        if info is None or self._refuse():
            return
        question = (
            f"Remove schedule {info.name} ({info.when}, job {info.job})? Jobs it already "
            "queued stay. A schedule declared in code comes back when its app starts again."
        )
        if not await self.app.push_screen_wait(ConfirmScreen("Remove schedule", question)):
            return
        name = display_text(info.name, limit=64)
        try:
            removed = await self.service.remove_schedule(info.name)
        except (OSError, ValueError) as exc:
            self.notify(display_text(f"{name}: {exc}"), severity="error")
            return
        self.notify(f"schedule {name} removed" if removed else f"schedule {name} was gone")
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "columns":  # shown only when the table is wider than the screen
            return self.table.max_scroll_x > 0
        if action in ("trigger", "remove"):
            return self.selected is not None  # read-only: the key says why it does nothing
        if action == "toggle_pause":  # the label says what `p` does to the selected one
            paused = self.selected is not None and self.selected.paused
            return paused == bool(parameters)
        return True  # `p` stays the schedule's even with none selected (it says so)

    def action_columns(self, step: int) -> None:
        """← →: the view moves by a whole column, at once (the table's own keys move it
        a cell at a time, animated: a frame per cell over the link)."""
        starts, x = [], 0
        for column in self.table.ordered_columns:
            starts.append(x)
            x += column.get_render_width(self.table)
        now = round(self.table.scroll_target_x)
        later = [s for s in starts if s > now] if step > 0 else [s for s in starts if s < now]
        if later:
            target = later[0] if step > 0 else later[-1]
            self.table.scroll_to(
                x=min(target, self.table.max_scroll_x), animate=False, immediate=True
            )

    def action_back(self) -> None:
        self.dismiss()


def _relative(stamp: float | None, now: float) -> str:
    """`in 3h 12m` / `5m ago` / `now`."""
    if stamp is None:
        return "-"
    delta = stamp - now
    span = abs(delta)
    if span < 1:
        return "now"
    if span < 60:
        words = f"{span:.0f}s"
    elif span < 3600:
        words = f"{span // 60:.0f}m" + (f" {span % 60:02.0f}s" if span % 60 >= 1 else "")
    elif span < 86400:
        words = f"{span // 3600:.0f}h" + (
            f" {span % 3600 // 60:02.0f}m" if span % 3600 >= 60 else ""
        )
    else:
        words = f"{span // 86400:.0f}d" + (
            f" {span % 86400 // 3600:.0f}h" if span % 86400 >= 3600 else ""
        )
    return f"in {words}" if delta > 0 else f"{words} ago"
