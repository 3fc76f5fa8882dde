"""The values that cross the `Backend` contract: what a worker claims and reports, what a
submit hands over, what metrics, workers and schedules read back. Plain frozen data, so each
engine builds and reads them the same way."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "DEAD_MAX",
    "DEAD_TTL",
    "HISTOGRAM_BOUNDS_MS",
    "MAX_LIMITS",
    "MAX_LISTED_HANDLERS",
    "MAX_PARKED_NAMES",
    "PAGE_ROWS",
    "SUBMIT_CHUNK",
    "SUBMIT_CHUNK_BYTES",
    "BackendSettings",
    "ClaimBatch",
    "ClaimedJob",
    "DueSchedules",
    "Finish",
    "JobEmit",
    "NewJob",
    "Outcome",
    "ParentResult",
    "ProgressUpdate",
    "RawFields",
    "RawHistory",
    "RawLimits",
    "RawMetrics",
    "RawSchedule",
    "Relatives",
    "ScheduleFire",
    "WorkerRecord",
    "events_maxlen_from_env",
    "listed_handlers",
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
    # Dead letters kept, and for how long (seconds), Sidekiq's bounds: past either, the oldest
    # are dropped, each with a JOB_DROPPED event and the `dead_dropped` total. The environment
    # variables JOBDECK_DEAD_MAX and JOBDECK_DEAD_TTL set them for every process started with
    # them (every process writing to a queue trims to its own figures: set them alike).
    dead_max: int = field(default_factory=lambda: dead_max_from_env())
    dead_ttl: float = field(default_factory=lambda: dead_ttl_from_env())
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


DEAD_MAX = 10_000
DEAD_TTL = 180 * 86400.0  # six months


def dead_max_from_env(default: int = DEAD_MAX) -> int:
    raw = os.environ.get("JOBDECK_DEAD_MAX", "").strip().replace("_", "")
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000_000:
        raise ValueError(f"JOBDECK_DEAD_MAX: expected 1-100000000 dead letters, got {raw!r}")
    return int(raw)


def dead_ttl_from_env(default: float = DEAD_TTL) -> float:
    """Seconds, or a number of days with `d` (`180d`)."""
    raw = os.environ.get("JOBDECK_DEAD_TTL", "").strip().replace("_", "")
    if not raw:
        return default
    days = raw.endswith("d")
    number = raw[:-1] if days else raw
    if not number.isdigit() or not 60 <= int(number) * (86400 if days else 1) <= 10 * 365 * 86400:
        raise ValueError(
            f"JOBDECK_DEAD_TTL: expected seconds (60 to ten years) or days like 180d, got {raw!r}"
        )
    return float(int(number) * (86400 if days else 1))


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
    # The job names this worker has handlers for, sorted, at most MAX_LISTED_HANDLERS of
    # them (the record is rewritten on every heartbeat); `handler_count` counts them all.
    handlers: list[str] = field(default_factory=list)
    handler_count: int = 0

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
            "handlers": self.handlers,
            "handler_count": self.handler_count,
        }


#: How many handler names a worker record lists: a record is rewritten on every heartbeat,
#: and 100 names of at most 200 characters keep it under ~20 KB whatever the application.
MAX_LISTED_HANDLERS = 100


def listed_handlers(names: Iterable[str]) -> tuple[list[str], int]:
    """The names a worker record lists (sorted, capped) and how many there are in all."""
    every = sorted(names)
    return every[:MAX_LISTED_HANDLERS], len(every)


# Upper bounds (ms) of the wait- and run-time histogram buckets; the Lua `histograms` has the same.
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
    # pending jobs set aside: held (throttled) by the limit holding them, parked by job name
    # (the names with the most, at most MAX_PARKED_NAMES), and how many of each in all
    throttled: dict[str, int] = field(default_factory=dict)
    parked: dict[str, int] = field(default_factory=dict)
    throttled_total: int = 0
    parked_total: int = 0
    # completed and failed attempts per job name since the queue began: "c:<name>" and
    # "f:<name>" (at most ~200 fields; past them, "c:other" and "f:other")
    names: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawHistory:
    """Counts per minute (step 60) or per hour (step 3600): `counts[(kind, bucket)]` for
    kind "s" submitted, "c" completed, "f" failed, and bucket the unix time // step; the
    buckets asked for are `first` .. `first + count - 1`."""

    now: float
    step: int
    first: int
    count: int
    counts: dict[tuple[str, int], int] = field(default_factory=dict)


#: How many job names a metrics read reports parked jobs for (those with the most).
MAX_PARKED_NAMES = 100
#: How many limits (keys and templates) one queue may have: every claim of a job under a
#: limit looks its definition up, and `list_limits` reads them all in one call.
MAX_LIMITS = 10_000


@dataclass(frozen=True, slots=True)
class RawLimits:
    """Every limit of a queue as stored (definition -> 'concurrency rate per_ms'), and the
    jobs held (throttled) and running under each, by definition."""

    limits: dict[str, str]
    throttled: dict[str, int]
    in_use: dict[str, int]


#: Rows one list.lua call reads at most: the Redis engine lists a page in calls of this many,
#: and the memory engine gives each such run of rows the byte budget one call has.
PAGE_ROWS = 200

#: One submit call stores at most this many jobs, and this many bytes of their args and
#: kwargs (the values of unbounded size): the script writes each job's record, so its time
#: follows their bytes. Bulk submits (`submission.chunks`) and the jobs of concurrent
#: synchronous submits (`redis.sync_submit`) are split by it alike.
SUBMIT_CHUNK, SUBMIT_CHUNK_BYTES = 1000, 524_288


class NewJob(NamedTuple):
    """One job for `Backend.submit`, checked and encoded (`submission.prepare`): its id, name
    and priority, its delay in milliseconds (0: pending at once), the record to store
    (`codec.encode_fields`), and its unique key ('' for none) with the key's window in
    milliseconds (0 for none); (workflows) the ids of the jobs it waits for, and the
    milliseconds after which it expires if it has not started (0: never)."""

    id: str
    name: str
    priority: int
    delay_ms: int
    fields: Mapping[str, str | bytes]
    unique_key: str = ""
    unique_window_ms: int = 0
    after: tuple[str, ...] = ()
    expires_ms: int = 0


class ParentResult(NamedTuple):
    """(workflows) One parent of a job as its worker reads it: its status ('' when its
    record is gone) and its stored result (JSON; None for none)."""

    id: str
    status: str
    result: bytes | None


@dataclass(frozen=True, slots=True)
class Relatives:
    """(workflows) A job's parents and children as views show them: the first few of each
    as (id, status; '' for a record that is gone), and how many there are."""

    parents: list[tuple[str, str]]
    parents_total: int
    children: list[tuple[str, str]]
    children_total: int


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
