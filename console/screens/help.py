"""`?`: every key of the console on one page."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HELP_KEYS", "HelpScreen"]

HELP_KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Look",
        (
            ("1 … 5", "tabs: Pending Running Dead-letter Workers History"),
            ("↑ ↓ j k", "move the cursor"),
            ("PgUp PgDn", "a page up / down"),
            ("Home End g G", "first / last row (pages come from the server)"),
            ("enter", "the job's args, timeline, result and traceback"),
            ("/", "search the server: name, id, args, error; enter keeps it"),
            ("esc", "back, or clear the selection, then the filter"),
            ("space", "select / unselect the row (shift+↑↓: select while moving)"),
            ("a", "select every row (matching the filter)"),
        ),
    ),
    (
        "Act (* asks first)",
        (
            ("c", "cancel the selected pending/scheduled/running job(s) *"),
            ("r  R", "retry the selected dead letter(s) / every one *"),
            ("+ -", "concurrency one more / less for the selected worker (to 0: *)"),
            ("s", "set the selected worker's concurrency (0: *)"),
            ("", "(on tabs 1-3 and 5: the pool embedded in the console)"),
            ("p", "pause (asks first) / resume the queue; running jobs go on"),
            ("P", "purge dead letters (tab 3) / completed and cancelled (tab 5) *"),
        ),
    ),
    (
        "Schedules (6)",
        (
            ("p  t", "pause or resume / trigger now the selected schedule"),
            ("d  del", "remove the selected schedule *"),
        ),
    ),
    (
        "Limits (7)",
        (
            ("c  r", "set the selected limit's concurrency (0: paused) / rate *"),
            ("d  del", "remove the selected limit (its throttled jobs then start) *"),
        ),
    ),
    (
        "See",
        (
            ("t", "time mode: the queue as it was (←→ 1s, shift 10s, ctrl 1m, f/F bursts)"),
            ("m", "charts: per minute over the last hour, wait and run percentiles (n: name)"),
            ("ctrl+p", "command palette: any action, go to job <id>, switch queue, theme"),
        ),
    ),
    (
        "Console",
        (
            ("L", "refresh: live, every 2 s, 5 s, 10 s (a slow link; header: ⟳)"),
            ("?", "this help"),
            ("q  ctrl+c", "quit"),
        ),
    ),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def __init__(self, read_only: bool = False) -> None:
        super().__init__()
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        parts: list[Any] = []
        for title, keys in HELP_KEYS:
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold", no_wrap=True, min_width=12)
            grid.add_column()
            for key, what in keys:
                grid.add_row(key, what)
            parts += [Text(title, style="bold underline"), grid]
        note = (
            "READ-ONLY console: every action key is refused."
            if self.read_only
            else "Actions go to the queue; their effect shows as events arrive."
        )
        parts.append(Text(note, style="italic"))
        with VerticalScroll(classes="dialog help"):
            yield Static("jobdeck console: keys", classes="dialog-title")
            yield Static(Group(*parts))
            yield Static("[b]esc[/b] / [b]?[/b] close", classes="dialog-keys")

    def action_close(self) -> None:
        self.dismiss(None)
