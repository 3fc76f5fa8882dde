"""The header strip and the tab bar: both draw the console state, nothing else.

Header, three lines: where (queue, server, connection, paused, read-only), how many (a count
per status), how fast (a throughput sparkline over the last minute, rates, workers and their
slots). Every state is a word as well as a colour, so it reads on a monochrome terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from jobdeck.core.text import display_text

from ..format import count, duration, sparkline
from ..state import TAB_TITLES, TABS, ConsoleState

__all__ = ["HeaderStrip", "TabBar"]

_STATUS_LABELS = (
    ("pending", "pending"),
    ("scheduled", "scheduled"),
    ("running", "running"),
    ("failed", "dead"),
    ("completed", "done"),
    ("cancelled", "cancelled"),
)


class HeaderStrip(Widget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "header--title",
        "header--label",
        "header--ok",
        "header--alert",
        "header--warning",
        "header--spark",
    }

    def __init__(self, state: ConsoleState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"header--{name}")

    def render(self) -> Text:
        width = max(20, self.size.width)
        return Text("\n").join([self._where(width), self._counts(width), self._rates(width)])

    def _where(self, width: int) -> Text:
        state = self.state
        right = Text()
        if state.connection == "connected":
            right.append("● connected", self._style("ok"))
        elif state.connection == "reconnecting":
            right.append("◌ RECONNECTING…", self._style("alert"))
        else:
            right.append("○ connecting…", self._style("warning"))
        right.append("  ")
        if state.paused:
            right.append("⏸ PAUSED", self._style("alert"))
        else:
            right.append("▶ running", self._style("ok"))
        for flag in state.alerts:
            right.append("  ")
            right.append(f"⚠ {flag}", self._style("alert"))
        if state.read_only:
            right.append("  ")
            right.append("READ-ONLY", self._style("warning"))
        left = Text()
        left.append(" jobdeck ", self._style("title"))
        left.append(" queue ", self._style("label"))
        left.append(display_text(state.queue, limit=60))
        left.append("  ")
        room = width - left.cell_len - right.cell_len - 3
        server = state.server
        if state.connection == "reconnecting" and state.connection_error:
            server = f"{server} ({state.connection_error})"
        server = display_text(server, limit=max(room, 1))
        if room > 8:
            if len(server) > room:
                server = server[: room - 1] + "…"
            left.append(server, self._style("label"))
        gap = max(1, width - left.cell_len - right.cell_len)
        return left + Text(" " * gap) + right

    def _counts(self, width: int) -> Text:
        compact = width < 100
        line = Text(" ")
        for status, label in _STATUS_LABELS:
            value = self.state.depth(status)
            line.append(label + " ", self._style("label"))
            style = self._style("alert") if status == "failed" and value else Style()
            line.append(count(value, compact), style)
            line.append("  ")
        return line

    def _rates(self, width: int) -> Text:
        state, metrics = self.state, self.state.metrics
        tail = Text()
        if metrics is not None:
            tail.append(f" {metrics.throughput_10s:,.1f}/s", Style(bold=True))
            tail.append(" 10s ", self._style("label"))
            tail.append(f"{metrics.throughput:,.1f}/s", Style(bold=True))
            tail.append(" 1m", self._style("label"))
            if width >= 100 and metrics.avg_wait is not None:
                tail.append("  wait ", self._style("label"))
                tail.append(duration(metrics.avg_wait))
            if width >= 100 and metrics.avg_run is not None:
                tail.append("  run ", self._style("label"))
                tail.append(duration(metrics.avg_run))
        tail.append("  workers ", self._style("label"))
        tail.append(str(len(state.workers)))
        tail.append("  slots ", self._style("label"))
        tail.append(str(state.slots))
        line = Text(" ")
        line.append("done/s ", self._style("label"))
        room = min(60, width - tail.cell_len - line.cell_len - 1)
        if room >= 10:
            values = metrics.completed_per_second if metrics is not None else []
            line.append(sparkline(values, room), self._style("spark"))
        return line + tail


class TabBar(Widget):
    """`1 Pending  2 Running  …`: the active tab in reverse video and between brackets."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"tab-bar--active", "tab-bar--key"}

    def __init__(self, state: ConsoleState, *, hint: Callable[[], str], id: str | None = None):
        super().__init__(id=id)
        self.state = state
        self.hint = hint

    def render(self) -> Text:
        line = Text()
        for number, tab in enumerate(TABS, 1):
            active = tab == self.state.active
            label = f"{number} {TAB_TITLES[tab]}"
            style = self.get_component_rich_style("tab-bar--active") if active else Style()
            action = Style(meta={"@click": f"app.show_tab('{tab}')"})
            line.append(" ")
            line.append(f"[{label}]" if active else f" {label} ", style + action)
        if self.size.width >= 100:  # narrower, the row position keeps the room
            line.append("  6 Schedules ", Style(meta={"@click": "app.schedules"}))
        hint = self.hint()
        room = self.size.width - line.cell_len - 1
        if hint and room > 10:
            if len(hint) > room:
                hint = hint[: room - 1] + "…"
            line.append(
                " " * (room - len(hint)) + hint, self.get_component_rich_style("tab-bar--key")
            )
        return line
