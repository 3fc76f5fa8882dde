"""`JobdeckApp`: the live console. It is handed a `JobService` and owns two loops.

    JobService ──events()──► live/feed ──EventsArrived──► live/updates ─┐ (reducer)
        │                                                               ├─► live/state
        └──reads──► live/fetch ◄── live/refresher ──Refreshed──────────┘      │
                   (metrics, the window on screen, workers, one job)          ▼
    keys ──► keys/gate (applies here?) ──► keys/actions ──► JobService   widgets/painter
               keys/bindings (one list: footer, help, palette)            (frames: pace;
    tabs, pages, t / m ──► navigation ──► screens/* (timemode/past: the log)  changed cells)

- the *event feed* consumes `service.events()` in batches (~100 ms) and applies each batch to
  the state incrementally (`reducer`);
- the *refresher* reads metrics, the window on screen and the workers (`fetch`) once a second,
  at once when the operator asks for other rows, and a little after events that moved rows
  it could not place exactly.
Both only post messages; handlers update `self.state` and tell the widgets to redraw (widgets
never call the service). The operator's actions are an `Actions` object handed the service,
the state and a way to post messages; the app runs them in workers and draws what follows.
Which screen is on top is the `Navigator`'s; which key applies there, the `KeyGate`'s.
"""
from __future__ import annotations

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
from textual.notifications import SeverityLevel
from textual.screen import Screen

from jobdeck.core.service import JobService
from jobdeck.core.text import display_text

from .keys.actions import Actions, Where
from .keys.bindings import APP_BINDINGS
from .keys.gate import KeyGate
from .keys.palette import JobsProvider, QueueNames, QueuesProvider, action_commands
from .keys.selection import Selection
from .live.feed import EventsArrived, post_batches
from .live.fetch import Fetcher
from .live.refresher import FetchFailed, Refreshed, Refresher
from .live.state import LIVE_REFRESH, ConsoleState
from .live.updates import Live
from .navigation import Navigator
from .screens.detail import DetailScreen
from .screens.main import MainScreen
from .timemode.mode import TimeMode
from .timemode.past import TIME_MODE_JOBS
from .widgets import partial_update
from .widgets.job_table import JobTable
from .widgets.pace import Pace
from .widgets.painter import Painter

__all__ = ["JobdeckApp"]

log = logging.getLogger("jobdeck.console")


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
        self.service, self.read_only, self.clock = service, read_only, clock
        self.embedded_workers, self.batch_interval = embedded_workers, batch_interval
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
        self.next_queue: str | None = None  # the queue to open next (the palette's switch)
        self.freeze_gc = freeze_gc
        self._bindings_signature: tuple[Any, ...] = ()
        self.time_mode = TimeMode(service, self.post_message, jobs=time_mode_jobs)
        self.main = MainScreen(
            self.state,
            self.selection,
            request=self.request,
            keys_changed=self.sync_bindings,
            open_job=lambda job_id, name: self.open_detail(job_id, name),
            clock=self.now,
        )
        self.header, self.tab_bar = self.main.header, self.main.tab_bar
        self.tables, self.filter_bar = self.main.tables, self.main.filter_bar
        self.painter = Painter(self.state, self.header, self.tab_bar, self.tables, self.filter_bar)
        self.navigator = Navigator(
            self, service, self.state, self.main, self.time_mode, request=self.request,
            tab_shown=self._tab_shown, keys_changed=self.sync_bindings, clock=self.now,
            read_only=read_only,
        )  # fmt: skip
        self.gate = KeyGate(self.state, self.actions, self.main, read_only=read_only)
        self.pace = Pace(
            self.state, self.painter, self.refresher, every=self.set_interval, tick=self._tick,
            reconcile_interval=reconcile_interval,
        )  # fmt: skip
        self.live = Live(
            self.state,
            self.refresher,
            self.painter,
            detail_id=lambda: self.navigator.detail_id,
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
        self.pace.start()

    def now(self) -> float:
        """The server's clock, as well as we know it (ages and elapsed times use it)."""
        return self.clock() + self.state.clock_offset

    def table(self, tab: str | None = None) -> JobTable:
        return self.main.table(tab)

    @property
    def on_main(self) -> bool:
        return len(self.screen_stack) == 1

    @property
    def detail_id(self) -> str | None:
        """The job whose page is open, if one is."""
        return self.navigator.detail_id

    # -- the event feed ------------------------------------------------------------------
    @work(exclusive=True, group="events")
    async def _event_feed(self) -> None:
        await post_batches(self.service, self.batch_interval, self.post_message)

    def on_events_arrived(self, message: EventsArrived) -> None:
        message.taken.set()
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
        self.navigator.refreshed(snap)
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

    def on_time_mode_loaded(self, message: TimeMode.Loaded) -> None:
        self.navigator.past_loaded()

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
        signature = self.gate.footer_state(self.screen)
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

    # -- the operator's actions ----------------------------------------------------------
    def where(self, screen: Screen[Any] | None = None) -> Where:
        """Where the operator is (on `screen`, by default the one on top)."""
        return self.gate.where(screen or self.screen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.gate.applies(action, self.screen)

    def on_key(self, event: events.Key) -> None:
        """A key whose action does not apply here (or at all, read-only) says why."""
        note = self.gate.explain(event.key, self.screen)
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
        self.navigator.schedules()

    def action_limits(self) -> None:
        self.navigator.limits()

    def action_refresh_every(self, seconds: float) -> None:
        self.notify(self.pace.set(seconds), timeout=3)

    def action_slower(self) -> None:
        self.notify(self.pace.slower(), timeout=3)

    def action_help(self) -> None:
        self.navigator.help()

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

    # -- the time mode, tabs and pages (see `navigation`) ------------------------------
    def action_time_mode(self) -> None:
        self.navigator.time_mode_screen()

    def action_charts(self) -> None:
        self.navigator.charts()

    def action_show_tab(self, tab: str) -> None:
        self.navigator.show_tab(tab)

    def _tab_shown(self) -> None:
        self.painter.table()
        self.painter.header_now()
        self.sync_bindings()

    def open_detail(self, job_id: str, name: str = "") -> None:
        """A job's page over this screen (the palette's "go to job" too)."""
        self.navigator.open_detail(job_id, name)

    def on_detail_screen_opened(self, message: DetailScreen.Opened) -> None:
        """(workflows) A parent's or child's page, over this one (esc comes back)."""
        self.open_detail(message.job_id)

    def _start_pool(self, count: int) -> None:
        """Embedded workers asked for but not started by the launcher: start them here (the
        function is run, not a coroutine that would go unawaited if the console closed first)."""

        async def start() -> None:
            pool = await self.service.start_workers(count)
            self.state.embedded_id = pool.id

        self.run_worker(start, group="pool", description="embedded workers")  # type: ignore[arg-type]
