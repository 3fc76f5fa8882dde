"""The tab bar: `1 Pending  2 Running  …  7 Limits`, the active tab in reverse video and
between brackets, and at its right end what the screen says of its list (`12/1,240`,
`4 selected · 5/1,240`, `5 schedules`).

Every tab is on it at any width, on every screen that has tabs (Schedules and Limits are
screens of their own over the job tabs, with the same bar). On a narrow terminal the tabs
not shown are named shorter, as far as needed for the right end to fit two cells apart
(`[1 Pending] 2 Run  3 Dead  4 Work …`): a label is never cut, and the right end never
touches one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text

from ..live.state import TAB_TITLES, TABS, ConsoleState
from .header import LineWidget

__all__ = ["ALL_TABS", "TabBar"]

ALL_TABS = (*TABS, "schedules", "limits")
TITLES = {**TAB_TITLES, "schedules": "Schedules", "limits": "Limits"}
# Shorter names for the tabs not shown, tried in turn until the bar fits its width.
_SHORTER: tuple[dict[str, str], ...] = ({}, {"dead": "Dead", "schedules": "Sched"})
_SHORTEST = {
    "pending": "Pend",
    "running": "Run",
    "dead": "Dead",
    "workers": "Work",
    "history": "Hist",
    "schedules": "Sched",
    "limits": "Lim",
}
_GAP = 2  # cells between the last tab and the right end, at least


def _action(tab: str) -> str:
    return f"app.{tab}" if tab in ("schedules", "limits") else f"app.show_tab('{tab}')"


class TabBar(LineWidget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"tab-bar--active", "tab-bar--key"}

    def __init__(
        self,
        state: ConsoleState,
        *,
        hint: Callable[[], str],
        current: str | None = None,
        tabs: Sequence[str] = ALL_TABS,
        id: str | None = None,
    ) -> None:
        """`current`: the tab this bar's screen is (Schedules, Limits); without it, the
        state's active job tab."""
        super().__init__(id=id)
        self.state, self.hint = state, hint
        self.current, self.tabs = current, tuple(tabs)

    @property
    def active(self) -> str:
        return self.current or self.state.active

    def line(self, y: int, width: int) -> Text:
        if y:
            return Text()
        hint = self.hint()
        need = len(hint) + _GAP if hint else 0
        names: dict[str, str] = dict(TITLES)
        line = self._tabs(names, spaced=True)
        for shorter in (*_SHORTER, _SHORTEST):
            if line.cell_len + need <= width:
                break
            names.update(shorter)
            line = self._tabs(names, spaced=False)
        room = width - line.cell_len - _GAP
        if hint and room >= 4:
            if len(hint) > room:
                hint = hint[: room - 1] + "…"
            line.append(
                " " * (width - line.cell_len - len(hint)) + hint,
                self.get_component_rich_style("tab-bar--key"),
            )
        return line

    def _tabs(self, names: dict[str, str], *, spaced: bool) -> Text:
        line = Text()
        active = self.active
        for number, tab in enumerate(self.tabs, 1):
            label = f"{number} {TITLES[tab] if tab == active else names[tab]}"
            style = self.get_component_rich_style("tab-bar--active") if tab == active else Style()
            if spaced:
                line.append(" ")
            line.append(
                f"[{label}]" if tab == active else f" {label} ",
                style + Style(meta={"@click": _action(tab)}),
            )
        return line
