"""The header strip and the tab bar: both draw the console state, nothing else.

Header, three lines: where (queue, server, connection, paused, read-only), how many (a count
per status), how fast (a throughput sparkline over the last minute, rates, workers and their
concurrency). Every state is a word as well as a colour, so it reads on a monochrome terminal.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from jobdeck.core.text import display_text

from ..format import count, duration, sparkline
from ..live.state import ConsoleState
from .repaint import Painted

__all__ = ["HeaderStrip", "LineWidget"]

_STATUS_LABELS = (
    ("pending", "pending"),
    ("scheduled", "scheduled"),
    ("running", "running"),
    ("failed", "failed"),
    ("completed", "completed"),
    ("cancelled", "cancelled"),
)

# the labels where the full ones do not fit on the line
_SHORT = {
    "pending": "pend",
    "scheduled": "sched",
    "running": "run",
    "completed": "compl",
    "cancelled": "canc",
    "waiting": "wait",
    "expired": "exp",
}


class LineWidget(Widget):
    """A strip of a few lines, each a function of the state (`line`), that repaints only
    the cells that changed (`redraw`; see `repaint`)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.painted = Painted()

    def line(self, y: int, width: int) -> Text:
        raise NotImplementedError

    @property
    def plain(self) -> str:
        """The lines as they would be drawn now, as plain text (for tests and logs)."""
        width = self.size.width or 120
        return "\n".join(self.line(y, width).plain for y in range(max(1, self.size.height)))

    def _strip(self, y: int) -> Strip:
        width, base = self.size.width, self.rich_style
        if y >= self.size.height:
            return Strip.blank(width, base)
        segments = Segment.apply_style(self.line(y, width).render(self.app.console), base)
        return Strip(list(segments)).crop_extend(0, width, base)

    def render_line(self, y: int) -> Strip:
        return self.painted.note(y, self._strip(y))

    def redraw(self) -> None:
        """Show the state as it is now: only what differs from the screen is sent."""
        if not self.is_attached or not self.size:
            self.refresh()
            return
        lines = ((y, self._strip(y)) for y in range(self.size.height))
        for region in self.painted.regions(lines):
            self.refresh(region)


class HeaderStrip(LineWidget):
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

    def line(self, y: int, width: int) -> Text:
        width = max(20, width)
        return (self._where, self._counts, self._rates)[y](width) if y < 3 else Text()

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
        if state.slow_refresh:
            right.append("  ")
            every = f"{state.refresh:g}s"
            slow = f"⟳ {every}" if width < 100 else f"⟳ every {every}"
            right.append(slow, self._style("warning"))
        if state.past:  # (the time mode: looking, never acting; its bar says when)
            right.append("  ")
            right.append("◀ PAST", self._style("warning"))
        elif state.read_only:
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
        """A count per status; `waiting` and `expired` once there are any. Where that does
        not fit (80 columns with either of them), the labels shorten as the tab bar's do
        (`pend`, `sched`, `run`, ...) rather than the last counts being cut off."""
        compact = width < 100
        line = self._count_line(compact, short=False)
        shown = line.copy()
        shown.rstrip()
        if shown.cell_len > width:
            line = self._count_line(compact, short=True)
        return line

    def _count_line(self, compact: bool, short: bool) -> Text:
        line = Text(" ")
        for status, label in _STATUS_LABELS:
            value = self.state.depth(status)
            line.append((_SHORT.get(status, label) if short else label) + " ", self._style("label"))
            style = self._style("alert") if status == "failed" and value else Style()
            line.append(count(value, compact), style)
            if status == "pending":
                line.append(self._aside(compact))
            line.append("  ")
        # (workflows) jobs waiting for others, and jobs that expired unstarted: shown once
        # there are any (a queue that has none keeps its 80-column line)
        for status in ("waiting", "expired"):
            value = self.state.depth(status)
            if value:
                line.append((_SHORT[status] if short else status) + " ", self._style("label"))
                line.append(count(value, compact))
                line.append("  ")
        return line

    def _aside(self, compact: bool) -> Text:
        """Of the pending jobs, those held by a limit and those no live worker can run:
        `(3 throttled, 5 unserved)`, or `(3 thr, 5 unsrv)` on a narrow terminal."""
        metrics = self.state.metrics
        if metrics is None or not (metrics.throttled or metrics.unserved):
            return Text()
        words = ("thr", "unsrv") if compact else ("throttled", "unserved")
        parts = [
            f"{count(n, compact)} {word}"
            for n, word in zip((metrics.throttled, metrics.unserved), words, strict=True)
            if n
        ]
        return Text(f" ({', '.join(parts)})", self._style("warning"))

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
        if not state.past:  # the event log holds no workers: none shown, rather than 0
            tail.append("  workers ", self._style("label"))
            tail.append(str(len(state.workers)))
            tail.append("  concurrency ", self._style("label"))
            tail.append(str(state.concurrency))
        line = Text(" ")
        line.append("completed/s ", self._style("label"))
        room = min(60, width - tail.cell_len - line.cell_len - 1)
        if room >= 10:
            values = metrics.completed_per_second if metrics is not None else []
            line.append(sparkline(values, room), self._style("spark"))
        return line + tail
