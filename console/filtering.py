"""`/`: the filter bar. A filter searches the active tab by name or id (see `fetch`); enter
keeps it and goes back to the table, esc clears it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Input

from .state import TABS

if TYPE_CHECKING:
    from .app import JobdeckApp

__all__ = ["FilterMixin"]


class FilterMixin:
    """Mixed into `JobdeckApp`."""

    def action_filter(self: JobdeckApp) -> None:
        bar = self.filter_bar
        bar.display = True
        self.filter_input.focus()
        self.sync_bindings()

    def action_clear_filter(self: JobdeckApp) -> None:
        field = self.filter_input
        field.value = ""
        self.filter_bar.display = False
        self._apply_filter("")
        self.table().focus()
        self.sync_bindings()

    def on_input_changed(self: JobdeckApp, event: Input.Changed) -> None:
        if event.input.id != "filter":
            return
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(0.15, lambda: self._apply_filter(value))

    def on_input_submitted(self: JobdeckApp, event: Input.Submitted) -> None:
        if event.input.id != "filter":
            return
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._apply_filter(event.value)
        if not event.value.strip():
            self.filter_bar.display = False
        self.table().focus()
        self.sync_bindings()

    def _apply_filter(self: JobdeckApp, text: str) -> None:
        text = text.strip()
        if text == self.state.filter:
            return
        self.state.filter = text
        for tab in TABS:
            view = self.state.views[tab]
            view.offset, view.rows, view.total, view.loaded = 0, [], 0, False
            self.table(tab).reset()
        self.filter_info.update("searching…" if text else "")
        self.request(urgent=True)

    def _update_filter_info(self: JobdeckApp) -> None:
        if not self.state.filter:
            return
        view = self.state.views[self.state.active]
        info = f"{view.total:,} match{'es' if view.total != 1 else ''}"
        if view.capped and view.scanned is not None:
            depth = self.state.tab_count(view.key)
            info += f" in the first {view.scanned:,} of {depth:,}"
        self.filter_info.update(info)
