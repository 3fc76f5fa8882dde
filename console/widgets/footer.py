"""The footer: the keys that apply where the operator is, cut cleanly at narrow widths.

Textual's compact footer docks "^p palette" at its right end over keys that do not fit, and
at 80 columns the keys under it leave stray characters beside it (`^p paletteH`, `P P`). Below
`WIDE` columns the palette key is left out of the footer (ctrl+p still opens it; the help
says so), so the keys that do not fit are simply cut at the edge.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

__all__ = ["KeysFooter"]

WIDE = 100


class KeysFooter(Footer):
    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)

    def on_resize(self, event: events.Resize) -> None:
        wide = event.size.width >= WIDE
        if self.show_command_palette != wide:
            self.show_command_palette = wide
