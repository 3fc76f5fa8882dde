"""`JobdeckApp`: the live console. It is handed a `JobService` and owns two loops.

    JobService ──events()──► live/feed ──EventsArrived──► live/updates ─┐ (reducer)
        │                                                               ├─► live/state
        └──reads──► live/fetch ◄── live/refresher ──Refreshed──────────┘      │
                   (metrics, the window on screen, workers, one job)          ▼
    keys ──► keys/bindings ──► keys/actions ──► JobService      widgets/painter ──► widgets
                                  (asks first: screens/confirm)   (frames ≤ 2/s, changed cells)
    t / m ──► timemode/mode ──► timemode/past (the log, then the feed; bounded) ──► screens

- the *event feed* consumes `service.events()` in batches (~100 ms) and applies each batch to
  the state incrementally (`reducer`);
- the *refresher* reads metrics, the window on screen and the workers (`fetch`) once a second,
  at once when the operator asks for other rows, and a little after events that moved rows
  it could not place exactly.
Both only post messages; handlers update `self.state` and tell the widgets to redraw (widgets
never call the service). The operator's actions are an `Actions` object handed the service,
the state and a way to post messages; the app runs them in workers and draws what follows.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
import traceback
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer

from jobdeck.core.events import Event
from jobdeck.core.service import JobService
from jobdeck.core.text import display_text

from .keys.actions import MUTATING, Actions, Where, where_on
from .keys.bindings import APP_BINDINGS, FOOTER_ACTIONS
from .keys.palette import JobsProvider, QueueNames, QueuesProvider, action_commands
from .keys.selection import Selection
from .live.feed import follow
from .live.fetch import Fetcher
from .live.refresher import FetchFailed, Refreshed, Refresher
from .live.state import LIVE_REFRESH, REFRESH_STEPS, ConsoleState
from .live.updates import Live
from .screens.charts import ChartScreen
from .screens.detail import DetailScreen
from .screens.help import HelpScreen
from .screens.limits import LimitsScreen
from .screens.main import SCREEN_ACTIONS, MainScreen
from .screens.schedules import SchedulesScreen
from .screens.time_mode import TimeModeScreen
from .timemode.mode import TimeMode
from .timemode.past import TIME_MODE_JOBS
from .widgets import partial_update
from .widgets.job_table import JobTable
from .widgets.painter import Painter

__all__ = ["JobdeckApp"]

log = logging.getLogger("jobdeck.console")


class EventsArrived(Message):
    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events


class JobdeckApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "jobdeck"
    COMMANDS = App.COMMANDS | {JobsProvider, QueuesProvider}
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS

    def __init__(
        self,
        service: JobService,
        *,
        read_only: bool = False,
        embedded_workers: int | None = None,
        clock: Callable[[], float] = time.time,
        reconcile_interval: float = 1.0,
        batch_interval: float = 0.1,
        dirty_gap: float = 0.25,
        fetch_timeout: float = 2.5,
        refresh: float = LIVE_REFRESH,
        time_mode_jobs: int = TIME_MODE_JOBS,
        freeze_gc: bool = False,
        scan_limit: int = 5_000,
        live: bool = True,
    ) -> None:
        super().__init__()
        partial_update.install()  # changed spans go out from where they start
        self.service = service
        self.read_only = read_only
        self.embedded_workers = embedded_workers
        self.clock = clock
        self.batch_interval = batch_interval
        self.follow_events = live  # False: a still picture (snapshots), no event feed
        self.state = ConsoleState(
            queue=service.queue, server=service.description, read_only=read_only, refresh=refresh
        )
        self.reconcile_interval = reconcile_interval
        self.fetcher = Fetcher(service, scan_limit=scan_limit, clock=clock)
        self.refresher = Refresher(
            self.fetcher,
            self.post_message,
            lambda: self.live.plan(),
            interval=max(reconcile_interval, refresh),
            dirty_gap=dirty_gap,
            timeout=fetch_timeout,
        )
        self.actions = Actions(service, self.state, self.post_message, self._ask)
        self.selection = Selection(service, self.state, self.post_message)
        self.queue_names = QueueNames(service)  # the palette's "switch queue"
        self.detail_id: str | None = None
        self.next_queue: str | None = None  # the queue to open next (the palette's switch)
        self._batch_done = asyncio.Event()
        self._paint_timers: list[Timer] = []
        self.freeze_gc = freeze_gc
        self._bindings_signature: tuple[Any, ...] = ()
        self.time_mode = TimeMode(service, self.post_message, jobs=time_mode_jobs)
        self._after_past: str | None = None
        self.main = MainScreen(
            self.state,
            self.selection,
            request=self.request,
            keys_changed=self.sync_bindings,
            clock=self.now,
        )
        self.header, self.tab_bar = self.main.header, self.main.tab_bar
        self.tables, self.filter_bar = self.main.tables, self.main.filter_bar
        self.painter = Painter(self.state, self.header, self.tab_bar, self.tables, self.filter_bar)
        self.live = Live(
            self.state,
            self.refresher,
            self.painter,
            detail_id=lambda: self.detail_id,
            embedded_id=lambda: self.service.pool.id if self.service.pool else None,
        )

    # -- untrusted text and crashes ------------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification (the app's and its screens') quotes data such as job names and
        error messages: it is made safe and never parsed as markup, whatever the caller asks."""
        super().notify(
            display_text(message, limit=500, multiline=True),
            title=display_text(title, limit=100),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def _fatal_error(self) -> None:
        """Textual's hook for an unhandled exception: print a traceback without local
        variables (they may hold a password) and with data made safe (an exception message
        may quote a job name with escape sequences), then exit; the exit code stays 1."""
        log.error("console crashed", exc_info=sys.exc_info())
        text = "".join(traceback.format_exception(*sys.exc_info()))
        self.bell()
        self._exit_renderables.append(Text(display_text(text, multiline=True)))
        self._close_messages_no_wait()

    # -- layout --------------------------------------------------------------------------
    def get_default_screen(self) -> MainScreen:
        return self.main

    def on_mount(self) -> None:
        if self.service.pool is not None:
            self.state.embedded_id = self.service.pool.id
        elif self.embedded_workers is not None:
            self._start_pool(self.embedded_workers)
        if self.follow_events:
            self._event_feed()  # the time_mode buffers what it brings until its loader runs
        self._refresher()
        self._start_timers()

    def _start_timers(self) -> None:
        """Live data is drawn every `state.refresh` seconds (what arrived meanwhile, in one
        frame); ages and elapsed times move on once a second, or at that pace if slower."""
        for timer in self._paint_timers:
            timer.stop()
        refresh = self.state.refresh
        self._paint_timers = [
            self.set_interval(refresh, lambda: self.painter.flush()),
            self.set_interval(max(1.0, refresh), self._tick),
        ]

    def set_refresh(self, seconds: float) -> None:
        """Draw live data every `seconds` (a slow link wants fewer frames); keys still
        answer at once. The reads follow when they would come more often than that."""
        self.state.refresh = seconds
        self.refresher.interval = max(self.reconcile_interval, seconds)
        self._start_timers()
        self.painter.header_now()
        pace = "live (twice a second)" if seconds <= LIVE_REFRESH else f"every {seconds:g} s"
        self.notify(f"Refresh: {pace}.", timeout=3)

    def now(self) -> float:
        """The server's clock, as well as we know it (ages and elapsed times use it)."""
        return self.clock() + self.state.clock_offset

    def table(self, tab: str | None = None) -> JobTable:
        return self.main.table(tab)

    @property
    def on_main(self) -> bool:
        return len(self.screen_stack) == 1

    # -- the event feed ------------------------------------------------------------------
    @work(exclusive=True, group="events")
    async def _event_feed(self) -> None:
        async def deliver(batch: list[Event]) -> None:
            self._batch_done.clear()
            self.post_message(EventsArrived(batch))
            await self._batch_done.wait()  # back-pressure: batches grow instead

        def failed(error: str) -> None:
            self.post_message(FetchFailed(f"event feed: {error}"))

        await follow(self.service, self.batch_interval, deliver, failed)

    def on_events_arrived(self, message: EventsArrived) -> None:
        self._batch_done.set()
        self.time_mode.live(message.events)
        self.live.take_events(message.events)

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

    def on_refreshed(self, message: Refreshed) -> None:
        snap = message.snapshot
        self.live.take_refresh(snap)
        # A refresh can land before the first screen is up (a slow start) or after the last
        # is gone (shutting down): there is then nothing on screen to update.
        screen = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(screen, DetailScreen) and screen.job_id == snap.detail_id:
            screen.show(snap.detail, self.state.timeline.get(screen.job_id), snap.family)
        if not self.painter.attached:
            return
        self.painter.soon("header", "table")
        if message.urgent:  # the operator is waiting for this
            self.painter.flush()
        self.sync_bindings()
        if self.freeze_gc and self.fetches == 1:
            # Everything built so far (Textual, the widgets, the client) lives as long as
            # the console: moved out of the collector's sight, a full collection no longer
            # walks it, which took pauses of ~100 ms out of key handling under load.
            self.call_after_refresh(gc.freeze)

    def _past_ready(self, then: str) -> bool:
        """Whether the time mode's past is in. The first time the past is asked for,
        the stored log (up to its cap: 50,000 events by default, millions if so set) is
        read in the background, and `then` (the action that asked) runs once it is in."""
        if self.time_mode.ready:
            return True
        if not self.time_mode.started:
            self.run_worker(self.time_mode.start(), group="history", description="event log")
        self._after_past = then
        self.notify(f"Reading the event log: {self.time_mode.loaded:,} events so far…")
        return False

    def on_time_mode_loaded(self, message: TimeMode.Loaded) -> None:
        then, self._after_past = self._after_past, None
        self.clear_notifications()  # "Reading the event log…" is over
        if then is not None and self.on_main:
            self.call_later(self.run_action, then)

    def on_fetch_failed(self, message: FetchFailed) -> None:
        self.live.failed(message.error)

    # -- drawing -------------------------------------------------------------------------
    def sync_bindings(self) -> None:
        """Redraw the footer only when the keys that apply have changed (the footer
        rebuilds itself on every refresh, which would flicker at event rate). While the
        cursor is on a row whose page is on its way (End, Home, PageDown deep in a long
        list) the keys stay as they were until the row is in: a rebuild of the footer costs
        ~40 ms, and the row that arrives almost always takes the same keys."""
        if self.on_main and self.table().fetching:
            return
        signature = (
            id(self.screen),
            self.state.active,
            tuple(self.check_action(a, ()) for a in FOOTER_ACTIONS),
            tuple(self.main.check_action(a, ()) for a in SCREEN_ACTIONS),
        )
        if signature != self._bindings_signature:
            self._bindings_signature = signature
            self.refresh_bindings()

    def _tick(self) -> None:
        self.painter.tick()
        try:
            screen = self.screen
        except ScreenStackError:
            return  # shutting down: the screens go before the timers stop
        if isinstance(screen, DetailScreen):
            screen.redraw()

    def _position(self) -> str:
        return self.main.position()

    # -- the operator's actions ----------------------------------------------------------
    def where(self, screen: Screen[Any] | None = None) -> Where:
        """Where the operator is (on `screen`, by default the one on top)."""
        screen = screen or self.screen
        detail = screen.job if isinstance(screen, DetailScreen) else False
        return where_on(
            self.state, self.table().selected, on_main=screen is self.main, detail=detail
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("time_mode", "charts"):
            return self.on_main
        if action in MUTATING and isinstance(self.screen, TimeModeScreen):
            return False  # the past is for looking: esc first
        if action in ("pause", "resume") and isinstance(self.screen, SchedulesScreen):
            return False  # `p` there is the schedule's, never the whole queue's
        if action in MUTATING:
            if not self.actions.applies(action, self.where()):
                return False
            return None if self.read_only else True
        return True

    def on_key(self, event: events.Key) -> None:
        """A key whose action does not apply here (or at all, read-only) says why."""
        note = self.actions.explain(event.key, self.where())
        if note:
            severity: SeverityLevel = "warning" if self.read_only else "information"
            self.notify(note, severity=severity, timeout=3)

    async def _ask(self, screen: Any) -> Any:
        """Push a dialog and wait for its answer (from an action's worker)."""
        return await self.push_screen_wait(screen)

    def _act(self, story: Coroutine[Any, Any, None], what: str) -> None:
        self.run_worker(story, group="actions", description=what)

    def on_actions_noted(self, message: Actions.Noted) -> None:
        self.notify(message.text, severity=message.severity, timeout=message.timeout)  # type: ignore[arg-type]

    def on_actions_acted(self, message: Actions.Acted) -> None:
        if message.bulk and self.selection.clear(self.state.active):
            self.main.selection_drawn(self.state.active)
        self.request(urgent=True)

    def action_cancel(self) -> None:
        self._act(self.actions.cancel(self.where()), "cancel")

    def action_retry(self) -> None:
        self._act(self.actions.retry(self.where()), "retry")

    def action_retry_all(self) -> None:
        self._act(self.actions.retry_all(), "retry all")

    def action_purge(self) -> None:
        self._act(self.actions.purge(self.where()), "purge")

    def action_scale(self, delta: int) -> None:
        self._act(self.actions.scale(delta, self.actions.scale_target(self.where())), "scale")

    def action_pool_scale(self, delta: int) -> None:
        target = self.actions.scale_target(self.where(), pool=True)
        self._act(self.actions.scale(delta, target), "scale")

    def action_set_count(self) -> None:
        self._act(self.actions.set_count(self.actions.scale_target(self.where())), "scale")

    def action_pool_set_count(self) -> None:
        target = self.actions.scale_target(self.where(), pool=True)
        self._act(self.actions.set_count(target), "scale")

    def action_pause(self) -> None:
        self._act(self.actions.pause(), "pause")

    def action_resume(self) -> None:
        self._act(self.actions.resume(), "resume")

    def action_schedules(self) -> None:
        """The Schedules tab: a screen of its own over the job tabs (1-5 come back)."""
        if isinstance(self.screen, SchedulesScreen):
            return
        while not self.on_main:
            self.pop_screen()
        self.push_screen(
            SchedulesScreen(self.service, self.state, read_only=self.read_only, clock=self.now)
        )

    def action_limits(self) -> None:
        """The Limits tab: a screen of its own over the job tabs (1-5 come back)."""
        if isinstance(self.screen, LimitsScreen):
            return
        while not self.on_main:
            self.pop_screen()
        self.push_screen(LimitsScreen(self.service, self.state, read_only=self.read_only))

    def action_refresh_every(self, seconds: float) -> None:
        self.set_refresh(seconds)

    def action_slower(self) -> None:
        """`L`: the next refresh step (live, 2 s, 5 s, 10 s, then live again)."""
        later = [step for step in REFRESH_STEPS if step > self.state.refresh]
        self.set_refresh(later[0] if later else REFRESH_STEPS[0])

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.read_only))

    async def action_quit(self) -> None:
        self.exit(0)

    # -- the command palette -------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own provider lists these: "Theme", "Quit", and every action that
        applies here (see `commands.action_commands`)."""
        for command in super().get_system_commands(screen):
            if command.title in ("Theme", "Quit"):
                yield command
        yield from action_commands(self, screen)

    def switch_queue(self, queue: str) -> None:
        """Reopen the console on `queue` (the launcher does it once this app exits)."""
        if queue == self.service.queue:
            return
        self.next_queue = queue
        self.exit(0)

    # -- the time mode -------------------------------------------------------------------
    def action_time_mode(self) -> None:
        if not self._past_ready("time_mode"):
            return
        if not self.time_mode.enter():
            self.notify("The event log is empty: nothing to time_mode over yet.")
        else:
            self.push_screen(TimeModeScreen(self.time_mode, self.state, clock=self.now))

    def action_charts(self) -> None:
        if not self._past_ready("charts"):
            return
        self.push_screen(ChartScreen(self.time_mode.past, self.service))

    # -- tabs ----------------------------------------------------------------------------
    def action_show_tab(self, tab: str) -> None:
        while not self.on_main:
            self.pop_screen()
        if self.main.show_tab(tab):
            self.painter.table()
            self.painter.header_now()
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

    def on_detail_screen_opened(self, message: DetailScreen.Opened) -> None:
        """(workflows) A parent's or child's page, over this one (esc comes back)."""
        self.open_detail(message.job_id)

    def _detail_closed(self, _result: None) -> None:
        under = self.screen_stack[-1] if self.screen_stack else None  # (already popped)
        self.detail_id = under.job_id if isinstance(under, DetailScreen) else None
        self.sync_bindings()
        if self.detail_id is not None:
            self.request(urgent=True, detail=True)

    def _start_pool(self, count: int) -> None:
        """Embedded workers asked for but not started by the launcher: start them here."""

        async def start() -> None:
            pool = await self.service.start_workers(count)
            self.state.embedded_id = pool.id

        self.run_worker(start(), group="pool", description="embedded workers")
