"""The time mode's bar: where the cursor is, and the throughput over the log's span with a
marker at the cursor (failure bursts in the error colour), above the footer."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from ..format import duration, sparkline
from ..timemode.past import Past

__all__ = ["TimeBar"]


class TimeBar(Widget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "time-bar--title",
        "time-bar--label",
        "time-bar--marker",
        "time-bar--failed",
        "time-bar--spark",
    }

    def __init__(self, past: Past, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.past = past
        self.cursor: float | None = None
        self.note = ""  # "loading the event log…" and the like

    def show(self, cursor: float | None, note: str = "") -> None:
        """Attributes down: the moment on screen."""
        self.cursor, self.note = cursor, note
        self.refresh()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"time-bar--{name}")

    def render(self) -> Text:
        width = max(20, self.size.width)
        span = self.past.span()
        top = Text(" ◀ TIME ", self._style("title"))
        if self.cursor is None or span is None:
            top.append(f" {self.note or 'the event log is empty'}", self._style("label"))
            return top
        first, last = span
        top.append(" " + time.strftime("%H:%M:%S", time.localtime(self.cursor)), Style(bold=True))
        top.append(f"  {duration(last - self.cursor)} ago", Style(bold=True))
        top.append(f"  log {duration(last - first)}", self._style("label"))
        keys = "  ←→ 1s  shift 10s  ctrl 1m  f/F failure burst  esc live"
        if top.cell_len + len(keys) <= width:
            top.append(keys, self._style("label"))
        return Text("\n").join([top, self._chart(width, first, last)])

    def _chart(self, width: int, first: float, last: float) -> Text:
        """Completed per second over the whole span, resampled; failures coloured; ▲ at the
        cursor."""
        cells = max(10, width - 2)
        start, end = int(first), int(last) + 1
        done = self.past.per_second(start, end, 1)
        failed = self.past.per_second(start, end, 2)
        spark = sparkline(done, cells)
        per_cell = max(1, len(failed)) / cells
        line = Text(" ")
        assert self.cursor is not None  # render() draws no chart without a cursor
        mark = int((self.cursor - first) / max(1e-9, last - first) * (cells - 1))
        for i, block in enumerate(spark):
            lo, hi = int(i * per_cell), max(int((i + 1) * per_cell), int(i * per_cell) + 1)
            bad, good = sum(failed[lo:hi]), sum(done[lo:hi])
            burst = bad >= max(3, good // 5)
            style = self._style("failed") if burst else self._style("spark")
            if i == mark:
                line.append("▲", self._style("marker"))
            else:
                line.append(block, style)
        return line
