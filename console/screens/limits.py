"""The Limits tab (key 7): the queue's rate and concurrency limits, live.

A screen of its own over the main one, as Schedules is: it reads `service.list_limits()` once
a second (at most 10,000 limits, one script call) and after each change. Keys: c sets the
selected limit's concurrency (0 pauses its key), r its rate, d removes it; each asks for the
figure or asks first, and says what it will do. Read-only consoles refuse them and say so.
Keys are untrusted text: shown through `display_text`, never as markup.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable

from jobdeck.core import JobService
from jobdeck.core.limits import Limit
from jobdeck.core.text import display_text

from ..live.state import ConsoleState
from ..widgets.footer import KeysFooter
from ..widgets.header import HeaderStrip
from ..widgets.keyed_rows import KeyedRows
from ..widgets.tab_bar import TabBar
from .confirm import ConfirmScreen, CountScreen

__all__ = ["LimitsScreen"]

_COLUMNS = ("Key", "Running / concurrency", "Rate", "Throttled")


class LimitsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "set('concurrency')", "Concurrency"),
        Binding("r", "set('rate')", "Rate"),
        Binding("d,delete", "remove", "Remove"),
        Binding("escape", "back", "Jobs"),
        *(
            Binding(str(n), f"app.show_tab('{tab}')", show=False)
            for n, tab in enumerate(("pending", "running", "dead", "workers", "history"), 1)
        ),
        Binding("6", "app.schedules", show=False),
    ]

    def __init__(
        self,
        service: JobService,
        state: ConsoleState,
        *,
        read_only: bool = False,
        interval: float = 1.0,
    ) -> None:
        """`state`: the live console's, for the header and the tab bar (as on the job tabs)."""
        super().__init__()
        self.service, self.read_only, self.interval = service, read_only, interval
        self.rows: list[Limit] = []
        self.header = HeaderStrip(state, id="header")
        self.tab_bar = TabBar(state, hint=self._hint, current="limits", id="tab-bar")
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
    @work(exclusive=True, group="limits-read")
    async def reload(self) -> None:
        try:
            rows = await self.service.list_limits()
        except Exception as exc:  # the server is away: say so, keep what is shown
            self.error = display_text(f"cannot read ({exc})", limit=60)
            self._draw_bars()
            return
        self.error = ""
        self.show(rows)

    def show(self, rows: list[Limit]) -> None:
        selected = self.selected
        self.rows, self.loaded = rows, True
        cursor = selected.key if selected is not None else None
        self.keyed.show([(limit.key, _cells(limit)) for limit in rows], cursor=cursor)
        self._draw_bars()
        self.refresh_bindings()

    def _hint(self) -> str:
        if self.error:
            return self.error
        if not self.loaded:
            return "loading…"
        # (the jobs they hold: the header's pending count says so, and the Throttled column)
        return f"{len(self.rows)} limit{'s' if len(self.rows) != 1 else ''}"

    def _draw_bars(self) -> None:
        """The header's counts and the tab bar's end move on (only what changed is sent)."""
        self.header.redraw()
        self.tab_bar.redraw()

    @property
    def selected(self) -> Limit | None:
        if not self.rows or not self.table.row_count:
            return None
        return self.rows[min(self.table.cursor_row, len(self.rows) - 1)]

    # -- acting --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("set", "remove"):
            return self.selected is not None  # read-only: the key says why it does nothing
        return True

    def _refuse(self) -> bool:
        if self.read_only:
            self.notify("read-only console: limits cannot be changed", severity="warning")
        return self.read_only

    @work(group="limits-act")
    async def action_set(self, what: str) -> None:
        limit = self.selected
        if limit is None or self._refuse():
            return
        key = display_text(limit.key, limit=64)
        now = getattr(limit, what)
        if what == "concurrency":
            question = (
                f"Jobs under {key} running at once (now {'no limit' if now is None else now}); "
                "0 pauses them:"
            )
        else:
            question = (
                f"Starts under {key} per {limit.per:g} s (now "
                f"{'no limit' if now is None else now}); 0 takes the rate off:"
            )
        value = await self.app.push_screen_wait(
            CountScreen(f"Limit {key}", question, 1 if now is None else now)
        )
        if value is None or value == now:
            return
        concurrency = value if what == "concurrency" else limit.concurrency
        rate = (value or None) if what == "rate" else limit.rate
        if concurrency is None and rate is None:
            self.notify("a limit needs a concurrency or a rate: d removes it", severity="warning")
            return
        try:
            await self.service.set_limit(
                limit.key, concurrency=concurrency, rate=rate, per=limit.per if rate else 1.0
            )
        except (OSError, TypeError, ValueError) as exc:
            self.notify(display_text(f"{key}: {exc}"), severity="error")
            return
        self.notify(f"{key}: {what} {value if value or what == 'concurrency' else 'off'}")
        self.reload()

    @work(group="limits-act")
    async def action_remove(self) -> None:
        limit = self.selected
        if limit is None or self._refuse():
            return
        held = (
            f" Its {limit.throttled} throttled job{'s' if limit.throttled != 1 else ''} start "
            "as workers take them, unthrottled."
            if limit.throttled
            else ""
        )
        question = f"Remove the limit on {limit.key}?{held}"
        if not await self.app.push_screen_wait(ConfirmScreen("Remove limit", question)):
            return
        key = display_text(limit.key, limit=64)
        try:
            removed = await self.service.remove_limit(limit.key)
        except (OSError, ValueError) as exc:
            self.notify(display_text(f"{key}: {exc}"), severity="error")
            return
        self.notify(f"limit {key} removed" if removed else f"limit {key} was gone")
        self.reload()

    def action_back(self) -> None:
        self.dismiss()


def _cells(limit: Limit) -> list[Text]:
    key = display_text(limit.key, limit=48) + (" (each key)" if limit.is_template else "")
    each = " per key" if limit.is_template else ""  # a template: in use under all its keys
    if limit.concurrency is None:
        running = Text(f"{limit.in_use} / -")
    elif limit.concurrency == 0:
        running = Text(f"{limit.in_use} / 0 paused", style="yellow")
    else:
        running = Text(f"{limit.in_use} / {limit.concurrency}{each}")
    rate = "-" if limit.rate is None else f"{limit.rate} per {limit.per:g} s"
    throttled = Text(str(limit.throttled), style="yellow" if limit.throttled else "dim")
    return [Text(key), running, Text(rate), throttled]
