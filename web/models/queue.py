"""Replies about the queue and its neighbours: workers, every queue's overview, metrics and
history, pause, and the server's vocabulary."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "HeldOut",
    "HistoryOut",
    "LoopBlockedOut",
    "MetricsOut",
    "NameCountsOut",
    "PausedOut",
    "QueueSummaryOut",
    "QueuesOut",
    "QueuesOverviewOut",
    "RatesOut",
    "ScaleOut",
    "VocabularyOut",
    "WorkerOut",
    "WorkersOut",
]


class ScaleOut(BaseModel):
    told: int = Field(description="how many worker processes were told")


class LoopBlockedOut(BaseModel):
    job_id: str | None
    job_name: str | None
    seconds: float
    at: float


class WorkerOut(BaseModel):
    id: str
    host: str
    pid: int
    queue: str
    concurrency: int
    running: int
    started_at: float
    last_heartbeat: float
    paused: bool
    processed: int
    failed: int
    handlers: list[str] = Field(
        default_factory=list, description="job names it has handlers for (sorted, at most 100)"
    )
    handler_count: int = Field(0, description="how many handlers it has in all")
    loop_blocked: LoopBlockedOut | None = Field(
        description="the last time a handler blocked this worker's event loop"
    )


class WorkersOut(BaseModel):
    workers: list[WorkerOut]
    omitted: int = Field(
        0, description="workers left out (the `workers` summary of /events sends at most 1000)"
    )


class QueuesOut(BaseModel):
    queues: list[str]
    current: str


class RatesOut(BaseModel):
    submitted: float = Field(description="jobs per second over the last minute")
    completed: float
    failed: float = Field(description="failed attempts per second (retried or dead-lettered)")


class QueueSummaryOut(BaseModel):
    name: str
    depths: dict[str, int] = Field(description="jobs per status, as in /jobs/metrics")
    paused: bool
    throttled: int = Field(description="pending jobs held by a limit (in depths.pending)")
    unserved: int = Field(description="pending jobs no live worker can run (in depths.pending)")
    rates: RatesOut
    workers: int = Field(description="live worker processes on this queue")
    worker_ids: list[str] = Field(
        description="their ids (a worker serving several queues is in each)"
    )
    concurrency: int = Field(description="how many jobs they may run at once, in all")
    running: int = Field(description="how many they run now")


class QueuesOverviewOut(BaseModel):
    queues: list[QueueSummaryOut]
    current: str = Field(description="the queue served under /api/v1")
    omitted: int = Field(description="queues past the server's open-queue limit, not shown")


class HeldOut(BaseModel):
    """Pending jobs waiting aside, by what they wait for."""

    throttled: dict[str, int] = Field(
        default_factory=dict, description="by the limit holding them (templates as one)"
    )
    unserved: dict[str, int] = Field(
        default_factory=dict,
        description="by job name, the 100 names with the most (the rest under 'other')",
    )


class NameCountsOut(BaseModel):
    completed: int
    failed: int = Field(description="failed attempts: retried or dead-lettered")


class MetricsOut(BaseModel):
    timestamp: float
    window: int
    depths: dict[str, int]
    totals: dict[str, int]
    completed_per_second: list[int]
    failed_per_second: list[int]
    submitted_per_second: list[int]
    throughput: float
    throughput_10s: float
    avg_wait: float | None
    avg_run: float | None
    paused: bool
    throttled: int = Field(0, description="pending jobs held by a limit (in depths.pending)")
    unserved: int = Field(
        0,
        description="pending jobs a worker claimed and had no handler for, while no live "
        "worker on the queue has one (in depths.pending)",
    )
    held: HeldOut = Field(default_factory=lambda: HeldOut())
    by_name: dict[str, NameCountsOut] = Field(
        description="since the queue began, per job name (at most ~200 names; the rest "
        "under `other`)"
    )


class PausedOut(BaseModel):
    paused: bool


class HistoryOut(BaseModel):
    step: int = Field(description="seconds per bucket: 60 (minutes) or 3600 (hours)")
    start: float = Field(description="unix time the first bucket begins")
    submitted: list[int] = Field(description="per bucket, oldest first; the last is filling")
    completed: list[int]
    failed: list[int] = Field(description="failed attempts: retried or dead-lettered")


class VocabularyOut(BaseModel):
    statuses: list[str] = Field(description="every job status, in the order a job meets them")
    finished: list[str] = Field(description="the statuses a job ends in")
    priorities: list[str] = Field(description="priority names, lowest first")
    event_types: list[str] = Field(description="every event type `/events` sends")
    reserved_ids: list[str] = Field(
        description="words no job id or schedule name may be, in any case (words of the "
        "API's paths)"
    )
    scheduler_id_prefix: str = Field(description="ids only the scheduler gives its jobs")
