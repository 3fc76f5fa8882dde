"""The filter as state: what applying one does to the tabs, and the note beside the bar.

Pure functions of the console state, so the app only wires them to the filter bar."""

from __future__ import annotations

from .state import TABS, ConsoleState

__all__ = ["apply_filter", "filter_info"]


def apply_filter(state: ConsoleState, text: str) -> bool:
    """Set the filter; every tab's window is forgotten (its rows come from a new search).
    Returns False when nothing changed."""
    text = text.strip()
    if text == state.filter:
        return False
    state.filter = text
    for tab in TABS:
        view = state.views[tab]
        view.offset, view.rows, view.total, view.loaded = 0, [], 0, False
    return True


def filter_info(state: ConsoleState) -> str:
    """`3 matches`, and how far the search reached when it stopped before the end."""
    if not state.filter:
        return ""
    view = state.views[state.active]
    if not view.loaded:
        return "searching…"
    info = f"{view.total:,} match{'es' if view.total != 1 else ''}"
    if view.capped and view.scanned is not None:
        depth = state.tab_count(view.key)
        info += f" so far, searched {min(view.scanned, depth):,} of {depth:,}…"
    return info
