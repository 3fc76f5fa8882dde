"""The console's keys: one list, so the help screen, the footer and the app agree. Keys
that mean different things on different rows (`+` on a worker or on the embedded pool) are
bound twice; the app's `check_action` decides which one applies where the cursor is."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from ..live.state import TAB_TITLES, TABS

__all__ = [
    "APP_BINDINGS",
    "FOOTER_ACTIONS",
    "MAIN_BINDINGS",
    "PALETTE",
    "action_name",
    "actions_of",
]

_TAB_HELP = {
    "pending": "pending and scheduled jobs",
    "running": "running jobs",
    "dead": "failed for good",
    "workers": "worker processes",
    "history": "completed and cancelled jobs",
}

# `tooltip` is what the command palette says of an action; an action without one is not
# offered there (the pool twins of the worker keys, quit).
APP_BINDINGS: list[BindingType] = [
    *(
        Binding(
            str(n), f"show_tab('{tab}')", TAB_TITLES[tab], show=False,
            tooltip=f"Tab {n}: {_TAB_HELP[tab]}",
        )
        for n, tab in enumerate(TABS, 1)
    ),
    Binding("c", "cancel", "Cancel", tooltip="Cancel the selected job(s)"),
    Binding("r", "retry", "Retry", tooltip="Retry the selected dead letter(s)"),
    Binding("R", "retry_all", "Retry all", tooltip="Retry every dead letter"),
    Binding("P", "purge", "Purge", tooltip="Delete finished jobs of this tab"),
    Binding("plus", "scale(1)", "Scale up", key_display="+",
            tooltip="Run one job more at once on the selected worker"),
    Binding("minus", "scale(-1)", "Scale down", key_display="-",
            tooltip="Run one job less at once on the selected worker"),
    Binding("s", "set_count", "Set concurrency",
            tooltip="How many jobs the selected worker runs at once"),
    Binding("plus", "pool_scale(1)", "Scale pool up", show=False),
    Binding("minus", "pool_scale(-1)", "Scale pool down", show=False),
    Binding("s", "pool_set_count", "Set pool concurrency", show=False),
    # "queue" in the label: on the Schedules tab `p` is the selected schedule's
    Binding("p", "pause", "Pause queue", tooltip="Pause the queue: workers stop taking new jobs"),
    Binding("p", "resume", "Resume queue", tooltip="Resume the queue: workers take jobs again"),
    Binding("6", "schedules", "Schedules", show=False, tooltip="Tab 6: schedules"),
    Binding("7", "limits", "Limits", show=False, tooltip="Tab 7: concurrency and rate limits"),
    Binding("t", "time_mode", "Time mode", tooltip="The queue as it was, from the event log"),
    Binding("m", "charts", "Charts", tooltip="Throughput, failures and times over the last hour"),
    Binding("L", "slower", "Refresh rate", show=False,
            tooltip="The next refresh pace: live, every 2 s, 5 s, 10 s"),
    Binding("question_mark", "help", "Help", key_display="?", tooltip="Every key"),
    Binding("q", "quit", "Quit"),
    Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
]  # fmt: skip

# The main screen's own keys (the table's are the table's: rows and the selection).
MAIN_BINDINGS: list[BindingType] = [
    Binding("a", "mark_all", "Select all", tooltip="Select every row (matching the search)"),
    Binding("slash", "filter", "Search", key_display="/",
            tooltip="Search the server: name, id, args, error"),
    Binding("escape", "clear_filter", "Clear"),
]  # fmt: skip

# Palette commands that are not a key of their own: the refresh paces `L` steps through.
PALETTE: list[tuple[str, str, str]] = [
    ("Refresh: live", "Draw changes twice a second (the default)", "refresh_every(0.5)"),
    *(
        (f"Refresh: every {n:g} s", "Fewer frames for a slow link; keys still answer at once",
         f"refresh_every({n:.1f})")
        for n in (2.0, 5.0, 10.0)
    ),
]  # fmt: skip


def action_name(binding: BindingType) -> str:
    """`scale(1)` -> `scale`."""
    action = binding.action if isinstance(binding, Binding) else binding[1]
    return action.partition("(")[0]


def actions_of(bindings: list[BindingType], *, shown: bool = False) -> tuple[str, ...]:
    """The actions `bindings` name, once each, in order (`shown`: those in the footer)."""
    names = (
        action_name(b) for b in bindings if not shown or (isinstance(b, Binding) and b.show)
    )
    return tuple(dict.fromkeys(names))


# The actions whose keys the footer shows: a change in which apply redraws it.
FOOTER_ACTIONS = actions_of(APP_BINDINGS, shown=True)
