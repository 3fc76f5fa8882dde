"""What the console knows, in one object that widgets render and only the app changes.

Rows are windows: each tab holds the page of jobs around what is on screen (`offset`,
`rows`) and the size of the whole list (`total`), never the whole queue.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from jobdeck.core.metrics import QueueMetrics
from jobdeck.core.models import JobDefinition

from ..format import not_loaded, preview
from .timeline import Timeline

__all__ = [
    "JOB_TABS",
    "TABS",
    "TAB_STATUSES",
    "TAB_TITLES",
    "ConsoleState",
    "JobRow",
    "TabView",
    "WorkerRow",
]

TABS = ("pending", "running", "dead", "workers", "history")
JOB_TABS = ("pending", "running", "dead", "history")
TAB_TITLES = {
    "pending": "Pending",
    "running": "Running",
    "dead": "Dead letter",
    "workers": "Workers",
    "history": "History",
}
# Which job statuses each tab lists, in the order its rows come.
# (workflows) Jobs waiting for others are listed after the scheduled ones; jobs that
# expired unstarted are history, beside the cancelled.
TAB_STATUSES: dict[str, tuple[str, ...]] = {
    "pending": ("pending", "scheduled", "waiting"),
    "running": ("running",),
    "dead": ("failed",),
    "history": ("completed", "cancelled", "expired"),
}
DEFAULT_LIMIT = 80


@dataclass(slots=True)
class JobRow:
    """One table row: the few fields a list shows, from a record or from an event."""

    id: str
    name: str
    status: str
    priority: int = 1
    attempts: int = 0
    max_retries: int = 0
    created_at: float = 0.0
    scheduled_for: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    worker: str | None = None
    fraction: float | None = None
    message: str = ""
    error: str = ""
    runtime: float | None = None
    preview: str = ""
    cancel_requested: bool = False
    throttled: str | None = None  # the limit holding it, while it waits (a pending job)

    @classmethod
    def from_job(cls, job: JobDefinition) -> JobRow:
        error = ""
        if job.error is not None:
            error = (
                f"{job.error.type}: {job.error.message}" if job.error.message else job.error.type
            )
        elif "error" in job.omitted:
            error = not_loaded("error", job.omitted["error"])
        if job.status.is_terminal and job.status.value != "failed":
            shown = preview(job.result) if job.result is not None else ""
            if "result" in job.omitted:
                shown = not_loaded("result", job.omitted["result"])
        else:
            shown = preview(list(job.args))[1:-1]
            if "args" in job.omitted:
                shown = not_loaded("args", job.omitted["args"])
            if job.kwargs or "kwargs" in job.omitted:
                kwargs = ", ".join(f"{k}={preview(v, 40)}" for k, v in job.kwargs.items())
                if "kwargs" in job.omitted:
                    kwargs = not_loaded("kwargs", job.omitted["kwargs"])
                shown = f"{shown}, {kwargs}" if shown else kwargs
        progress = job.progress
        has_progress = job.status.value == "running" and (progress.fraction > 0 or progress.message)
        return cls(
            id=job.id,
            name=job.name,
            status=job.status.value,
            priority=int(job.priority),
            attempts=job.attempts,
            max_retries=job.max_retries,
            created_at=job.created_at,
            scheduled_for=job.scheduled_for,
            started_at=job.started_at,
            finished_at=job.finished_at,
            worker=job.worker,
            fraction=progress.fraction if has_progress else None,
            message=progress.message if has_progress else "",
            error=error,
            runtime=job.run_time,
            preview=shown,
            cancel_requested=job.cancel_requested,
            throttled=job.throttled,
        )

    def matches(self, needle: str) -> bool:
        """The `/` filter: a case-insensitive piece of the name or the id."""
        return needle in self.name.lower() or needle in self.id.lower()


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """One row of the Workers tab: a worker's last heartbeat, and whether it is ours."""

    id: str
    host: str
    pid: int
    concurrency: int
    running: int
    last_heartbeat: float
    paused: bool = False
    processed: int = 0
    failed: int = 0
    embedded: bool = False
    queue_paused: bool = False  # the whole queue is paused: this worker takes nothing new
    loop_blocked: bool = False  # a handler blocked its event loop lately (see the worker log)
    handlers: str = ""  # the job names it has handlers for (its record lists 100), and more

    @classmethod
    def from_record(
        cls, record: Any, embedded_id: str | None, queue_paused: bool = False
    ) -> WorkerRow:
        return cls(
            id=record.id,
            host=record.host,
            pid=record.pid,
            concurrency=record.concurrency,
            running=record.running,
            last_heartbeat=record.last_heartbeat,
            paused=record.paused,
            processed=record.processed,
            failed=record.failed,
            embedded=record.id == embedded_id,
            queue_paused=queue_paused,
            loop_blocked=blocked_recently(record, time.time()),
            handlers=_handlers(record),
        )

    def matches(self, needle: str) -> bool:
        return (
            needle in self.id.lower()
            or needle in self.host.lower()
            or needle in self.handlers.lower()
        )


def _handlers(record: Any) -> str:
    """`add, resize +3`: the names a worker record lists, and how many more it has."""
    names = list(getattr(record, "handlers", None) or [])
    more = int(getattr(record, "handler_count", 0) or 0) - len(names)
    return ", ".join(names) + (f" +{more}" if more > 0 else "") if names else "none"


@dataclass(slots=True)
class TabView:
    """The window of one tab: `rows` are the list's items `offset` .. `offset + len(rows)`."""

    key: str
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    rows: list[Any] = field(default_factory=list)
    total: int = 0
    loaded: bool = False
    filter: str = ""  # the filter the rows were fetched for
    scanned: int | None = None  # filtered: how many records were searched
    capped: bool = False  # filtered: the search stopped before the end of the list
    marked: dict[str, Any] = field(default_factory=dict)  # multi-selection: id -> row

    @property
    def end(self) -> int:
        return self.offset + len(self.rows)

    @property
    def reaches_end(self) -> bool:
        return self.end >= self.total

    def index_of(self, job_id: str) -> int | None:
        for index, row in enumerate(self.rows):
            if row.id == job_id:
                return index
        return None


# Live data (counts, rows, progress) is drawn at most this often by default: twice a second
# keeps a busy queue readable and the line quiet; ages move on once a second at most.
LIVE_REFRESH = 0.5
SLOW_REFRESH_FROM = 1.0  # a refresh slower than this is a "slow" mode, shown in the header
REFRESH_STEPS = (LIVE_REFRESH, 2.0, 5.0, 10.0)  # what `L` cycles through


@dataclass
class ConsoleState:
    queue: str
    server: str
    read_only: bool = False
    embedded_id: str | None = None
    connection: str = "connecting"  # "connected", "reconnecting"
    connection_error: str = ""
    metrics: QueueMetrics | None = None
    depths: dict[str, int] = field(default_factory=dict)
    # the newest event `depths` includes, as read with them: older events are not counted again
    depths_through: tuple[int, int] = (0, 0)
    paused: bool = False
    workers: list[Any] = field(default_factory=list)  # WorkerRecord
    workers_loaded: bool = False
    views: dict[str, TabView] = field(default_factory=lambda: {t: TabView(t) for t in TABS})
    active: str = "pending"
    filter: str = ""
    clock_offset: float = 0.0  # server clock minus local clock
    timeline: Timeline = field(default_factory=Timeline)
    events_seen: int = 0
    server_warnings: list[str] = field(default_factory=list)
    refresh: float = LIVE_REFRESH  # seconds between two frames of live data (`--refresh`)
    # a moment of the time mode, rebuilt from the event log: the header says so, and shows
    # nothing the log does not hold (workers, their concurrency)
    past: bool = False

    @property
    def slow_refresh(self) -> bool:
        """Slower than live (`--refresh`, `L`): the header says so."""
        return self.refresh > SLOW_REFRESH_FROM

    @property
    def alerts(self) -> list[str]:
        """Short flags for the header: what an operator must not miss at a glance."""
        flags = []
        text = " ".join(self.server_warnings)
        if "evict" in text:
            flags.append("EVICTING")
        elif "refuses new jobs" in text:
            flags.append("REDIS FULL")
        now = time.time() + self.clock_offset
        if any(blocked_recently(w, now) for w in self.workers):
            flags.append("LOOP BLOCKED")
        return flags

    def depth(self, status: str) -> int:
        return max(0, self.depths.get(status, 0))

    def tab_count(self, tab: str) -> int:
        if tab == "workers":
            return len(self.workers)
        return sum(self.depth(status) for status in TAB_STATUSES[tab])

    @property
    def concurrency(self) -> int:
        """Jobs the live workers may run at once, together."""
        return sum(w.concurrency for w in self.workers)

    def worker_rows(self) -> list[WorkerRow]:
        """The Workers tab's rows (filtered), sorted by id with ours first."""
        needle = self.filter.lower()
        rows = [WorkerRow.from_record(w, self.embedded_id, self.paused) for w in self.workers]
        rows = [row for row in rows if not needle or row.matches(needle)]
        return sorted(rows, key=lambda row: (not row.embedded, row.id))

    def set_workers(self, workers: list[Any]) -> None:
        self.workers = list(workers)
        self.workers_loaded = True
        view = self.views["workers"]
        view.rows = self.worker_rows()
        view.total, view.loaded, view.offset = len(view.rows), True, 0
        view.filter = self.filter.lower()

    def worker(self, worker_id: str) -> Any | None:
        for record in self.workers:
            if record.id == worker_id:
                return record
        return None


BLOCKED_RECENTLY = 300.0  # seconds a blocked loop stays flagged after it was seen


def blocked_recently(record: Any, now: float) -> bool:
    """Whether a worker said its event loop was blocked by a handler in the last minutes
    (the worker's watchdog records it; the worker log names the job)."""
    stall = getattr(record, "loop_blocked", None)
    if not isinstance(stall, dict):
        return False
    at = stall.get("at")
    return isinstance(at, int | float) and now - at < BLOCKED_RECENTLY
