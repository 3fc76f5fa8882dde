"""Keeping the state live: what the event feed and the refresher bring, applied.

`Live` is handed the state, the refresher and the painter. Batches of events update the
state incrementally (`reducer`) and ask for reads where rows could not be placed; a round of
reads replaces counts, workers and the window on screen, with the events that arrived during
the round replayed onto it. The app only forwards its messages here.
"""

from __future__ import annotations

from collections.abc import Callable

from jobdeck.core.events import Event, event_key

from ..widgets.painter import Painter
from .fetch import PageRequest, Snapshot
from .reducer import apply_events, replay_depths, replay_onto
from .refresher import Plan, Refresher
from .state import ConsoleState

__all__ = ["Live"]

_ALL = 10_000  # a filtered tab (a search) and the workers come whole


class Live:
    def __init__(
        self,
        state: ConsoleState,
        refresher: Refresher,
        painter: Painter,
        *,
        detail_id: Callable[[], str | None],
        embedded_id: Callable[[], str | None],
    ) -> None:
        self.state, self.refresher, self.painter = state, refresher, painter
        self.detail_id, self.embedded_id = detail_id, embedded_id

    def plan(self) -> Plan:
        depths = self.state.depths if self.state.metrics is not None else None
        return Plan(self.page_request(self.state.active), self.detail_id(), depths)

    def page_request(self, tab: str) -> PageRequest:
        view = self.state.views[tab]
        if self.state.filter or tab == "workers":
            return PageRequest(tab, 0, _ALL, self.state.filter)
        return PageRequest(tab, view.offset, view.limit)

    def take_events(self, events: list[Event]) -> None:
        state, request = self.state, self.refresher.request
        effects = apply_events(state, events)
        if not self.painter.attached:  # shutting down
            return
        self.refresher.note_events(events)
        if effects.dirty & {state.active}:
            request(dirty=True)
        if effects.workers:
            request(dirty=True, workers=True)
        if effects.connection == "restored":
            request(urgent=True)
        detail = self.detail_id()
        if detail is not None and detail in effects.jobs:
            request(urgent=True, detail=True)
        if effects.header:
            self.painter.soon("header")
        if state.active in effects.changed or state.active in effects.dirty:
            self.painter.soon("table")
        if effects.connection:
            self.painter.flush()  # connection news at once

    def take_refresh(self, snap: Snapshot) -> None:
        state = self.state
        replay = self.refresher.applied()  # the next round waits until this returns
        if state.connection != "connected":
            state.connection, state.connection_error = "connected", ""
            self.painter.loading_text("loading…")
        if snap.metrics is not None:
            state.metrics = snap.metrics
            state.depths = dict(snap.metrics.depths)
            state.depths_through = _through(snap.metrics.events_through)
            replay_depths(state, replay)
            paused, state.paused = state.paused, snap.metrics.paused
            state.clock_offset = snap.metrics.timestamp - snap.started
            if paused != state.paused and snap.workers is None and state.workers_loaded:
                state.set_workers(state.workers)
        if snap.workers is not None:
            state.embedded_id = self.embedded_id() or state.embedded_id
            state.set_workers(snap.workers)
            self.painter.soon("header")  # a blocked loop's flag comes with the workers
        if snap.warnings is not None and snap.warnings != state.server_warnings:
            state.server_warnings = snap.warnings
            self.painter.soon("header")
        if snap.page is not None and snap.page.request.tab != "workers":
            self._take_page(snap, replay)

    def _take_page(self, snap: Snapshot, replay: list[Event]) -> None:
        page = snap.page
        assert page is not None
        view = self.state.views[page.request.tab]
        if page.request != self.page_request(view.key):
            self.refresher.request(urgent=True)  # the operator moved on: read again
            return
        view.rows, view.total, view.loaded = page.rows, page.total, True
        view.filter = page.request.filter.lower()
        view.scanned, view.capped = page.scanned, page.capped
        replay_onto(self.state, view, replay)
        if page.capped:  # a search under way: the next step at once
            self.refresher.request(urgent=True)

    def failed(self, error: str) -> None:
        self.state.connection = "reconnecting"
        self.state.connection_error = error
        self.painter.loading_text("waiting for the server to answer…")
        self.painter.header_now()


def _through(event_id: str) -> tuple[int, int]:
    try:
        return event_key(event_id)
    except ValueError:  # not a log id: count every event, as before counts had a position
        return (0, 0)
