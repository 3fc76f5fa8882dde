"""The console's keys: one list, so the help screen, the footer and the app agree. Keys
that mean different things on different rows (`+` on a worker or on the embedded pool) are
bound twice; the app's `check_action` decides which one applies where the cursor is."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from ..live.state import TABS

__all__ = ["APP_BINDINGS", "FOOTER_ACTIONS"]

FOOTER_ACTIONS = (
    "time_mode",
    "cancel",
    "retry",
    "retry_all",
    "purge",
    "scale",
    "set_count",
    "pause",
    "resume",
)

APP_BINDINGS: list[BindingType] = [
    *(Binding(str(n), f"show_tab('{tab}')", tab, show=False) for n, tab in enumerate(TABS, 1)),
    Binding("c", "cancel", "Cancel"),
    Binding("r", "retry", "Retry"),
    Binding("R", "retry_all", "Retry all"),
    Binding("P", "purge", "Purge"),
    Binding("plus", "scale(1)", "Scale up", key_display="+"),
    Binding("minus", "scale(-1)", "Scale down", key_display="-"),
    Binding("s", "set_count", "Set concurrency"),
    Binding("plus", "pool_scale(1)", "Scale pool up", show=False),
    Binding("minus", "pool_scale(-1)", "Scale pool down", show=False),
    Binding("s", "pool_set_count", "Set pool concurrency", show=False),
    Binding("p", "pause", "Pause"),
    Binding("p", "resume", "Resume"),
    Binding("6", "schedules", "Schedules", show=False),
    Binding("7", "limits", "Limits", show=False),
    Binding("t", "time_mode", "Time"),
    Binding("m", "charts", "Charts"),
    Binding("L", "slower", "Refresh rate", show=False),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("q", "quit", "Quit"),
    Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
]
