"""Which screen is on top: the job tabs, Schedules and Limits, a job's page, the time mode,
the charts and the help, each pushed over the main screen and popped back to it.

`Navigator` is handed the app's screen stack (the app itself: Textual keeps the stack there)
and what the screens it opens need; the app's key actions call it. It knows which job's page
is open (`detail_id`), so the refresher reads that job, and which action waits for the
event log to be read in (the time mode and the charts read the log the first time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App

from jobdeck.core.service import JobService

from .live.fetch import Snapshot
from .live.state import ConsoleState
from .screens.charts import ChartScreen
from .screens.detail import DetailScreen
from .screens.help import HelpScreen
from .screens.limits import LimitsScreen
from .screens.main import MainScreen
from .screens.schedules import SchedulesScreen
from .screens.time_mode import TimeModeScreen
from .timemode.mode import TimeMode

__all__ = ["Navigator"]


class Navigator:
    def __init__(
        self,
        app: App[Any],
        service: JobService,
        state: ConsoleState,
        main: MainScreen,
        time_mode: TimeMode,
        *,
        request: Callable[..., None],
        tab_shown: Callable[[], None],
        keys_changed: Callable[[], None],
        clock: Callable[[], float],
        read_only: bool,
    ) -> None:
        self.app, self.service, self.state, self.main = app, service, state, main
        self.time_mode = time_mode
        self.request, self.tab_shown, self.keys_changed = request, tab_shown, keys_changed
        self.clock, self.read_only = clock, read_only
        self.detail_id: str | None = None  # the job whose page is open (the refresher reads it)
        self._after_past: str | None = None  # the action waiting for the event log

    @property
    def on_main(self) -> bool:
        return len(self.app.screen_stack) == 1

    def _back_to_main(self) -> None:
        while not self.on_main:
            self.app.pop_screen()

    # -- tabs ----------------------------------------------------------------------------
    def show_tab(self, tab: str) -> None:
        self._back_to_main()
        if self.main.show_tab(tab):
            self.tab_shown()

    def schedules(self) -> None:
        """The Schedules tab: a screen of its own over the job tabs (1-5 come back)."""
        if isinstance(self.app.screen, SchedulesScreen):
            return
        self._back_to_main()
        self.app.push_screen(
            SchedulesScreen(self.service, self.state, read_only=self.read_only, clock=self.clock)
        )

    def limits(self) -> None:
        """The Limits tab: a screen of its own over the job tabs (1-5 come back)."""
        if isinstance(self.app.screen, LimitsScreen):
            return
        self._back_to_main()
        self.app.push_screen(LimitsScreen(self.service, self.state, read_only=self.read_only))

    def help(self) -> None:
        self.app.push_screen(HelpScreen(self.read_only))

    # -- a job's page --------------------------------------------------------------------
    def open_detail(self, job_id: str, name: str = "") -> None:
        self.detail_id = job_id
        screen = DetailScreen(job_id, clock=self.clock, name=name)
        screen.show(None, self.state.timeline.get(job_id))
        self.app.push_screen(screen, callback=self._detail_closed)
        self.request(urgent=True, detail=True)

    def refreshed(self, snap: Snapshot) -> None:
        """A round of reads is in: the job page on top shows what it read of its job. (A
        round can land before the first screen is up or after the last is gone.)"""
        stack = self.app.screen_stack
        screen = stack[-1] if stack else None
        if isinstance(screen, DetailScreen) and screen.job_id == snap.detail_id:
            screen.show(snap.detail, self.state.timeline.get(screen.job_id), snap.family)

    def _detail_closed(self, _result: None) -> None:
        stack = self.app.screen_stack
        under = stack[-1] if stack else None  # (already popped)
        self.detail_id = under.job_id if isinstance(under, DetailScreen) else None
        self.keys_changed()
        if self.detail_id is not None:
            self.request(urgent=True, detail=True)

    # -- the past: time mode and charts --------------------------------------------------
    def time_mode_screen(self) -> None:
        if not self._past_ready("time_mode"):
            return
        if not self.time_mode.enter():
            self.app.notify("The event log is empty: nothing to look back on yet.")
        else:
            self.app.push_screen(TimeModeScreen(self.time_mode, self.state, clock=self.clock))

    def charts(self) -> None:
        if not self._past_ready("charts"):
            return
        self.app.push_screen(ChartScreen(self.time_mode.past, self.service))

    def _past_ready(self, then: str) -> bool:
        """Whether the time mode's past is in. The first time the past is asked for,
        the stored log (up to its cap: 50,000 events by default, millions if so set) is
        read in the background, and `then` (the action that asked) runs once it is in."""
        if self.time_mode.ready:
            return True
        if not self.time_mode.started:
            loader = self.time_mode.start()
            self.app.run_worker(loader, group="history", description="event log")  # type: ignore[arg-type]
        self._after_past = then
        self.app.notify(f"Reading the event log: {self.time_mode.loaded:,} events so far…")
        return False

    def past_loaded(self) -> None:
        then, self._after_past = self._after_past, None
        self.app.clear_notifications()  # "Reading the event log…" is over
        if then is not None and self.on_main:
            self.app.call_later(self.app.run_action, then)
