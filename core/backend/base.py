"""The contract every storage engine keeps: `RedisBackend` for many processes on many
machines, `MemoryBackend` for one process with nothing to install.

Each method is one atomic state transition (a Lua script in Redis) that also appends its
events to the backend's event log. Batch methods take lists so that a worker pays one round
trip for many jobs. Records travel as the flat field mappings of `codec`; the service decodes
them, so a malformed record is reported rather than crashing a backend call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ..events import Event
from ..models import JobDefinition

__all__ = [
    "Backend",
    "BackendSettings",
    "ClaimBatch",
    "ClaimedJob",
    "DueSchedules",
    "Finish",
    "JobEmit",
    "NewJob",
    "Outcome",
    "ProgressUpdate",
    "RawMetrics",
    "RawSchedule",
    "ScheduleFire",
    "WorkerRecord",
]

RawFields = Mapping[Any, Any]


class Outcome:
    """How an attempt ended, as the worker reports it to `Backend.finish`."""

    COMPLETED = "completed"
    RETRY = "retry"  # failed, retries left: back to scheduled after `delay`
    FAILED = "failed"  # failed for good: dead-letter queue
    CANCELLED = "cancelled"
    RELEASE = "release"  # handed back unfinished (worker shutting down): pending again


@dataclass(frozen=True, slots=True)
class BackendSettings:
    """Knobs every backend honours. Times in seconds.

    `events_maxlen` caps the event log (approximately: Redis trims whole nodes). It is how far
    back a console can rewind: about `events_maxlen / events per second` seconds. Every
    process writing to a queue trims to its own figure, so set it the same everywhere; the
    environment variable `JOBDECK_EVENTS_MAXLEN` does that for every process started with it
    (3,600,000 keeps an hour at 1,000 events a second, a few hundred MB in Redis)."""

    events_maxlen: int = field(default_factory=lambda: events_maxlen_from_env())
    history_max: int = 10_000
    result_ttl: float = 24 * 3600.0
    worker_ttl: float = 15.0
    max_stalls: int = 3
    # Opt-in: a submit returns only once this many replicas have it (Redis WAIT), so a
    # failover right after cannot lose it; 0 keeps replication asynchronous (the default).
    submit_replicas: int = 0
    submit_replica_timeout: float = 1.0


def events_maxlen_from_env(default: int = 50_000) -> int:
    raw = os.environ.get("JOBDECK_EVENTS_MAXLEN", "").strip().replace("_", "")
    if not raw:
        return default
    if not raw.isdigit() or not 1000 <= int(raw) <= 100_000_000:
        raise ValueError(f"JOBDECK_EVENTS_MAXLEN: expected 1000-100000000 events, got {raw!r}")
    return int(raw)


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job now leased to a worker. `token` fences every later transition of this attempt."""

    id: str
    token: str
    fields: RawFields


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    jobs: list[ClaimedJob]
    paused: bool = False
    next_due: float | None = None  # seconds until the earliest scheduled job is due


@dataclass(frozen=True, slots=True)
class Finish:
    """One attempt's outcome. `payload` is JSON: the result, or the error for failures."""

    job_id: str
    token: str
    outcome: str
    payload: bytes = b""
    delay: float = 0.0  # for RETRY: seconds until the next attempt
    event_data: bytes = b""  # JSON object carried by the event this transition emits


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    job_id: str
    token: str
    fraction: float
    message: str


@dataclass(frozen=True, slots=True)
class JobEmit:
    """An application event a running handler emits (`current_job().emit`)."""

    job_id: str
    token: str
    event_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """One live worker process, as it last described itself in a heartbeat."""

    id: str
    host: str
    pid: int
    queue: str
    concurrency: int
    running: int
    started_at: float
    last_heartbeat: float
    paused: bool = False
    processed: int = 0
    failed: int = 0
    # The last time a handler blocked this worker's event loop: {"job_id", "seconds", "at"}
    loop_blocked: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "queue": self.queue,
            "concurrency": self.concurrency,
            "running": self.running,
            "started_at": self.started_at,
            "paused": self.paused,
            "processed": self.processed,
            "failed": self.failed,
            "loop_blocked": self.loop_blocked,
        }


# Upper bounds (ms) of the wait- and run-time histogram buckets; the Lua `observe` has the same.
HISTOGRAM_BOUNDS_MS = (
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    900000,
    3600000,
)


@dataclass(frozen=True, slots=True)
class RawMetrics:
    now: float
    depths: dict[str, int]
    totals: dict[str, int]
    # one dict per second, oldest first, for the last `window` seconds
    buckets: list[dict[str, int]] = field(default_factory=list)
    paused: bool = False
    # lifetime histogram counts: "wait:<bound ms>|inf", "wait:sum_ms", the same for "run"
    histograms: dict[str, int] = field(default_factory=dict)
    # the id of the newest event these figures include ("0-0": none), read with them
    events_through: str = "0-0"


class NewJob(NamedTuple):
    """What a backend's `submit` reads of a job besides its record: the submit path hands
    these over instead of building a whole `JobDefinition` per job (a `JobDefinition` has
    the same attributes and is accepted too)."""

    id: str
    name: str
    priority: int


UNIQUE_KEY = "_unique_key"  # in a submitted record: the job's unique key (not stored as is)
UNIQUE_WINDOW = "_unique_window_ms"


def split_unique(record: Mapping[str, Any]) -> tuple[Mapping[str, Any], str, int]:
    """The stored fields, the unique key ('' for none) and its window in ms (0 for none)."""
    if UNIQUE_KEY not in record:
        return record, "", 0
    fields = dict(record)
    key = str(fields.pop(UNIQUE_KEY))
    window = int(fields.pop(UNIQUE_WINDOW, 0) or 0)
    return fields, key, window


@dataclass(frozen=True, slots=True)
class DueSchedules:
    """What `Backend.due_schedules` found: the server's clock (ms), the schedules due by it
    as (name, stored definition, due ms), and when the next one after now is due (ms)."""

    now_ms: int
    due: list[tuple[str, bytes, int]]
    next_due_ms: int | None


@dataclass(frozen=True, slots=True)
class ScheduleFire:
    """One tick to fire. `expected_ms` is the due time the scheduler saw (None: a manual
    trigger); `job_id` empty means the tick is skipped and the schedule only moves on."""

    name: str
    expected_ms: int | None
    next_ms: int
    tick_ms: int
    job_id: str
    job_name: str
    priority: int
    fields: Mapping[str, Any]
    missed: int = 0


@dataclass(frozen=True, slots=True)
class RawSchedule:
    name: str
    fields: dict[str, Any]
    next_due_ms: int | None  # None while paused
    last_status: str | None


@runtime_checkable
class Backend(Protocol):
    settings: BackendSettings

    @property
    def description(self) -> str:
        """Where the jobs live, safe to show (never a password)."""
        ...

    async def initialize(self) -> None: ...
    async def close(self) -> None: ...

    # -- producers -----------------------------------------------------------------------
    async def submit(
        self,
        jobs: Sequence[tuple[NewJob | JobDefinition, float]],
        fields: Sequence[Mapping[str, Any]],
    ) -> list[bool | str]:
        """Store new jobs (pending, or scheduled after their delay). False for an id that
        already exists: submitting with an explicit id is idempotent. A record carrying a
        unique key (`UNIQUE_KEY`, see `split_unique`) held by an unfinished job (or within
        its window) is not stored: the holder's id comes back instead."""
        ...

    async def cancel(self, job_id: str) -> str | None:
        """Cancel a pending or scheduled job at once, or ask a running job's worker to stop.
        Returns the status the job had ("pending", "scheduled", "running") or None."""
        ...

    async def retry_dead(self, job_ids: Sequence[str] | None) -> int:
        """Move dead letters back to pending (for None: all of them, in one pass over those
        dead when the call began, so a job that fails again meanwhile is not moved twice);
        returns how many. Atomic per id: of two calls for one id, one moves it."""
        ...

    async def purge(self, status: str) -> int: ...
    async def set_paused(self, paused: bool) -> None: ...

    # -- reading -------------------------------------------------------------------------
    async def get(self, job_id: str, max_field: int = 0) -> RawFields | None:
        """A job's stored fields; with `max_field`, values longer than that many bytes are
        not read: each is named `__omitted:<field>` with its size instead."""
        ...

    async def list(
        self, status: str, limit: int, offset: int, newest_first: bool, max_field: int = 0
    ) -> list[tuple[str, RawFields]]: ...
    async def metrics(self, window: int) -> RawMetrics: ...
    async def search(
        self,
        status: str,
        needle: str,
        offset: int,
        budget: int,
        limit: int,
        newest_first: bool,
        max_field: int = 0,
    ) -> tuple[list[tuple[str, RawFields]], int, bool]:
        """One bounded step of a scan of `status` from `offset`: at most `budget` records
        read, at most `limit` matches (id prefix, or text in name/args/kwargs/error, any
        case). Returns (matches, the offset to resume from, whether the set ended)."""
        ...

    async def list_workers(self) -> list[WorkerRecord]: ...
    async def read_events(self, after: str | None, count: int, block: float) -> list[Event]:
        """Events after id `after` (None: only new ones), waiting up to `block` seconds."""
        ...

    async def last_event_id(self) -> str: ...
    async def list_queues(self) -> list[str]:
        """Every queue under this backend's key prefix that has ever been used (it has an
        event log), sorted; this backend's own queue among them once it has been used."""
        ...

    async def trimmed_through(self) -> str:
        """The id of the newest event the log's cap has dropped ("0-0": none)."""
        ...

    async def emit(self, event_type: str, data: Mapping[str, Any]) -> None: ...

    # -- workers -------------------------------------------------------------------------
    async def claim(self, worker_id: str, count: int, lease: float) -> ClaimBatch:
        """Lease up to `count` jobs, highest priority first. On the way it promotes due
        scheduled jobs and recovers a bounded number of expired leases."""
        ...

    async def finish(self, worker_id: str, items: Sequence[Finish]) -> list[bool]:
        """Record outcomes; False where the token is stale (the lease was lost)."""
        ...

    async def progress(self, items: Sequence[ProgressUpdate]) -> None: ...
    async def job_events(self, items: Sequence[JobEmit]) -> int:
        """Append handlers' events to the log under their job; only a current token speaks
        for a job. Returns how many were stored."""
        ...

    async def heartbeat(
        self, worker: WorkerRecord, leases: Sequence[tuple[str, str]], lease: float
    ) -> tuple[list[str], list[str]]:
        """Register the worker, extend its leases, recover expired ones elsewhere.
        Returns (job ids whose lease was lost, job ids whose cancellation was requested)."""
        ...

    async def unregister_worker(self, worker_id: str) -> None: ...
    async def wait_for_work(self, timeout: float) -> None:
        """Return when new work may be available, or after `timeout` seconds."""
        ...

    async def wait_and_claim(
        self, worker_id: str, count: int, lease: float, timeout: float
    ) -> ClaimBatch:
        """`wait_for_work`, then `claim`, as one step: the claim runs as soon as work
        arrives (in Redis, pipelined behind the blocking wait, with no extra round trip)."""
        ...

    async def interrupt_wait(self) -> None:
        """End the waits in progress on this backend now, as if they had timed out, so a
        worker being stopped does not sit out its `idle_wait`. A wait-and-claim still runs
        its claim; the worker hands back whatever that brings."""
        ...

    async def send_control(self, message: Mapping[str, Any], worker_id: str | None) -> int:
        """Deliver a control message to one live worker (or all); returns how many got it."""
        ...

    async def next_control(self, worker_id: str, timeout: float) -> list[dict[str, Any]]: ...
    async def server_warnings(self) -> list[str]:
        """Configuration risks worth telling an operator about (eviction, no persistence)."""
        ...

    # -- schedules -----------------------------------------------------------------------
    async def put_schedule(
        self, name: str, definition: bytes, timing: str, first_ms: int, job_name: str
    ) -> int:
        """Create (1) or change (2) a schedule, or find it identical (0). Its due time moves
        to `first_ms` only when it is new or its `timing` changed, and never while paused."""
        ...

    async def due_schedules(self, limit: int) -> DueSchedules: ...
    async def fire_schedules(self, items: Sequence[ScheduleFire]) -> list[bool]:
        """Create each tick's job and move its schedule on, atomically; False where the
        schedule was no longer due at `expected_ms` (another scheduler fired it)."""
        ...

    async def list_schedules(self, name: str | None = None) -> list[RawSchedule]: ...
    async def set_schedule_paused(self, name: str, paused: bool, next_ms: int) -> int:
        """-1 unknown schedule, 0 already in that state, 1 changed."""
        ...

    async def remove_schedule(self, name: str) -> bool: ...
