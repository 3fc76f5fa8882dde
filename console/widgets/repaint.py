"""Repaint only the cells that changed: what keeps the console cheap over a slow link.

Textual writes to the terminal every region a widget marks dirty, whole, and `refresh()`
with no region marks the whole widget: a table refreshed once a second to move its ages on
sends every row, blank ones included (~10 KB a second at 120x40, idle). Widgets here keep
the strip of each line as it was last painted (`Painted.note`, from `render_line`, which
Textual calls for every line that reaches the screen) and, to redraw, hand over the lines
they would paint now: only the runs of cells that differ are marked dirty. A tick that
changes nothing then writes nothing, and a counter that moved repaints that counter.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

__all__ = ["Painted", "changed_spans"]

# Two runs of changed cells closer than this are sent as one: a cursor move and the styles
# of a new run cost about as much as re-sending a few unchanged cells between them.
_JOIN_GAP = 8


def _cells(strip: Strip) -> list[tuple[str, Style | None]]:
    cells: list[tuple[str, Style | None]] = []
    for segment in strip:
        if segment.control:
            continue
        for char in segment.text:
            cells.append((char, segment.style))
            if cell_len(char) == 2:
                cells.append(("", segment.style))  # the right half of a wide character
    return cells


def changed_spans(old: Strip | None, new: Strip) -> list[tuple[int, int]]:
    """The runs `[start, end)` of cells where `new` differs from `old` (all of it if there
    was no `old`), nearby runs joined."""
    if old is None:
        return [(0, new.cell_length)] if new.cell_length else []
    if old == new:
        return []
    before, after = _cells(old), _cells(new)
    width = max(len(before), len(after))
    spans: list[tuple[int, int]] = []
    start = -1
    for x in range(width):
        same = x < len(before) and x < len(after) and before[x] == after[x]
        if not same and start < 0:
            start = x
        elif same and start >= 0:
            spans.append((start, x))
            start = -1
    if start >= 0:
        spans.append((start, width))
    joined: list[tuple[int, int]] = []
    for span in spans:
        if joined and span[0] - joined[-1][1] < _JOIN_GAP:
            joined[-1] = (joined[-1][0], span[1])
        else:
            joined.append(span)
    return joined


class Painted:
    """The strips a widget last handed Textual, line by line (y within the widget)."""

    def __init__(self) -> None:
        self.lines: dict[int, Strip] = {}

    def note(self, y: int, strip: Strip) -> Strip:
        """Called with every line `render_line` returns; gives it back."""
        self.lines[y] = strip
        return strip

    def regions(self, lines: Iterable[tuple[int, Strip]]) -> list[Region]:
        """The dirty regions that bring the screen from what was painted to `lines`."""
        regions = []
        for y, strip in lines:
            spans = changed_spans(self.lines.get(y), strip)
            if spans:
                # One region a line: Textual sends a dirty span of a line from the left edge
                # of the widget's strip on, so a second span would send that part again.
                start, end = spans[0][0], spans[-1][1]
                regions.append(Region(start, y, end - start, 1))
        return regions

    def forget(self) -> None:
        self.lines.clear()
