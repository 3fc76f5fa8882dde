"""The footer: the keys that apply where the operator is, as many as fit, and always `?`.

Textual's footer lays every key out in one row and lets the row run past the right edge:
at 80 columns "? Help" and "q Quit" fell off the end (the help is where the rest are), and
its "^p palette", docked at the right end over the keys that did not fit, left stray
characters beside it (`^p paletteH`, `P P`). This footer keeps the keys in their order while
they fit, and leaves out the least needed when they do not (charts, time mode, select all,
then from the end), never the help and quit keys, which end it. Below `WIDE` columns the
palette key is left out (ctrl+p still opens it; the help says so); from `WIDE` on it is
docked at the right end, and the keys leave it its room.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["KeysFooter"]

WIDE = 100
_ALWAYS = ("help", "quit", "app.help", "app.quit")  # actions never left out
# Left out first when the keys do not fit, in this order (the help lists every key).
_LEAST = ("charts", "time_mode", "mark_all", "burst", "set_count", "retry_all")
_PALETTE = 14  # cells the docked palette key takes, with its border and padding


def _action(widget: Widget) -> str:
    return widget.action if isinstance(widget, FooterKey) else ""


def _width(widget: Widget) -> int:
    """Cells a compact key takes: `k Description` and the gap after it."""
    if not isinstance(widget, FooterKey):
        return widget.size.width + 1
    label = widget.key_display + (" " + widget.description if widget.description else "")
    return cell_len(label) + 1


def _rank(widget: Widget, spare: list[Widget]) -> int:
    """Which key goes first when they do not all fit: those of `_LEAST`, in its order,
    then the last of the others."""
    action = _action(widget).partition("(")[0]
    if action in _LEAST:
        return _LEAST.index(action) - len(_LEAST)
    return len(spare) - spare.index(widget)


class KeysFooter(Footer):
    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
        self._columns = 0

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        width = self._columns or self.app.size.width
        palette = [k for k in keys if isinstance(k, FooterKey) and k.has_class("-command-palette")]
        kept = [k for k in keys if k not in palette]
        room = width - (_PALETTE if palette else 0)
        while sum(map(_width, kept)) > room:
            spare = [k for k in kept if _action(k) not in _ALWAYS]
            if not spare:
                break
            kept.remove(min(spare, key=lambda k: _rank(k, spare)))
        yield from kept
        yield from palette

    def on_resize(self, event: events.Resize) -> None:
        width = event.size.width
        if width == self._columns:
            return
        self._columns = width
        self.show_command_palette = width >= WIDE
        self.call_after_refresh(self.recompose)
