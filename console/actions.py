"""What the operator's keys do: each action calls one `JobService` method in a worker.

Actions never change the tables themselves: the events that follow do. Cancelling, retrying
every dead letter and scaling a worker to zero ask first. Which keys apply depends on where
the operator is (`check_action` hides the others from the footer); a key that does not apply,
or any action key in a read-only console, is answered with a one-line note instead.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual import events

from jobdeck.core.models import JobDefinition

from .format import short_id
from .screens.confirm import ConfirmScreen, CountScreen
from .screens.detail import DetailScreen
from .screens.help import HelpScreen
from .state import JobRow

if TYPE_CHECKING:
    from .app import JobdeckApp

__all__ = ["ActionsMixin"]

_MUTATING = frozenset(
    {
        "cancel",
        "retry",
        "retry_all",
        "scale",
        "set_count",
        "pool_scale",
        "pool_set_count",
        "pause",
        "resume",
    }
)
# Keys whose refusal we explain (a binding that does not apply lets the key fall through).
_KEY_ACTIONS = {
    "c": "cancel",
    "r": "retry",
    "R": "retry_all",
    "plus": "scale",
    "minus": "scale",
    "s": "set_count",
    "p": "pause",
}
_ASKED_FRESH = 5.0  # seconds a scale this console asked for counts as the current figure
_WHAT = {
    "cancel": "cancelling jobs",
    "retry": "retrying dead letters",
    "retry_all": "retrying dead letters",
    "scale": "scaling workers",
    "set_count": "scaling workers",
    "pause": "pausing and resuming the queue",
    "resume": "pausing and resuming the queue",
}
_HINTS = {
    "cancel": "c cancels a pending, scheduled or running job: select one on tab 1 or 2",
    "retry": "r retries a dead letter: select one on tab 3",
    "retry_all": "R retries every dead letter: open tab 3",
    "scale": "+ / - scale a worker: select one on tab 4 Workers",
    "set_count": "s sets a worker's slots: select one on tab 4 Workers",
}


class ActionsMixin:
    """Mixed into `JobdeckApp` (kept apart so the app module stays about data flow)."""

    # -- what applies where --------------------------------------------------------------
    def selected_job(self: JobdeckApp) -> JobRow | None:
        screen = self.screen
        if isinstance(screen, DetailScreen):
            return JobRow.from_job(screen.job) if isinstance(screen.job, JobDefinition) else None
        if not self.on_main or self.state.active == "workers":
            return None
        row = self.table().selected
        return row if isinstance(row, JobRow) else None

    def scale_target(self: JobdeckApp, pool: bool = False) -> tuple[str, int, int] | None:
        """(worker id, its slots, the fewest slots it may have) for + / - / s: the worker
        selected on the Workers tab, or with `pool` (any other tab) the pool embedded in
        this console. Slots come from the freshest source: what this console last asked
        for, the embedded pool, the latest event, the row on screen."""
        if not self.on_main:
            return None
        embedded = self.service.pool
        if pool:
            if self.state.active == "workers" or embedded is None:
                return None
            return self._slots(embedded.id, embedded.concurrency)
        if self.state.active != "workers":
            return None
        worker = self.table().selected
        return None if worker is None else self._slots(worker.id, worker.concurrency)

    def _slots(self: JobdeckApp, worker_id: str, shown: int) -> tuple[str, int, int]:
        known = [shown]
        record = self.state.worker(worker_id)
        if record is not None:
            known.append(record.concurrency)
        pool = self.service.pool
        if pool is not None and pool.id == worker_id:
            known.append(pool.concurrency)
        current = known[-1]
        asked = self.asked_slots.get(worker_id)
        if asked is not None and time.monotonic() - asked[1] < _ASKED_FRESH:
            known.append(asked[0])
            current = asked[0]
        # Keys can come faster than the events that confirm them: whether a key takes a
        # worker to zero (and must ask first) is judged on the lowest figure known.
        return worker_id, current, min(known)

    def applies(self: JobdeckApp, action: str) -> bool:
        if action == "cancel":
            row = self.selected_job()
            return row is not None and row.status in ("pending", "scheduled", "running")
        if action == "retry":
            row = self.selected_job()
            return row is not None and row.status == "failed"
        if action == "retry_all":
            return self.on_main and self.state.active == "dead"
        if action in ("scale", "set_count"):
            return self.scale_target() is not None
        if action in ("pool_scale", "pool_set_count"):
            return self.scale_target(pool=True) is not None
        if action == "pause":
            return not self.state.paused
        if action == "resume":
            return self.state.paused
        return True

    def check_action(self: JobdeckApp, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _MUTATING:
            if not self.applies(action):
                return False
            return None if self.read_only else True
        if action == "filter":
            return self.on_main
        if action == "clear_filter":
            return self.on_main and bool(self.state.filter or self.filter_bar.display)
        return True

    def on_key(self: JobdeckApp, event: events.Key) -> None:
        """A key whose action does not apply here (or at all, read-only) says why."""
        action = _KEY_ACTIONS.get(event.key)
        if action is None or (not self.on_main and not isinstance(self.screen, DetailScreen)):
            return
        if action == "pause" and self.state.paused:
            action = "resume"
        if self.read_only:
            self.notify(f"Read-only console: {_WHAT[action]} is disabled.", severity="warning")
        elif action in ("scale", "set_count") and self.applies(f"pool_{action}"):
            return
        elif not self.applies(action) and action in _HINTS:
            self.notify(_HINTS[action], severity="information", timeout=3)

    # -- running one call ----------------------------------------------------------------
    def _call(
        self: JobdeckApp,
        what: str,
        call: Callable[[], Awaitable[Any]],
        done: Callable[[Any], str | None],
    ) -> None:
        async def run() -> None:
            try:
                result = await call()
            except Exception as exc:
                self.notify(f"{what} failed: {exc}", severity="error", timeout=6)
                return
            note = done(result)
            if note:
                self.notify(note, timeout=3)
            self.request(urgent=True)

        self.run_worker(run(), group="actions", description=what)

    def _confirm(self: JobdeckApp, title: str, question: str, then: Callable[[], None]) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.push_screen(ConfirmScreen(title, question), callback=answered)

    # -- the actions ---------------------------------------------------------------------
    def action_cancel(self: JobdeckApp) -> None:
        row = self.selected_job()
        if row is None:
            return
        job_id, service = row.id, self.service
        note = "\nIts handler is interrupted." if row.status == "running" else ""
        self._confirm(
            "Cancel job",
            f"Cancel this {row.status} job?\n\n  {row.name}\n  {row.id}{note}",
            lambda: self._call(
                "cancel",
                lambda: service.cancel_job(job_id),
                lambda ok: (
                    f"Cancel requested: {short_id(job_id)}"
                    if ok
                    else f"{short_id(job_id)} had already finished"
                ),
            ),
        )

    def action_retry(self: JobdeckApp) -> None:
        row = self.selected_job()
        if row is None:
            return
        job_id, service = row.id, self.service
        self._call(
            "retry",
            lambda: service.retry_dead_letter(job_id),
            lambda ok: (
                f"Requeued {short_id(job_id)} ({row.name})"
                if ok
                else f"{short_id(job_id)} is no longer a dead letter"
            ),
        )

    def action_retry_all(self: JobdeckApp) -> None:
        dead, service = self.state.depth("failed"), self.service
        if dead == 0 and self.state.metrics is not None:
            self.notify("There are no dead letters to retry.")
            return
        self._confirm(
            "Retry all dead letters",
            "Move the only dead letter back to the pending queue?"
            if dead == 1
            else f"Move all {dead:,} dead letters back to the pending queue?",
            lambda: self._call(
                "retry all",
                service.retry_all_dead_letters,
                lambda n: f"{n:,} dead letter{'s' if n != 1 else ''} requeued",
            ),
        )

    def action_pool_scale(self: JobdeckApp, delta: int) -> None:
        self._scale(delta, self.scale_target(pool=True))

    def action_pool_set_count(self: JobdeckApp) -> None:
        self._set_count(self.scale_target(pool=True))

    def action_scale(self: JobdeckApp, delta: int) -> None:
        self._scale(delta, self.scale_target())

    def action_set_count(self: JobdeckApp) -> None:
        self._set_count(self.scale_target())

    def _scale(self: JobdeckApp, delta: int, target: tuple[str, int, int] | None) -> None:
        if target is None:
            return
        worker_id, slots, fewest = target
        if delta < 0 and slots == 0:
            self.notify(f"{worker_id} already has 0 slots.")
            return
        goal = max(0, slots + delta)

        def scale() -> None:
            self.asked_slots[worker_id] = (goal, time.monotonic())
            self._call(
                "scale",
                lambda: self.service.scale_workers(delta, worker_id=worker_id, delta=True),
                lambda told: (
                    f"{worker_id}: {slots} → {goal} slots" if told else f"{worker_id} is gone"
                ),
            )

        if fewest + delta <= 0 or goal == 0:
            self._confirm(
                "Scale to zero",
                f"Scale {worker_id} to 0 slots?\nIt takes no new jobs; running ones finish.",
                scale,
            )
        else:
            scale()

    def _set_count(self: JobdeckApp, target: tuple[str, int] | None) -> None:
        if target is None:
            return
        worker_id, slots, _ = target

        def chosen(count: int | None) -> None:
            if count is None or count == slots:
                return

            def scale() -> None:
                self.asked_slots[worker_id] = (count, time.monotonic())
                self._call(
                    "scale",
                    lambda: self.service.scale_workers(count, worker_id=worker_id),
                    lambda told: (
                        f"{worker_id}: {slots} → {count} slots" if told else f"{worker_id} is gone"
                    ),
                )

            if count == 0:
                self._confirm(
                    "Scale to zero",
                    f"Scale {worker_id} to 0 slots?\nIt takes no new jobs; running ones finish.",
                    scale,
                )
            else:
                scale()

        self.push_screen(
            CountScreen("Set slots", f"Slots for {worker_id} (now {slots}):", slots),
            callback=chosen,
        )

    def action_pause(self: JobdeckApp) -> None:
        self._call(
            "pause",
            self.service.pause_queue,
            lambda _: "Queue paused: running jobs go on, no new ones start",
        )

    def action_resume(self: JobdeckApp) -> None:
        self._call("resume", self.service.resume_queue, lambda _: "Queue resumed")

    def action_help(self: JobdeckApp) -> None:
        self.push_screen(HelpScreen(self.read_only))

    async def action_quit(self: JobdeckApp) -> None:
        self.exit(0)
