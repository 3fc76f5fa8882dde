"""The contract every storage engine keeps: `RedisBackend` for many processes on many
machines, `MemoryBackend` for one process with nothing to install.

Each method is one atomic state transition (a Lua script in Redis) that also appends its
events to the backend's event log. Batch methods take lists so that a worker pays one round
trip for many jobs. Records travel as the flat field mappings of `codec`; the service decodes
them, so a malformed record is reported rather than crashing a backend call. The values the
methods take and return are in `records`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from ..events import Event
from .records import (
    HISTOGRAM_BOUNDS_MS,
    BackendSettings,
    ClaimBatch,
    ClaimedJob,
    DueSchedules,
    Finish,
    JobEmit,
    NewJob,
    Outcome,
    ParentResult,
    ProgressUpdate,
    RawFields,
    RawHistory,
    RawLimits,
    RawMetrics,
    RawSchedule,
    Relatives,
    ScheduleFire,
    WorkerRecord,
    events_maxlen_from_env,
)

# The records are importable from here too, where the contract that uses them lives.
__all__ = [
    "HISTOGRAM_BOUNDS_MS",
    "Backend",
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
]


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
    async def submit(self, jobs: Sequence[NewJob]) -> list[bool | str]:
        """Store new jobs (pending, or scheduled after their delay), in order. False for an
        id that already exists: submitting with an explicit id is idempotent. A job whose
        unique key is held by an unfinished job (or within its window) is not stored: the
        holder's id comes back instead."""
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

    async def run_now(self, job_id: str) -> bool:
        """A scheduled job (delayed, or waiting out its retry delay) goes pending at once, at
        the back of its priority, with a JOB_REQUEUED of reason run_now. False if it is not
        scheduled. Atomic: of two calls for one id, one moves it."""
        ...

    async def purge(self, status: str) -> int: ...
    async def delete(self, job_id: str, status: str | None = None) -> str | None:
        """Delete one finished job (completed, failed, cancelled; with `status`, only one in
        that status): record and index entry, with a JOBS_PURGED of count 1 under its id.
        Returns the status it had, or None if nothing was deleted."""
        ...

    async def set_paused(self, paused: bool) -> None: ...

    # -- web sign-ins (kept with the queue, so a sign-out holds in every process) ------------
    async def open_session(self, digest: str, lifetime_ms: int, cap: int) -> int:
        """Record a sign-in until `lifetime_ms` from now. At most `cap` are kept: the expired
        go, then the ones expiring first are ended. Returns how many were ended for the cap."""
        ...

    async def session_open(self, digest: str) -> bool:
        """Whether that sign-in is recorded and not expired."""
        ...

    async def close_session(self, digest: str) -> bool:
        """End a sign-in (a sign-out). True if it was open."""
        ...

    # -- reading -------------------------------------------------------------------------
    async def get(self, job_id: str, max_field: int = 0) -> RawFields | None:
        """A job's stored fields; with `max_field`, values longer than that many bytes are
        not read: each is named `__omitted:<field>` with its size instead."""
        ...

    async def list_jobs(
        self, status: str, limit: int, offset: int, newest_first: bool, max_field: int = 0
    ) -> list[tuple[str, RawFields]]: ...
    async def metrics(self, window: int) -> RawMetrics: ...
    async def history(self, minutes: bool, count: int) -> RawHistory:
        """Submitted, completed and failed counts of the last `count` minutes (at most
        1440) or hours (`minutes` false, at most 720), as the scripts keep them."""
        ...

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

    # -- workflows -----------------------------------------------------------------------
    async def parent_results(
        self, job_id: str, offset: int, count: int
    ) -> tuple[list[ParentResult], int]:
        """Up to `count` of the job's parents with their results, from position `offset` of
        its parent list (an engine's own cursor: 0 to begin), and where the next call goes
        on (0: the list ended). A parent's result is there while the job may read it."""
        ...

    async def relatives(self, job_id: str, limit: int) -> Relatives:
        """The job's first `limit` parents and children with their statuses, and how many
        there are of each."""
        ...

    # -- limits --------------------------------------------------------------------------
    async def set_limit(self, key: str, value: str, event: Mapping[str, Any]) -> int:
        """Store limit `key` ('concurrency rate per_ms', see `limits.encode_limit`), or
        remove it (`value` ''), with a LIMIT_CHANGED event carrying `event`; the jobs held
        under it are looked at again by the next claim. Returns 1 if it existed, 0 if not, -1
        if a new limit would pass `MAX_LIMITS` (nothing written)."""
        ...

    async def limits(self) -> RawLimits:
        """Every limit, with the jobs held and running under each."""
        ...
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
    async def claim(
        self, worker_id: str, count: int, lease: float, handlers: Collection[str] | None = None
    ) -> ClaimBatch:
        """Lease up to `count` jobs, highest priority first (groups taking turns within a
        priority). On the way it promotes due scheduled jobs and recovers a bounded number of
        expired leases. A job whose name is not in `handlers` (None: the worker runs any name)
        is parked for a worker that has it; a job over its limit is held until the limit has
        room. Jobs set aside that can run now go first. `next_due` is when the earliest
        scheduled job is due or a held key may have room."""
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
        self,
        worker_id: str,
        count: int,
        lease: float,
        timeout: float,
        handlers: Collection[str] | None = None,
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
    async def now_ms(self) -> int:
        """The engine's clock in ms (Redis: TIME), the one the scripts decide by: a time
        computed for a script (a schedule's next fire) starts from it, not from this
        process's clock, which may be off."""
        ...

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
