"""Send a changed span of a line from where it starts, not from the widget's left edge.

Textual writes a partial update line by line, one piece ("chop") per widget on the line, and
crops a piece that is only partly dirty on the right only (its source says "TODO: crop to x
extents"): a counter that changed at column 90 of the header sends columns 0-90 again, and a
row whose age moved sends the row up to the age. `CroppedChopsUpdate` crops both ends, so
what goes down the line is the span that changed (see `repaint`, which marks only those).

It is installed in place of Textual's class when the app starts, and only where Textual's
update has the shape this was written against (`chops`, `spans`, `chop_ends`); elsewhere
Textual's own update stays, which is correct, only less frugal.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.control import Control
from textual import _compositor
from textual.strip import Strip

__all__ = ["install"]

_Original = _compositor.ChopsUpdate


def _wide_start(strip: Strip, start: int) -> int:
    """`start`, or the first cell of the wide character `start` falls inside (a crop must
    not split one: the terminal would be sent half a glyph)."""
    x = 0
    for segment in strip:
        for char in segment.text:
            width = cell_len(char)
            if x + width > start:
                return x
            x += width
    return start


class CroppedChopsUpdate(_Original):
    def render_segments(self, console: Console) -> str:
        sequences: list[str] = []
        append = sequences.append
        move_to = Control.move_to
        chops, chop_ends = self.chops, self.chop_ends
        last_y = self.spans[-1][0]
        for y, x1, x2 in self.spans:
            line, ends = chops[y], chop_ends[y]
            for end, (x, strip) in zip(ends, line.items(), strict=False):
                if strip is None or x > x2 or end <= x1:
                    continue
                if x2 > x >= x1 and end <= x2:
                    append(move_to(x, y).segment.text)
                    append(strip.render(console))
                    continue
                start = _wide_start(strip, max(0, x1 - x)) if x < x1 else 0
                piece = strip.crop(start, min(end, x2) - x)
                append(move_to(x + start, y).segment.text)
                append(piece.render(console))
            if y != last_y:
                append("\n")
        return "".join(sequences)


def install() -> bool:
    """Use `CroppedChopsUpdate` for Textual's partial updates; False if this Textual's
    update is not the shape it was written for (then nothing changes)."""
    current = getattr(_compositor, "ChopsUpdate", None)
    if current is CroppedChopsUpdate:
        return True
    if current is not _Original or not _shape_ok():
        return False
    _compositor.ChopsUpdate = CroppedChopsUpdate  # type: ignore[misc]
    return True


def _shape_ok() -> bool:
    try:
        probe = _Original([{0: None}], [(0, 0, 1)], [[1]])
    except TypeError:
        return False
    return all(hasattr(probe, name) for name in ("chops", "spans", "chop_ends")) and hasattr(
        _compositor, "Control"
    )
