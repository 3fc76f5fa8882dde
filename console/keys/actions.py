"""What the operator's keys do, as one object handed what it needs.

`Actions` is given the service, the console state, a way to post messages (`post`) and a way
to ask the operator a question (`ask`: push a modal screen, await its answer). Each action is
a short `async` story (ask if need be, call one `JobService` method, say what happened); the
app runs it in a Textual worker. Actions never change the tables: the events that follow do.

Which keys apply depends on where the operator is (`Where`, built by the app); `applies` and
`explain` answer from that alone, so this module can be read and tested without an app.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen

from jobdeck.core.service import JobService
from jobdeck.core.text import display_text

from ..format import note_id
from ..live.state import ConsoleState, JobRow, WorkerRow
from ..screens.confirm import ConfirmScreen, CountScreen
from .bindings import APP_BINDINGS, action_name

__all__ = ["MUTATING", "Actions", "Where", "where_on"]

MUTATING = frozenset(
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
        "purge",
    }
)
# Keys whose refusal we explain (a binding that does not apply lets the key fall through).
# key -> the action it names first, for the keys that act on the queue (from the bindings).
KEY_ACTIONS = {
    binding.key: action_name(binding)
    for binding in reversed(APP_BINDINGS)
    if isinstance(binding, Binding) and action_name(binding) in MUTATING
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
    "purge": "purging jobs",
}
_HINTS = {
    "cancel": "c cancels a pending, scheduled or running job: select one on tab 1 or 2",
    "retry": "r retries a dead letter: select one on tab 3",
    "retry_all": "R retries every dead letter: open tab 3",
    "scale": "+ / - scale a worker: select one on tab 4 Workers",
    "set_count": "s sets a worker's concurrency: select one on tab 4 Workers",
    "purge": "P purges finished jobs: open tab 3 Dead letter or 5 History",
}
FAILED: Any = object()  # what `_call` returns when the call raised
_BULK_CHUNK = 100  # calls in flight at once for a bulk cancel
# What `P` purges on each tab.
PURGEABLE = {"dead": ("failed",), "history": ("completed", "cancelled", "expired")}
_PURGE_WORDS = {
    "failed": "dead letters",
    "completed": "completed",
    "cancelled": "cancelled",
    "expired": "expired",
}


@dataclass(frozen=True, slots=True)
class Where:
    """Where the operator is, as the keys see it (built by the app for every key)."""

    on_main: bool  # no dialog or detail screen on top
    tab: str
    targets: tuple[JobRow, ...] = ()  # the marked rows, or the row under the cursor
    marked: bool = False  # `targets` are a multi-selection
    worker: WorkerRow | None = None  # the row under the cursor on the Workers tab
    in_detail: bool = False


def where_on(state: ConsoleState, row: Any, *, on_main: bool, detail: Any = False) -> Where:
    """`Where` for the screen on top: the detail screen's job (`detail`, a job or None while
    it loads), or on the main screen the marked rows, else the row under the cursor."""
    if detail is not False:
        rows = (JobRow.from_job(detail),) if detail is not None else ()
        return Where(False, state.active, rows, in_detail=True)
    if not on_main:
        return Where(False, state.active)
    if state.active == "workers":
        return Where(True, "workers", worker=row if isinstance(row, WorkerRow) else None)
    marked = state.views[state.active].marked
    if marked:
        return Where(True, state.active, tuple(marked.values()), marked=True)
    return Where(True, state.active, (row,) if isinstance(row, JobRow) else ())


class Actions:
    """The operator's actions on one queue. Messages it posts: `Noted`, `Acted`."""

    class Noted(Message):
        """Something to tell the operator in a toast."""

        def __init__(self, text: str, severity: str = "information", timeout: float = 3) -> None:
            super().__init__()
            self.text, self.severity, self.timeout = text, severity, timeout

    class Acted(Message):
        """An action reached the queue: read the screen again now."""

        def __init__(self, what: str, bulk: bool = False) -> None:
            super().__init__()
            self.what, self.bulk = what, bulk

    def __init__(
        self,
        service: JobService,
        state: ConsoleState,
        post: Callable[[Message], object],
        ask: Callable[[ModalScreen[Any]], Awaitable[Any]],
    ) -> None:
        self.service, self.state, self.post, self.ask = service, state, post, ask
        self.asked: dict[str, tuple[int, float]] = {}  # worker -> (concurrency, monotonic)

    def note(self, text: str, severity: str = "information", timeout: float = 3) -> None:
        self.post(self.Noted(text, severity, timeout))

    # -- what applies where --------------------------------------------------------------
    def scale_target(self, where: Where, pool: bool = False) -> tuple[str, int, int] | None:
        """(worker id, its concurrency, the least it may have) for + / - / s: the worker
        selected on the Workers tab, or with `pool` (any other tab) the pool embedded in
        this console. Concurrency comes from the freshest source: what this console last asked
        for, the embedded pool, the latest event, the row on screen."""
        if not where.on_main:
            return None
        embedded = self.service.pool
        if pool:
            if where.tab == "workers" or embedded is None:
                return None
            return self._concurrency(embedded.id, embedded.concurrency)
        if where.tab != "workers" or where.worker is None:
            return None
        return self._concurrency(where.worker.id, where.worker.concurrency)

    def _concurrency(self, worker_id: str, shown: int) -> tuple[str, int, int]:
        known = [shown]
        record = self.state.worker(worker_id)
        if record is not None:
            known.append(record.concurrency)
        pool = self.service.pool
        if pool is not None and pool.id == worker_id:
            known.append(pool.concurrency)
        current = known[-1]
        asked = self.asked.get(worker_id)
        if asked is not None and time.monotonic() - asked[1] < _ASKED_FRESH:
            known.append(asked[0])
            current = asked[0]
        # Keys can come faster than the events that confirm them: whether a key takes a
        # worker to zero (and must ask first) is judged on the lowest figure known.
        return worker_id, current, min(known)

    def applies(self, action: str, where: Where) -> bool:
        if action == "cancel":
            return any(r.status in ("pending", "scheduled", "running") for r in where.targets)
        if action == "retry":
            return any(r.status == "failed" for r in where.targets)
        if action == "retry_all":
            return where.on_main and where.tab == "dead" and not where.marked
        if action == "purge":
            return where.on_main and where.tab in PURGEABLE
        if action in ("scale", "set_count"):
            return self.scale_target(where) is not None
        if action in ("pool_scale", "pool_set_count"):
            return self.scale_target(where, pool=True) is not None
        if action == "pause":
            return not self.state.paused
        if action == "resume":
            return self.state.paused
        return True

    def explain(self, key: str, where: Where) -> str | None:
        """Why a key does nothing here (None: it does something, or is not ours)."""
        action = KEY_ACTIONS.get(key)
        if action is None or (not where.on_main and not where.in_detail):
            return None
        if action == "pause" and self.state.paused:
            action = "resume"
        if self.state.read_only:
            return f"Read-only console: {_WHAT[action]} is disabled."
        if action in ("scale", "set_count") and self.applies(f"pool_{action}", where):
            return None
        if not self.applies(action, where):
            return _HINTS.get(action)
        return None

    # -- running one call ----------------------------------------------------------------
    async def _call(self, what: str, call: Callable[[], Awaitable[Any]], bulk: bool = False) -> Any:
        """`call()`'s result, or `FAILED` (the operator has been told why)."""
        try:
            result = await call()
        except Exception as exc:
            self.note(f"{what} failed: {exc}", "error", 6)
            return FAILED
        self.post(self.Acted(what, bulk))
        return result

    async def _confirmed(self, title: str, question: str) -> bool:
        return bool(await self.ask(ConfirmScreen(title, question)))

    # -- jobs ----------------------------------------------------------------------------
    async def cancel(self, where: Where) -> None:
        rows = [r for r in where.targets if r.status in ("pending", "scheduled", "running")]
        if not rows:
            return
        if not where.marked:
            row = rows[0]
            note = "\nIts handler is interrupted." if row.status == "running" else ""
            question = f"Cancel this {row.status} job?\n\n  {row.name}\n  {row.id}{note}"
            if not await self._confirmed("Cancel job", question):
                return
            ok = await self._call("cancel", lambda: self.service.cancel_job(row.id))
            if ok is not FAILED:
                self.note(
                    f"Cancel requested: {note_id(row.id)}"
                    if ok
                    else f"{note_id(row.id)} had already finished"
                )
            return
        running = sum(r.status == "running" for r in rows)
        question = f"Cancel {_jobs(len(rows))}?"
        if running:
            question += f"\n{running:,} of them running: their handlers are interrupted."
        if not await self._confirmed(f"Cancel {_jobs(len(rows))}", question):
            return
        done = await self._call("cancel", lambda: self._each(rows, self.service.cancel_job), True)
        if done is not FAILED:
            self.note(f"Cancel requested for {done:,} of {_jobs(len(rows))}")

    async def retry(self, where: Where) -> None:
        rows = [r for r in where.targets if r.status == "failed"]
        if not rows:
            return
        if not where.marked:
            row = rows[0]
            ok = await self._call("retry", lambda: self.service.retry_dead_letter(row.id))
            if ok is not FAILED:
                self.note(
                    f"Requeued {note_id(row.id)} ({row.name})"
                    if ok
                    else f"{note_id(row.id)} is no longer a dead letter"
                )
            return
        title = f"Retry {_plural(len(rows), 'dead letter')}"
        if not await self._confirmed(title, f"Move {_plural(len(rows), 'dead letter')} back?"):
            return
        done = await self._call(
            "retry", lambda: self._each(rows, self.service.retry_dead_letter), True
        )
        if done is not FAILED:
            self.note(f"{_plural(done, 'dead letter')} requeued")

    async def _each(self, rows: Sequence[JobRow], call: Callable[[str], Awaitable[bool]]) -> int:
        """`call` for every row, `_BULK_CHUNK` at a time; how many said yes."""
        done = 0
        for start in range(0, len(rows), _BULK_CHUNK):
            chunk = rows[start : start + _BULK_CHUNK]
            done += sum(await asyncio.gather(*(call(r.id) for r in chunk)))
        return done

    async def retry_all(self) -> None:
        dead = self.state.depth("failed")
        if dead == 0 and self.state.metrics is not None:
            self.note("There are no dead letters to retry.")
            return
        question = (
            "Move the only dead letter back to the pending queue?"
            if dead == 1
            else f"Move all {dead:,} dead letters back to the pending queue?"
        )
        if not await self._confirmed("Retry all dead letters", question):
            return
        n = await self._call("retry all", self.service.retry_all_dead_letters)
        if n is not FAILED:
            self.note(f"{_plural(n, 'dead letter')} requeued")

    async def purge(self, where: Where) -> None:
        statuses = PURGEABLE.get(where.tab, ())
        counts = {s: self.state.depth(s) for s in statuses}
        if sum(counts.values()) == 0 and self.state.metrics is not None:
            self.note("Nothing to purge here.")
            return
        what = " and ".join(f"{counts[s]:,} {_PURGE_WORDS[s]}" for s in statuses if counts[s])
        question = f"Delete {what} for good?\nTheir records and results are gone after this."
        if not await self._confirmed("Purge", question):
            return

        async def purge_all() -> int:
            return sum([await self.service.purge(s) for s in statuses])

        n = await self._call("purge", purge_all)
        if n is not FAILED:
            self.note(f"Purged {_jobs(n)}")

    # -- workers and the queue -----------------------------------------------------------
    async def scale(self, delta: int, target: tuple[str, int, int] | None) -> None:
        if target is None:
            return
        worker_id, now, fewest = target
        if delta < 0 and now == 0:
            self.note(f"{worker_id} already runs 0 jobs at once (concurrency 0).")
            return
        goal = max(0, now + delta)
        if (fewest + delta <= 0 or goal == 0) and not await self._to_zero(worker_id):
            return
        self.asked[worker_id] = (goal, time.monotonic())
        told = await self._call(
            "scale", lambda: self.service.scale_workers(delta, worker_id=worker_id, delta=True)
        )
        if told is not FAILED:
            gone = f"{worker_id} is gone"
            self.note(f"{worker_id}: concurrency {now} → {goal}" if told else gone)

    async def set_count(self, target: tuple[str, int, int] | None) -> None:
        if target is None:
            return
        worker_id, now, _ = target
        count = await self.ask(
            CountScreen("Set concurrency", f"Concurrency of {worker_id} (now {now}):", now)
        )
        if count is None or count == now:
            return
        if count == 0 and not await self._to_zero(worker_id):
            return
        self.asked[worker_id] = (count, time.monotonic())
        told = await self._call(
            "scale", lambda: self.service.scale_workers(count, worker_id=worker_id)
        )
        if told is not FAILED:
            gone = f"{worker_id} is gone"
            self.note(f"{worker_id}: concurrency {now} → {count}" if told else gone)

    async def _to_zero(self, worker_id: str) -> bool:
        return await self._confirmed(
            "Scale to zero",
            f"Scale {worker_id} to concurrency 0?\nIt takes no new jobs; running ones finish.",
        )

    async def pause(self) -> None:
        queue = display_text(self.state.queue, limit=60)
        question = f"Pause queue {queue}?\nWorkers take no new jobs; running ones finish."
        if not await self._confirmed("Pause the queue", question):
            return
        if await self._call("pause", self.service.pause_queue) is not FAILED:
            self.note("Queue paused: running jobs go on, no new ones start")

    async def resume(self) -> None:
        if await self._call("resume", self.service.resume_queue) is not FAILED:
            self.note("Queue resumed")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def _jobs(n: int) -> str:
    return _plural(n, "job")
