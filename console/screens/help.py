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

from ..keys.bindings import action_name

__all__ = ["HELP", "HELP_KEYS", "HelpScreen", "keys_of"]

# What the help says of each key. A row names the *actions* it explains, and the keys shown
# beside it are read from the bindings (`keys_of`): a key moved or rebound reads the same in
# the help as in the footer and the palette, and a row naming an action no key runs is an
# error, not a line of the help. (ctrl+p is Textual's own binding: named as it is.)
Row = tuple[tuple[str, ...] | str, str]
HELP: tuple[tuple[str, str, tuple[Row, ...]], ...] = (
    (
        "Look",
        "main",
        (
            (("show_tab", "schedules", "limits"), "the tabs, as numbered on the tab bar"),
            (("move",), "move the cursor"),
            (("page",), "a page up / down"),
            (("jump",), "first / last row (pages come from the server)"),
            (("open",), "the job's args, timeline, result and traceback"),
            (("filter",), "search the server: name, id, args, error; enter keeps it"),
            (("clear_filter",), "back, or clear the selection, then the filter"),
            (("mark",), "select / unselect the row (shift+↑↓: select while moving)"),
            (("mark_all",), "select every row (matching the filter)"),
        ),
    ),
    (
        "Act (* asks first)",
        "main",
        (
            (("cancel",), "cancel the selected pending/scheduled/running job(s) *"),
            (("retry", "retry_all"), "retry the selected dead letter(s) / every one *"),
            (("scale",), "concurrency one more / less for the selected worker (to 0: *)"),
            (("set_count",), "set the selected worker's concurrency (0: *)"),
            ("", "(on tabs 1-3 and 5: the pool embedded in the console)"),
            (("pause", "resume"), "pause the whole queue * / resume it; running jobs go on"),
            (("purge",), "purge dead letters (tab 3) / completed and cancelled (tab 5) *"),
        ),
    ),
    (
        "Schedules (6)",
        "schedules",
        (
            (("toggle_pause",), "pause or resume the selected schedule (not the queue)"),
            (("trigger",), "trigger the selected schedule now"),
            (("remove",), "remove the selected schedule *"),
            (("columns",), "the columns past the right edge (a narrow terminal)"),
        ),
    ),
    (
        "Limits (7)",
        "limits",
        (
            (("set",), "set the selected limit's concurrency (0: paused) / rate *"),
            (("remove",), "remove the selected limit (its throttled jobs then start) *"),
        ),
    ),
    (
        "See",
        "main",
        (
            (("time_mode",), "time mode: the queue as it was (←→ 1s, shift 10s, ctrl 1m, "
             "f/F bursts)"),
            (("charts",), "charts: per minute over the last hour, wait and run percentiles "
             "(n: name)"),
            ("ctrl+p", "command palette: any action, go to job <id>, switch queue, theme"),
        ),
    ),
    (
        "Console",
        "main",
        (
            (("slower",), "refresh: live, every 2 s, 5 s, 10 s (a slow link; header: ⟳)"),
            (("help",), "this help"),
            (("quit",), "quit"),
        ),
    ),
)  # fmt: skip

_NAMES = {
    "up": "↑", "down": "↓", "left": "←", "right": "→", "pageup": "PgUp", "pagedown": "PgDn",
    "home": "Home", "end": "End", "escape": "esc", "question_mark": "?", "slash": "/",
    "plus": "+", "minus": "-", "delete": "del",
}  # fmt: skip


def _bindings(where: str) -> list[BindingType]:
    """The bindings a section of the help speaks of: the main screen's (the app's, the
    screen's and the table's) or a tab screen's own."""
    from ..keys.bindings import APP_BINDINGS, MAIN_BINDINGS
    from ..widgets.job_table import JobTable
    from .limits import LimitsScreen
    from .schedules import SchedulesScreen

    if where == "schedules":
        return list(SchedulesScreen.BINDINGS)
    if where == "limits":
        return list(LimitsScreen.BINDINGS)
    return [*JobTable.BINDINGS, *MAIN_BINDINGS, *APP_BINDINGS]


def keys_of(actions: tuple[str, ...], bindings: list[BindingType]) -> str:
    """`("retry", "retry_all")` -> `r  R`: the keys bound to each action (with or without
    arguments), in the bindings' order; a run of digits reads `1 … 5`."""
    keys: list[str] = []
    for action in actions:
        found = [
            key
            for binding in bindings
            if isinstance(binding, Binding) and action_name(binding) == action
            for key in binding.key.split(",")
            if not key.startswith("shift+")  # the selection's shift+arrows: said in words
        ]
        if not found:
            raise LookupError(f"the help names {action!r}, which no key runs")
        for key in found:
            shown = _NAMES.get(key, key)
            if shown not in keys:
                keys.append(shown)
    digits = [k for k in keys if k.isdigit()]
    if len(digits) > 2 and len(digits) == len(keys):
        return f"{digits[0]} … {digits[-1]}"
    return "  ".join(keys) if len(actions) > 1 else " ".join(keys)


def _help_keys() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    return tuple(
        (
            title,
            tuple(
                (keys if isinstance(keys, str) else keys_of(keys, _bindings(where)), what)
                for keys, what in rows
            ),
        )
        for title, where, rows in HELP
    )


HELP_KEYS = _help_keys()


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
