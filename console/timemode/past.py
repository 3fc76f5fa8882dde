"""The queue's past, rebuilt from its event log: what the time mode (`t`) shows.

Every event the console sees once the time mode or the charts are first opened (the stored
log, then the live feed) is folded into a compact record per job: the times and statuses of
its transitions. The queue at a moment T is then rebuilt without replaying the log:

- counts: today's counts minus the per-second deltas of every event after T (the log knows
  exactly which status each job left and entered);
- the jobs not finished at T: every job held, each looked up at T by a bisection of its own
  transitions (the jobs held are bounded, so a step of the cursor is too: ~0.1 s at the
  bound);
- dead letters and history at T: the latest jobs that finished before T, walking back.

What it holds is bounded by `jobs` (50,000 by default, about as many as the stored log's
default cap of 50,000 events describes; ~0.7 KB each, ~35 MB resident at the bound): past
that, the jobs seen first longest ago are let go, with everything kept for the time before
the oldest job left (per-second counts, finished-job index, pauses), and the time mode's
span starts there. A job keeps its last `_STEPS` transitions. Jobs it does not hold (let
go, or older than the log's cap and untouched since) count in the totals but have no row:
the tables show what the history knows.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

from jobdeck.core.events import Event, Events, event_key
from jobdeck.core.metrics import QueueMetrics

from ..live.reducer import source_status
from ..live.state import TAB_STATUSES, ConsoleState, JobRow

__all__ = ["TIME_MODE_JOBS", "Moment", "Past"]

TIME_MODE_JOBS = 50_000  # jobs the time mode holds by default (`--time-mode-jobs`)
_OPEN = frozenset({"pending", "scheduled", "running"})
_TERMINAL = frozenset({"completed", "failed", "cancelled"})
_ROWS = 500  # rows per tab at a moment: the counts are exact, the tables show this many
_STEPS = 64  # transitions kept per job (a job requeued without end keeps its latest)
_SLACK = 0.05  # jobs are let go in batches of this share of the bound (amortized trims)


def _id_key(event_id: str) -> tuple[int, int]:
    try:
        return event_key(event_id)
    except ValueError:
        return (-1, -1)


class _Life:
    """One job's transitions: `times[i]` is when it entered `statuses[i]`."""

    __slots__ = (
        "attempts",
        "dues",
        "error",
        "name",
        "priority",
        "runtime",
        "seen",
        "statuses",
        "times",
        "worker",
    )

    def __init__(self, name: str, seen: float) -> None:
        self.name = name
        self.seen = seen  # when the history first saw it (the order jobs are let go in)
        self.priority = 1
        self.times: list[float] = []
        self.statuses: list[str] = []
        self.worker: str | None = None
        self.error = ""
        self.runtime: float | None = None
        self.attempts = 0
        # when each stay in "scheduled" (by the time it began) was due: a due job goes
        # pending without an event, so the log alone would keep it scheduled for ever
        self.dues: dict[float, float] | None = None

    def status_at(self, t: float) -> tuple[str | None, int]:
        i = bisect_right(self.times, t) - 1
        if i < 0:
            return None, -1
        status = self.statuses[i]
        if status == "scheduled" and self.dues and t >= self.dues.get(self.times[i], math.inf):
            return "pending", i
        return status, i

    def promoted(self, t: float, last: float) -> bool:
        """Whether a stay in "scheduled" went pending, unseen, after `t` and by `last`."""
        if not self.dues:
            return False
        for entered, due in self.dues.items():
            if t < due <= last:
                i = bisect_right(self.times, entered) - 1
                later = self.times[i + 1] if i + 1 < len(self.times) else math.inf
                if self.statuses[i] == "scheduled" and due <= later:
                    return True
        return False


@dataclass(frozen=True, slots=True)
class Moment:
    """The queue rebuilt at `at`: a console state the widgets can draw as they draw now."""

    at: float
    state: ConsoleState


class Past:
    def __init__(self, jobs: int = TIME_MODE_JOBS) -> None:
        self.max_jobs = max(1, jobs)
        self.lives: dict[str, _Life] = {}  # in the order first seen
        self.first: float | None = None  # the oldest moment the history can rebuild
        self.last: float | None = None
        self.events = 0
        self.let_go = 0  # jobs let go to stay within the bound
        self.loaded_through = ""  # the newest stored event id folded in (for the loader)
        self._deltas: dict[int, dict[str, int]] = {}  # second -> status -> +/- count
        self.series: dict[int, list[int]] = {}  # second -> [submitted, completed, failed]
        # terminal transitions in time order, by the tab they land on
        self._ended: dict[str, list[tuple[float, str]]] = {"dead": [], "history": []}
        self._paused: list[tuple[float, bool]] = []
        self._through = (-1, -1)

    # -- folding events in ---------------------------------------------------------------
    def add_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.add(event)

    def add(self, event: Event) -> None:
        t = event.timestamp
        kind, job_id = event.type, event.job_id
        if event.id:  # ids only grow: one already folded in comes round again (overlap)
            key = _id_key(event.id)
            if key <= self._through:
                return
            self._through, self.loaded_through = key, event.id
        if self.first is None:
            self.first = t
        self.events += 1
        if self.last is None or t > self.last:
            self.last = t
        if kind in (Events.QUEUE_PAUSED, Events.QUEUE_RESUMED):
            self._paused.append((t, kind == Events.QUEUE_PAUSED))
            return
        if not job_id or kind == Events.JOB_PROGRESS or not event.status:
            return
        source, target = source_status(event), event.status
        second = int(t)
        deltas = self._deltas.setdefault(second, {})
        if source is not None:
            deltas[source] = deltas.get(source, 0) - 1
        deltas[target] = deltas.get(target, 0) + 1
        series = self.series.setdefault(second, [0, 0, 0])
        if kind == Events.JOB_SUBMITTED:
            series[0] += 1
        elif kind == Events.JOB_COMPLETED:
            series[1] += 1
        elif kind == Events.JOB_FAILED:
            series[2] += 1
        self._transition(event, job_id, source, target, t)
        if len(self.lives) > self.max_jobs * (1 + _SLACK):
            self._let_go(len(self.lives) - self.max_jobs)

    def _transition(
        self, event: Event, job_id: str, source: str | None, target: str, t: float
    ) -> None:
        life = self.lives.get(job_id)
        if life is None:
            life = self.lives[job_id] = _Life(event.name or "?", t)
            if source is not None:  # it existed before the log (or the console) saw it
                life.times.append(-math.inf)
                life.statuses.append(source)
        data = event.data
        if event.type == Events.JOB_SUBMITTED and isinstance(data.get("priority"), int):
            life.priority = data["priority"]
        elif event.type == Events.JOB_STARTED:
            life.worker = data.get("worker")
            life.attempts = int(data.get("attempt") or life.attempts + 1)
        elif event.type == Events.JOB_FAILED:
            kind, message = data.get("error_type") or "Error", data.get("error") or ""
            life.error = f"{kind}: {message}" if message else str(kind)
        if isinstance(data.get("runtime"), (int, float)):
            life.runtime = float(data["runtime"])
        wait = data.get("delay") or data.get("retry_in")  # a delayed submit, a retry
        if target == "scheduled" and isinstance(wait, (int, float)) and wait > 0:
            if life.dues is None:
                life.dues = {}
            life.dues[t] = t + wait
            if len(life.dues) > _STEPS:
                del life.dues[min(life.dues)]
        at = bisect_right(life.times, t)
        life.times.insert(at, t)
        life.statuses.insert(at, target)
        if len(life.times) > _STEPS:
            del life.times[:-_STEPS], life.statuses[:-_STEPS]
        if target not in _OPEN:
            insort(self._ended["dead" if target == "failed" else "history"], (t, job_id))

    def _let_go(self, count: int) -> None:
        """Let go of the `count` jobs seen first, and of everything kept for the time before
        the oldest job left: the history's span starts there from now on."""
        gone = set(islice(self.lives, count))
        for job_id in gone:
            del self.lives[job_id]
        self.let_go += len(gone)
        oldest = next(iter(self.lives.values()), None)
        floor = oldest.seen if oldest is not None else self.last or 0.0
        self.first = max(self.first or floor, floor)
        cut = math.ceil(floor)  # a second partly before the floor holds what was let go
        for table in (self._deltas, self.series):
            for second in [s for s in table if s < cut]:
                del table[second]
        for tab, ended in self._ended.items():
            self._ended[tab] = [(t, j) for t, j in ended if t >= floor and j not in gone]
        before = [paused for when, paused in self._paused if when < floor]
        self._paused = [(when, p) for when, p in self._paused if when >= floor]
        if before:  # the state the queue was in at the floor still counts
            self._paused.insert(0, (floor, before[-1]))

    # -- the past ------------------------------------------------------------------------
    def span(self) -> tuple[float, float] | None:
        return None if self.first is None or self.last is None else (self.first, self.last)

    def at(self, t: float, live: ConsoleState) -> Moment:
        """The queue as it was at `t` (clamped to what the log holds)."""
        state = ConsoleState(queue=live.queue, server=live.server, read_only=True)
        state.connection, state.active = "connected", live.active
        state.embedded_id = live.embedded_id
        state.past = True
        state.depths = self._depths_at(t, live.depths)
        state.metrics = self._rates_at(t, state.depths)
        state.paused = self._paused_at(t, live.paused)
        # Sort cheap keys first, build rows only for what is shown.
        pending: list[tuple[bool, int, float, str, int]] = []
        running: list[tuple[float, str, int]] = []
        lives = self.lives
        for job_id, life in lives.items():
            status, i = life.status_at(t)
            if status == "running":
                running.append((life.times[i], job_id, i))
            elif status in _OPEN:
                pending.append((status != "pending", -life.priority, life.times[0], job_id, i))
        pending.sort()
        running.sort()
        rows: dict[str, list[JobRow]] = {
            "pending": [
                self._row(p[3], lives[p[3]], "scheduled" if p[0] else "pending", p[4])
                for p in pending[:_ROWS]
            ],
            "running": [self._row(r[1], lives[r[1]], "running", r[2]) for r in running[:_ROWS]],
            "dead": self._ended_before(t, "dead"),
            "history": self._ended_before(t, "history"),
        }
        counts = {"pending": len(pending), "running": len(running)}
        for tab, found in rows.items():
            view = state.views[tab]
            view.rows, view.loaded = found[:_ROWS], True
            view.total = min(counts.get(tab, len(found)), _ROWS)
        state.views["workers"].loaded = True
        state.workers_loaded = True
        return Moment(t, state)

    def _depths_at(self, t: float, now: dict[str, int]) -> dict[str, int]:
        depths = dict(now)
        cut = int(t)
        for second, deltas in self._deltas.items():
            if second > cut:
                for status, delta in deltas.items():
                    depths[status] = depths.get(status, 0) - delta
        # jobs that went from scheduled to pending since `t` (no event says so): at `t`
        # they were still scheduled (the rows say so too, see `_Life.status_at`)
        last = self.last if self.last is not None else t
        moved = sum(life.promoted(t, last) for life in self.lives.values() if life.dues)
        if moved:
            depths["scheduled"] = depths.get("scheduled", 0) + moved
            depths["pending"] = depths.get("pending", 0) - moved
        return {status: max(0, n) for status, n in depths.items()}

    def _rates_at(self, t: float, depths: dict[str, int]) -> QueueMetrics:
        """The header's done/s line as it read at `t`: the minute before it."""
        end = int(t) + 1
        done = self.per_second(end - 60, end)
        return QueueMetrics(
            timestamp=t,
            depths=depths,
            totals={},
            completed_per_second=done,
            throughput=sum(done) / 60,
            throughput_10s=sum(done[-10:]) / 10,
        )

    def _paused_at(self, t: float, now: bool) -> bool:
        before = [paused for when, paused in self._paused if when <= t]
        if before:
            return before[-1]
        after = [paused for when, paused in self._paused if when > t]
        return (not after[0]) if after else now

    def _ended_before(self, t: float, tab: str) -> list[JobRow]:
        rows: list[JobRow] = []
        seen: set[str] = set()
        statuses, ended = TAB_STATUSES[tab], self._ended[tab]
        end = bisect_right(ended, t, key=lambda m: m[0])
        for index in range(end - 1, -1, -1):
            job_id = ended[index][1]
            if job_id in seen:
                continue
            seen.add(job_id)
            life = self.lives.get(job_id)
            if life is None:  # let go since (it finished, then was requeued and let go)
                continue
            status, i = life.status_at(t)
            if status in statuses:
                rows.append(self._row(job_id, life, status, i))
                if len(rows) >= _ROWS:
                    break
        return rows

    def _row(self, job_id: str, life: _Life, status: str, i: int) -> JobRow:
        entered = life.times[i] if life.times[i] != -math.inf else None
        created = life.times[0] if life.times[0] != -math.inf else 0.0
        row = JobRow(id=job_id, name=life.name, status=status, priority=life.priority)
        row.created_at = created
        row.attempts = life.attempts
        if status == "running":
            row.started_at, row.worker = entered, life.worker
        elif status in _TERMINAL:
            row.finished_at, row.runtime = entered, life.runtime
            row.error = life.error if status == "failed" else ""
        elif status == "scheduled":
            row.scheduled_for = None
        return row

    # -- for the time bar and the charts -------------------------------------------------
    def per_second(self, start: int, end: int, which: int = 1) -> list[int]:
        """`which` (0 submitted, 1 completed, 2 failed) for each second start .. end - 1."""
        return [self.series.get(s, (0, 0, 0))[which] for s in range(start, end)]

    def next_burst(self, t: float, direction: int = 1) -> float | None:
        """The start of the next (or previous) second in which failures spiked: at least 5
        and three times the typical failing second of the log."""
        failing = sorted(v[2] for v in self.series.values() if v[2])
        if not failing:
            return None
        floor = max(5, 3 * failing[len(failing) // 2])
        seconds = sorted(s for s, v in self.series.items() if v[2] >= floor)
        if direction > 0:
            later = [s for s in seconds if s > int(t) + 1]
            return float(later[0]) if later else None
        earlier = [s for s in seconds if s < int(t) - 1]
        return float(earlier[-1]) if earlier else None
