"""`m`: the chart panel. Jobs submitted, completed and failed per minute over the last hour
(as far as the event log reaches), wait and run time percentiles; `n` cycles through the job
names (all, then one at a time), `s` the span (the hour, a day, 30 days), `r` reads the
figures again, esc goes back.

The hour comes from the console's `Past` (the time mode's record of the event log), so it
costs the queue nothing; a day and 30 days are the server's history (`get_history`: per
minute kept a day, per hour kept 30 days), read once per `s` or `r` in a worker, and drawn
a bar per several minutes or hours to fit the width. Job names go through `display_text`."""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from jobdeck.core.text import display_text

from ..format import count, duration
from ..timemode.charts import Charts, charts, from_history
from ..timemode.past import Past
from ..widgets.footer import KeysFooter

__all__ = ["ChartScreen"]

_BLOCKS = " ▁▂▃▄▅▆▇█"
# span -> (what the server is asked for, how it is named); "hour" is the event log's
_SPANS = {"hour": None, "day": ("minute", "the last day"), "month": ("hour", "the last 30 days")}


def fit(values: list[int], width: int) -> tuple[list[int], int]:
    """`values` summed in groups so they fit `width` columns: (bars, values per bar)."""
    group = max(1, math.ceil(len(values) / max(1, width)))
    start = len(values) % group  # the newest bar is whole; the oldest partial group goes
    return [sum(values[i : i + group]) for i in range(start, len(values), group)], group


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
        Binding("s", "next_span", "Span"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self, past: Past, service: Any = None) -> None:
        """`service` (a JobService) gives the longer spans; without one, only the hour."""
        super().__init__()
        self.past = past
        self.service = service
        self.name_shown: str | None = None
        self.span = "hour"
        self.data = charts(past)
        self.body = Static(id="charts-body")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="charts-scroll"):
            yield self.body
        yield KeysFooter()

    def on_mount(self) -> None:
        self.draw()

    def on_resize(self) -> None:
        self.draw()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        if self.span != "hour":
            self.read_history()
            return
        self.data = charts(self.past, self.name_shown)
        self.draw()

    def action_next_span(self) -> None:
        if self.service is None:
            self.notify("Only the last hour here: the server's history needs its service.")
            return
        spans = list(_SPANS)
        self.span = spans[(spans.index(self.span) + 1) % len(spans)]
        self.action_reload()

    @work(exclusive=True, group="charts-history")
    async def read_history(self) -> None:
        step, _ = _SPANS[self.span] or ("minute", "")
        span = self.span
        try:
            history = await self.service.get_history(step)
        except Exception as exc:  # the server is away: say so, keep what is shown
            self.notify(display_text(f"Cannot read the history: {exc}"), severity="warning")
            return
        if span == self.span:
            self.data = from_history(history)
            self.draw()

    def action_next_name(self) -> None:
        if self.span != "hour":
            self.notify("Job names are charted over the last hour (s: back to it).")
            return
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
        longer = _SPANS[self.span]
        per = "minute" if data.step == 60 else "hour"
        title = f" Per {per}, {who}" if longer is None else f" Every job, {longer[1]}"
        parts: list[Text] = [Text(title, style="bold reverse")]
        if not data.completed:
            parts.append(Text(" nothing in the event log yet", style="italic"))
            return Group(*parts)
        height = 3 if self.size.height < 30 else 5
        shown = time.strftime("%H:%M" if data.step == 60 else "%d %b", time.localtime(data.start))
        for label, values, style in (
            ("completed", data.completed, "green"),
            ("failed", data.failed, "red"),
            ("submitted", data.submitted, "cyan"),
        ):
            columns, group = fit(values, width)
            unit = ("min" if per == "minute" else per) if group == 1 else f"{group} {per}s"
            many = "min" if per == "minute" else "h"
            head = Text(f" {label} ", style="bold")
            head.append(
                f"max {count(max(columns))}/{unit}  total {count(sum(values))}  "
                f"({len(values)} {many} from {shown})"
            )
            parts.append(head)
            parts += [Text(" ") + line for line in bars(columns, height, width, style)]
        if longer is not None:
            parts.append(Text(" s: the span (hour, day, 30 days)", style="italic"))
            return Group(*parts)
        times = Text(" times ", style="bold")
        for label, figures in (("wait", data.wait), ("run", data.run)):
            times.append(f" {label} ")
            times.append(
                "  ".join(f"{k} {duration(v)}" for k, v in figures.items()) or "-", style="bold"
            )
            times.append("  ")
        parts.append(times)
        return Group(*parts)
