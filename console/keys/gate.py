"""Which of the console's keys apply where the operator is, and why one does nothing.

The app asks `KeyGate` from its `check_action` (Textual's question for every key and every
footer redraw) and when a key comes that does nothing here (`explain`); the footer's
signature (`footer_state`) says when the keys that apply have changed. The gate is handed
the state, the actions and the main screen; it reads the screen on top from the app's
question, never from the app.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from ..live.state import ConsoleState
from ..screens.detail import DetailScreen
from ..screens.main import SCREEN_ACTIONS, MainScreen
from ..screens.schedules import SchedulesScreen
from ..screens.time_mode import TimeModeScreen
from .actions import MUTATING, Actions, Where, where_on
from .bindings import FOOTER_ACTIONS

__all__ = ["KeyGate"]


class KeyGate:
    def __init__(
        self, state: ConsoleState, actions: Actions, main: MainScreen, *, read_only: bool
    ) -> None:
        self.state, self.actions, self.main, self.read_only = state, actions, main, read_only

    def where(self, screen: Screen[Any]) -> Where:
        """Where the operator is on `screen`: a job's page, or the main screen's rows."""
        detail = screen.job if isinstance(screen, DetailScreen) else False
        selected = self.main.table().selected
        return where_on(self.state, selected, on_main=screen is self.main, detail=detail)

    def applies(self, action: str, screen: Screen[Any]) -> bool | None:
        """True: the key runs; None: shown, refused (read-only); False: not here."""
        if action in ("time_mode", "charts"):
            return screen is self.main
        if action in MUTATING and isinstance(screen, TimeModeScreen):
            return False  # the past is for looking: esc first
        if action in ("pause", "resume") and isinstance(screen, SchedulesScreen):
            return False  # `p` there is the schedule's, never the whole queue's
        if action in MUTATING:
            if not self.actions.applies(action, self.where(screen)):
                return False
            return None if self.read_only else True
        return True

    def explain(self, key: str, screen: Screen[Any]) -> str | None:
        """Why `key` does nothing here (None: it does something, or is not ours)."""
        return self.actions.explain(key, self.where(screen))

    def footer_state(self, screen: Screen[Any]) -> tuple[Any, ...]:
        """What the footer shows, in short: when it changes, the footer is rebuilt."""
        return (
            id(screen),
            self.state.active,
            tuple(self.applies(a, screen) for a in FOOTER_ACTIONS),
            tuple(self.main.check_action(a, ()) for a in SCREEN_ACTIONS),
        )
