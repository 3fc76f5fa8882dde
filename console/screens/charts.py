"""`m`: the chart panel. Jobs submitted, completed and failed per minute over the last hour
(as far as the event log reaches), wait and run time percentiles; `n` cycles through the job
names (all, then one at a time), `r` reads the figures again, esc goes back.

Everything comes from the console's `Past` (the time mode's record of the event log), so
the panel costs the queue nothing; job names are shown through `display_text`."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from jobdeck.core.text import display_text

from ..format import count, duration
from ..timemode.charts import Charts, charts
from ..timemode.past import Past

__all__ = ["ChartScreen"]

_BLOCKS = " ▁▂▃▄▅▆▇█"


def bars(values: list[int], height: int, width: int, style: str) -> list[Text]:
    """A bar chart `height` rows high, one column per value (the newest at the right)."""
    values = values[-width:]
    top = max(values, default=0) or 1
    rows = []
    for row in range(height, 0, -1):
        line = Text()
        for value in values:
            filled = value / top * height - (row - 1)
            cell = _BLOCKS[max(0, min(8, round(filled * 8)))] if filled > 0 else " "
            line.append(cell, style)
        rows.append(line)
    return rows


class ChartScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,m", "close", "Back"),
        Binding("n", "next_name", "Job name"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self, past: Past) -> None:
        super().__init__()
        self.past = past
        self.name_shown: str | None = None
        self.data = charts(past)
        self.body = Static(id="charts-body")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="charts-scroll"):
            yield self.body
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.draw()

    def on_resize(self) -> None:
        self.draw()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.data = charts(self.past, self.name_shown)
        self.draw()

    def action_next_name(self) -> None:
        names = self.data.names
        if not names:
            return
        if self.name_shown is None:
            self.name_shown = names[0]
        else:
            index = names.index(self.name_shown) + 1 if self.name_shown in names else 0
            self.name_shown = names[index] if index < len(names) else None
        self.action_reload()

    def draw(self) -> None:
        self.body.update(self.render_charts(self.data, max(30, self.size.width - 4)))

    def render_charts(self, data: Charts, width: int) -> Group:
        who = "every job" if data.name is None else display_text(data.name, limit=60)
        parts: list[Text] = [Text(f" Per minute, {who}", style="bold reverse")]
        if not data.completed:
            parts.append(Text(" nothing in the event log yet", style="italic"))
            return Group(*parts)
        height = 3 if self.size.height < 30 else 5
        first = time.strftime("%H:%M", time.localtime(data.start))
        span = f"{len(data.completed)} min from {first}"
        for label, values, style in (
            ("completed", data.completed, "green"),
            ("failed", data.failed, "red"),
            ("submitted", data.submitted, "cyan"),
        ):
            head = Text(f" {label} ", style="bold")
            head.append(f"max {count(max(values))}/min  total {count(sum(values))}  ({span})")
            parts.append(head)
            parts += [Text(" ") + line for line in bars(values, height, width, style)]
        times = Text(" times ", style="bold")
        for label, figures in (("wait", data.wait), ("run", data.run)):
            times.append(f" {label} ")
            times.append(
                "  ".join(f"{k} {duration(v)}" for k, v in figures.items()) or "-", style="bold"
            )
            times.append("  ")
        parts.append(times)
        return Group(*parts)
