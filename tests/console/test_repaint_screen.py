"""The terminal shows what the console drew, although it is sent only what changed.

Every frame the app would write to a terminal (cursor moves and text: only the changed
spans, see `widgets.repaint` and `widgets.partial_update`) is played onto a small emulated
screen while the console follows a queue with jobs starting, reporting progress, finishing
and failing, and the operator switches tabs and moves. Then the emulated screen must read
exactly as the console's own full rendering of that moment: a missed or misplaced span would
leave a stale character behind."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console as RichConsole
from textual._compositor import CompositorUpdate

from jobdeck.console.app import JobdeckApp
from jobdeck.core import JobService

from .conftest import Console, until

pytestmark = pytest.mark.slow

_SEQUENCE = re.compile(r"\x1b\[(\d+);(\d+)H|\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b\][^\x07]*\x07|\r|\n")


class Screen:
    """Just enough of a terminal for Textual's updates: absolute moves, text, new lines."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells = [[" "] * width for _ in range(height)]
        self.x = self.y = 0

    def feed(self, data: str) -> None:
        position = 0
        for match in _SEQUENCE.finditer(data):
            self._text(data[position : match.start()])
            position = match.end()
            if match.group(1):
                self.y, self.x = int(match.group(1)) - 1, int(match.group(2)) - 1
            elif match.group(0) == "\r":
                self.x = 0
            elif match.group(0) == "\n":
                self.y, self.x = self.y + 1, 0
        self._text(data[position:])

    def _text(self, text: str) -> None:
        for char in text:
            width = cell_len(char)
            if 0 <= self.y < self.height and 0 <= self.x < self.width:
                self.cells[self.y][self.x] = char
                if width == 2 and self.x + 1 < self.width:
                    self.cells[self.y][self.x + 1] = ""
            self.x += width

    def lines(self) -> list[str]:
        return ["".join(row) for row in self.cells]


def record(app: JobdeckApp, terminal: Screen) -> None:
    """Play every frame `app` would send to a terminal onto `terminal` (headless, the app
    renders each frame but writes none)."""
    display = app._display
    rich = RichConsole(color_system="truecolor", force_terminal=True, width=terminal.width)

    def played(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            terminal.feed(renderable.render_segments(rich))

    app._display = played  # type: ignore[method-assign]


def drawn(app: JobdeckApp) -> list[str]:
    """The console's own full rendering of the screen now."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_the_terminal_reads_as_the_console_drew_it(service: JobService) -> None:
    size = (100, 30)
    app = JobdeckApp(service, reconcile_interval=0.3)
    terminal = Screen(*size)
    record(app, terminal)
    await service.start_workers(4)
    async with app.run_test(size=size) as pilot:
        c = Console(app, pilot)
        await c.until(lambda: app.fetches >= 1)
        await service.submit_jobs([{"name": "hold", "kwargs": {"seconds": 1.5}} for _ in range(6)])
        await service.submit_jobs([{"name": "boom"} for _ in range(3)])
        await c.until(lambda: app.state.depth("running") > 0, what="jobs running")
        await c.press("2")  # progress bars moving
        await pilot.pause(0.8)
        await c.press("down", "down", "3", "up", "1", "4", "5")
        await until(
            pilot,
            lambda: app.state.depth("completed") >= 6 and app.state.depth("failed") >= 3,
            10.0,
            "every job finished",
        )
        await c.press("3", "down")
        await pilot.pause(1.2)  # a tick of ages; then nothing is pending anywhere
        assert terminal.lines() == drawn(app)
