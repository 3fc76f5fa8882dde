"""`/`: the filter bar. It owns its input and its note, and tells the app (messages up) what
the operator typed, debounced, and when they are done; the app tells it (attributes down)
what the search found."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

__all__ = ["FilterBar"]

_DEBOUNCE = 0.15  # seconds of quiet before a search goes out: one search per pause in typing


class FilterBar(Horizontal):
    class Changed(Message):
        """The filter text to apply now."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Done(Message):
        """Enter: keep the filter and go back to the table."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.input = Input(placeholder="name, id, error or argument text", id="filter")
        self.info = Static("", id="filter-info")
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("/", id="filter-prompt")
        yield self.input
        yield self.info

    def open(self) -> None:
        self.display = True
        self.input.focus()

    def clear(self) -> None:
        self._stop_timer()
        self.input.value = ""
        self.display = False
        self.info.update("")

    def show_info(self, text: str) -> None:
        self.info.update(text)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._stop_timer()
        value = event.value
        self._timer = self.set_timer(_DEBOUNCE, lambda: self.post_message(self.Changed(value)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._stop_timer()
        self.post_message(self.Changed(event.value))
        if not event.value.strip():
            self.display = False
        self.post_message(self.Done())
