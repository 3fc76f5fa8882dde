"""The API's contract: request bodies (validated strictly, unknown fields refused) and reply
shapes (documented in the OpenAPI document; replies are built by `serialize`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jobdeck.core.models import MAX_NAME_LENGTH

__all__ = [
    "MAX_BATCH",
    "BatchIn",
    "BatchOut",
    "CountOut",
    "JobIn",
    "JobOut",
    "JobPage",
    "MetricsOut",
    "ScaleIn",
    "ScaleOut",
    "SubmittedOut",
    "WorkerOut",
    "WorkersOut",
]

MAX_BATCH = 10_000
PriorityName = Literal["low", "normal", "high", "critical"]
Number = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class JobIn(_Strict):
    """One job to queue. With `job_id`, submitting the same id twice queues it once."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"\S")]
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    priority: Annotated[int, Field(ge=0, le=3)] | PriorityName = "normal"
    max_retries: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    timeout: Annotated[Number, Field(gt=0, le=10**9)] | None = None
    delay: Annotated[Number, Field(ge=0, le=10**9)] = 0.0
    job_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")] | None = None


class BatchIn(_Strict):
    """Up to 10,000 jobs, validated all together before any is queued."""

    jobs: Annotated[list[JobIn], Field(min_length=1, max_length=MAX_BATCH)]


class ScaleIn(_Strict):
    """Set (`concurrency`) or change (`delta`) the slots of one worker or of all (`*`)."""

    concurrency: Annotated[int, Field(ge=0, le=10_000)] | None = None
    delta: Annotated[int, Field(ge=-10_000, le=10_000)] | None = None
    worker_id: Annotated[str, Field(min_length=1, max_length=200)] = "*"


class SubmittedOut(BaseModel):
    id: str


class BatchOut(BaseModel):
    ids: list[str]
    count: int


class ProgressOut(BaseModel):
    fraction: float
    message: str


class ErrorOut(BaseModel):
    type: str
    message: str
    traceback: str | None = None


class TimelineStep(BaseModel):
    at: float
    what: str


class JobOut(BaseModel):
    id: str
    name: str
    status: Literal["pending", "scheduled", "running", "completed", "failed", "cancelled"]
    priority: PriorityName
    args: list[Any]
    kwargs: dict[str, Any]
    attempts: int
    max_retries: int
    timeout: float | None
    created_at: float
    scheduled_for: float | None
    started_at: float | None
    finished_at: float | None
    wait_time: float | None
    run_time: float | None
    progress: ProgressOut
    result: Any = None
    error: ErrorOut | None
    worker: str | None
    stalls: int
    cancel_requested: bool
    timeline: list[TimelineStep]


class JobPage(BaseModel):
    jobs: list[JobOut]
    status: str
    total: int = Field(description="jobs in this status (matching `name`, if given)")
    total_exact: bool = Field(description="false when a `name` filter stopped scanning early")
    limit: int
    offset: int


class CountOut(BaseModel):
    count: int


class ScaleOut(BaseModel):
    told: int = Field(description="how many worker processes were told")


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


class WorkersOut(BaseModel):
    workers: list[WorkerOut]


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


class PausedOut(BaseModel):
    paused: bool
