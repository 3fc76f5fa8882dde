"""Yes/no and number prompts: small modal dialogs answered from the keyboard."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from jobdeck.core.text import display_text

__all__ = ["ConfirmScreen", "CountScreen"]


class ConfirmScreen(ModalScreen[bool]):
    """`question` with y / n. Enter means yes only when `enter_confirms`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, question: str) -> None:
        """`title` and `question` are plain text (they may quote job names): never markup."""
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(display_text(self.title_text)), classes="dialog-title")
            yield Static(Text(display_text(self.question, multiline=True)), classes="dialog-body")
            yield Static("[b]y[/b] yes    [b]n[/b] / [b]esc[/b] no", classes="dialog-keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class CountScreen(ModalScreen[int | None]):
    """Ask for a whole number (a worker's concurrency)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, question: str, current: int) -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(display_text(self.title_text)), classes="dialog-title")
            yield Static(Text(display_text(self.question, multiline=True)), classes="dialog-body")
            yield Input(
                str(self.current),
                type="integer",
                max_length=5,
                id="count",
                select_on_focus=True,
            )
            yield Static("[b]enter[/b] set    [b]esc[/b] cancel", classes="dialog-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text.isdigit() and int(text) <= 10_000:
            self.dismiss(int(text))
        else:
            self.notify("a whole number from 0 to 10000", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)
