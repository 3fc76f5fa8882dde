"""`JobdeckApp`: the live console. It is handed a `JobService` and owns two loops.

- the *event feed* consumes `service.events()` in batches (~100 ms) and applies each batch to
  the state incrementally (`reducer`);
- the *refresher* reads metrics, the window on screen and the workers (`fetch`) once a second,
  at once when the operator asks for other rows, and a little after events that moved rows
  it could not place exactly.
Both only post messages; handlers update `self.state` and tell the widgets to redraw. Widgets
never call the service. Operator actions live in `actions.ActionsMixin`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Input, Static

from jobdeck.core.events import Event

from .actions import ActionsMixin
from .feed import batched
from .fetch import Fetcher, PageRequest, Snapshot
from .filtering import FilterMixin
from .format import count
from .reducer import apply_events, replay_onto
from .refresher import FetchFailed, Plan, Refreshed, Refresher
from .screens.detail import DetailScreen
from .state import TABS, ConsoleState
from .widgets.columns import COLUMNS
from .widgets.header import HeaderStrip, TabBar
from .widgets.job_table import JobTable

__all__ = ["JobdeckApp"]

log = logging.getLogger("jobdeck.console")

_EMPTY = {
    "pending": "no pending or scheduled jobs",
    "running": "no job is running",
    "dead": "no dead letters",
    "workers": "no live worker on this queue",
    "history": "no completed or cancelled jobs yet",
}
_FOOTER_ACTIONS = (
    "cancel",
    "retry",
    "retry_all",
    "scale",
    "set_count",
    "pause",
    "resume",
    "filter",
    "clear_filter",
)


class EventsArrived(Message):
    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events


class JobdeckApp(ActionsMixin, FilterMixin, App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "jobdeck"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(n), f"show_tab('{tab}')", tab, show=False) for n, tab in enumerate(TABS, 1)),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "retry", "Retry"),
        Binding("R", "retry_all", "Retry all"),
        Binding("plus", "scale(1)", "Scale up", key_display="+"),
        Binding("minus", "scale(-1)", "Scale down", key_display="-"),
        Binding("s", "set_count", "Set slots"),
        Binding("plus", "pool_scale(1)", "Scale pool up", show=False),
        Binding("minus", "pool_scale(-1)", "Scale pool down", show=False),
        Binding("s", "pool_set_count", "Set pool slots", show=False),
        Binding("p", "pause", "Pause"),
        Binding("p", "resume", "Resume"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        service: Any,
        *,
        read_only: bool = False,
        embedded_workers: int | None = None,
        clock: Callable[[], float] = time.time,
        reconcile_interval: float = 1.0,
        batch_interval: float = 0.1,
        dirty_gap: float = 0.25,
        fetch_timeout: float = 2.5,
        frame_interval: float = 0.2,
        freeze_gc: bool = False,
        scan_limit: int = 5000,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.service = service
        self.read_only = read_only
        self.embedded_workers = embedded_workers
        self.clock = clock
        self.batch_interval = batch_interval
        self.live = live
        self.state = ConsoleState(
            queue=service.queue, server=service.description, read_only=read_only
        )
        self.fetcher = Fetcher(service, scan_limit=scan_limit, clock=clock)
        self.refresher = Refresher(
            self.fetcher,
            self.post_message,
            self._plan,
            interval=reconcile_interval,
            dirty_gap=dirty_gap,
            timeout=fetch_timeout,
        )
        self.detail_id: str | None = None
        self._batch_done = asyncio.Event()
        self._filter_timer: Timer | None = None
        self.frame_interval = frame_interval
        self.freeze_gc = freeze_gc
        self.asked_slots: dict[str, tuple[int, float]] = {}  # worker -> (slots, monotonic)
        self._redraw_due: set[str] = set()
        self._bindings_signature: tuple[Any, ...] = ()

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # The widgets are kept as attributes: handlers reach them without a DOM query, and
        # a message that arrives while the app shuts down draws into detached widgets only.
        self.header = HeaderStrip(self.state, id="header")
        self.tab_bar = TabBar(self.state, hint=self._position, id="tab-bar")
        self.tables = {
            tab: JobTable(tab, COLUMNS[tab], clock=self.now, empty=_EMPTY[tab], id=tab)
            for tab in TABS
        }
        self.switcher = ContentSwitcher(*self.tables.values(), initial="pending", id="switcher")
        self.filter_bar = Horizontal(id="filter-bar")
        self.filter_input = Input(placeholder="name or id", id="filter")
        self.filter_info = Static("", id="filter-info")
        yield self.header
        yield self.tab_bar
        yield self.switcher
        with self.filter_bar:
            yield Static("/", id="filter-prompt")
            yield self.filter_input
            yield self.filter_info
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.service.pool is not None:
            self.state.embedded_id = self.service.pool.id
        elif self.embedded_workers is not None:
            self._start_pool(self.embedded_workers)
        self.table().focus()
        if self.live:
            self._event_feed()
        self._refresher()
        self.set_interval(1.0, self._tick)
        self.set_interval(self.frame_interval, self._flush_redraw)

    def now(self) -> float:
        """The server's clock, as well as we know it (ages and elapsed times use it)."""
        return self.clock() + self.state.clock_offset

    def table(self, tab: str | None = None) -> JobTable:
        return self.tables[tab or self.state.active]

    @property
    def on_main(self) -> bool:
        return len(self.screen_stack) == 1

    # -- the event feed ------------------------------------------------------------------
    @work(exclusive=True, group="events")
    async def _event_feed(self) -> None:
        while True:
            try:
                async for batch in batched(self.service.events(), self.batch_interval):
                    self._batch_done.clear()
                    self.post_message(EventsArrived(batch))
                    await self._batch_done.wait()  # back-pressure: batches grow instead
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or a broken server must not kill the console
                log.exception("event feed failed")
                self.post_message(FetchFailed(f"event feed: {type(exc).__name__}: {exc}"))
                await asyncio.sleep(1.0)

    def on_events_arrived(self, message: EventsArrived) -> None:
        effects = apply_events(self.state, message.events)
        self._batch_done.set()
        if not self.header.is_attached:  # shutting down
            return
        self.refresher.note_events(message.events)
        if effects.connection == "lost":
            self.state.connection = "reconnecting"
        if effects.dirty & {self.state.active}:
            self.request(dirty=True)
        if effects.workers:
            self.request(dirty=True, workers=True)
        if effects.connection == "restored":
            self.request(urgent=True)
        if self.detail_id is not None and self.detail_id in effects.jobs:
            self.request(urgent=True, detail=True)
        if effects.header:
            self._redraw_soon("header")
        if self.state.active in effects.changed or self.state.active in effects.dirty:
            self._redraw_soon("table")
        if effects.connection:
            self._flush_redraw()  # connection news at once

    # -- the refresher -------------------------------------------------------------------
    def request(self, **wants: bool) -> None:
        """Ask for a round of reads: `urgent` (at once: the operator waits), `dirty` (soon:
        events moved rows we could not place), `workers`, `detail`."""
        self.refresher.request(**wants)

    @property
    def fetches(self) -> int:
        """Rounds of reads so far (tests and the load bench wait on it)."""
        return self.refresher.rounds

    @work(exclusive=True, group="refresh")
    async def _refresher(self) -> None:
        await self.refresher.run()

    def _plan(self) -> Plan:
        depths = self.state.depths if self.state.metrics is not None else None
        return Plan(self._page_request(), self.detail_id, depths)

    def _page_request(self) -> PageRequest:
        view = self.state.views[self.state.active]
        if self.state.filter or view.key == "workers":
            return PageRequest(view.key, 0, 10_000, self.state.filter)
        return PageRequest(view.key, view.offset, view.limit)

    def on_refreshed(self, message: Refreshed) -> None:
        snap, state = message.snapshot, self.state
        replay = self.refresher.applied()  # the next round waits until this returns
        if state.connection != "connected":
            state.connection, state.connection_error = "connected", ""
            self._loading_text("loading…")
        if snap.metrics is not None:
            state.metrics = snap.metrics
            state.depths = dict(snap.metrics.depths)
            state.paused = snap.metrics.paused
            state.clock_offset = snap.metrics.timestamp - snap.started
        if snap.workers is not None:
            if self.service.pool is not None:
                state.embedded_id = self.service.pool.id
            state.set_workers(snap.workers)
        if snap.page is not None and snap.page.request.tab != "workers":
            self._take_page(snap, replay)
        # A refresh can land before the first screen is up (a slow start) or after the last
        # is gone (shutting down): there is then nothing on screen to update.
        screen = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(screen, DetailScreen) and screen.job_id == snap.detail_id:
            screen.show(snap.detail, state.timeline.get(screen.job_id))
        if not self.header.is_attached:  # shutting down
            return
        self._redraw_soon("header", "table")
        if message.urgent:  # the operator is waiting for this
            self._flush_redraw()
        self.sync_bindings()
        if self.freeze_gc and self.fetches == 1:
            # Everything built so far (Textual, the widgets, the client) lives as long as
            # the console: moved out of the collector's sight, a full collection no longer
            # walks it, which took pauses of ~100 ms out of key handling under load.
            self.call_after_refresh(gc.freeze)

    def _take_page(self, snap: Snapshot, replay: list[Event]) -> None:
        page = snap.page
        assert page is not None
        view = self.state.views[page.request.tab]
        if page.request != self._page_request_for(view.key):
            self.request(urgent=True)  # the operator moved on while we read: read again
            return
        view.rows, view.total, view.loaded = page.rows, page.total, True
        view.filter = page.request.filter.lower()
        view.scanned, view.capped = page.scanned, page.capped
        replay_onto(self.state, view, replay)

    def _page_request_for(self, tab: str) -> PageRequest:
        view = self.state.views[tab]
        if self.state.filter or tab == "workers":
            return PageRequest(tab, 0, 10_000, self.state.filter)
        return PageRequest(tab, view.offset, view.limit)

    def on_fetch_failed(self, message: FetchFailed) -> None:
        self.state.connection = "reconnecting"
        self.state.connection_error = message.error
        self._loading_text("waiting for the server to answer…")
        self._redraw_header()

    def _loading_text(self, text: str) -> None:
        for table in self.tables.values():
            if table.loading_text != text:
                table.loading_text = text
                table.refresh()

    # -- drawing -------------------------------------------------------------------------
    def sync_bindings(self) -> None:
        """Redraw the footer only when the keys that apply have changed (the footer
        rebuilds itself on every refresh, which would flicker at event rate)."""
        signature = (
            id(self.screen),
            self.state.active,
            tuple(self.check_action(a, ()) for a in _FOOTER_ACTIONS),
        )
        if signature != self._bindings_signature:
            self._bindings_signature = signature
            self.refresh_bindings()

    def _redraw_header(self) -> None:
        self.header.refresh()
        self.tab_bar.refresh()
        self._update_filter_info()

    def _redraw_table(self, tab: str | None = None) -> None:
        tab = tab or self.state.active
        view = self.state.views[tab]
        if view.loaded:
            self.table(tab).show(view.offset if not view.filter else 0, view.rows, view.total)
        self.tab_bar.refresh()

    def _redraw_soon(self, *parts: str) -> None:
        """Live updates are drawn at most every `frame_interval` (5 a second): a thousand
        events a second then cost a few frames, not a frame per batch."""
        self._redraw_due.update(parts)

    def _flush_redraw(self) -> None:
        if not self._redraw_due or not self.header.is_attached:
            return
        due, self._redraw_due = self._redraw_due, set()
        if "table" in due:
            self._redraw_table()
        if "header" in due:
            self._redraw_header()

    def _tick(self) -> None:
        """Ages and elapsed times move on even when nothing happens."""
        if not self.header.is_attached:
            return
        self.header.refresh()
        self.table().refresh()
        screen = self.screen
        if isinstance(screen, DetailScreen):
            screen.redraw()

    def _position(self) -> str:
        if not self.is_mounted:
            return ""
        table = self.table()
        if not table.total:
            return ""
        return f"{table.cursor + 1:,}/{count(table.total, self.size.width < 100)}"

    # -- tabs and tables -----------------------------------------------------------------
    def action_show_tab(self, tab: str) -> None:
        while not self.on_main:
            self.pop_screen()
        if tab == self.state.active:
            return
        self.state.active = tab
        self.switcher.current = tab
        self.table().focus()
        if tab == "workers":
            self.request(workers=True)
        self._redraw_table()
        self._redraw_header()
        self.sync_bindings()
        self.request(urgent=True)

    def on_job_table_window_changed(self, message: JobTable.WindowChanged) -> None:
        view = self.state.views[message.table.tab]
        if self.state.filter or view.key == "workers":
            return
        view.offset, view.limit = message.offset, message.limit
        if view.key == self.state.active:
            self.request(urgent=True)

    def on_job_table_cursor_moved(self, message: JobTable.CursorMoved) -> None:
        self.tab_bar.refresh()
        self.sync_bindings()

    def on_job_table_opened(self, message: JobTable.Opened) -> None:
        if message.table.tab == "workers":
            self.notify("Workers have no detail page: + / - / s scale the selected one.")
            return
        self.open_detail(message.row.id, message.row.name)

    def open_detail(self, job_id: str, name: str = "") -> None:
        self.detail_id = job_id
        screen = DetailScreen(job_id, clock=self.now, name=name)
        screen.show(None, self.state.timeline.get(job_id))
        self.push_screen(screen, callback=self._detail_closed)
        self.request(urgent=True, detail=True)

    def _detail_closed(self, _result: None) -> None:
        self.detail_id = None
        self.sync_bindings()
