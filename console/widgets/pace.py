"""How often the console draws: live (twice a second) or slower for a slow link.

Live data is drawn every `state.refresh` seconds (what arrived meanwhile, in one frame);
ages and elapsed times move on once a second, or at that pace if slower. `--refresh`, `L`
and the palette's "Refresh:" commands set the pace; keys still answer at once, and the
header says when the console draws slower than live.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.timer import Timer

from ..live.refresher import Refresher
from ..live.state import LIVE_REFRESH, REFRESH_STEPS, ConsoleState
from .painter import Painter

__all__ = ["Pace"]


class Pace:
    def __init__(
        self,
        state: ConsoleState,
        painter: Painter,
        refresher: Refresher,
        *,
        every: Callable[[float, Callable[[], None]], Timer],
        tick: Callable[[], None],
        reconcile_interval: float,
    ) -> None:
        """`every(seconds, callback)`: a repeating timer (the app's `set_interval`);
        `tick`: what moves ages on."""
        self.state, self.painter, self.refresher = state, painter, refresher
        self.every, self.tick = every, tick
        self.reconcile_interval = reconcile_interval
        self._timers: list[Timer] = []

    def start(self) -> None:
        for timer in self._timers:
            timer.stop()
        refresh = self.state.refresh
        self._timers = [
            self.every(refresh, self.painter.flush),
            self.every(max(1.0, refresh), self.tick),
        ]

    def set(self, seconds: float) -> str:
        """Draw live data every `seconds`. The reads follow when they would come more
        often than that. Returns what to tell the operator."""
        self.state.refresh = seconds
        self.refresher.interval = max(self.reconcile_interval, seconds)
        self.start()
        self.painter.header_now()
        pace = "live (twice a second)" if seconds <= LIVE_REFRESH else f"every {seconds:g} s"
        return f"Refresh: {pace}."

    def slower(self) -> str:
        """The next step (live, 2 s, 5 s, 10 s, then live again)."""
        later = [step for step in REFRESH_STEPS if step > self.state.refresh]
        return self.set(later[0] if later else REFRESH_STEPS[0])
