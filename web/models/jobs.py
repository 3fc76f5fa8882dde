"""Replies about jobs: a submit's ids, a job (as lists send it, and whole), a page, a search
step, what an action on many did."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .fields import PriorityName, StatusName

__all__ = [
    "BatchOut",
    "BulkOut",
    "CountOut",
    "ErrorOut",
    "GroupOut",
    "JobOut",
    "JobPage",
    "ProgressOut",
    "RelativeOut",
    "SearchOut",
    "SubmittedOut",
    "TimelineStep",
]


class SubmittedOut(BaseModel):
    id: str


class BatchOut(BaseModel):
    ids: list[str]
    count: int


class GroupOut(BaseModel):
    ids: list[str]
    then_id: str | None


class ProgressOut(BaseModel):
    fraction: float
    message: str


class ErrorOut(BaseModel):
    type: str
    message: str
    traceback: str | None = None


class RelativeOut(BaseModel):
    id: str
    status: StatusName | None = Field(description="null: its record is gone")


class TimelineStep(BaseModel):
    at: float
    what: str


class JobOut(BaseModel):
    id: str
    name: str
    status: StatusName
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
    omitted: dict[str, int] = Field(
        default_factory=dict,
        description="values a list left on the server (over 8 KiB): field name -> size in "
        "bytes; the field itself is empty. GET /jobs/{id} sends them.",
    )
    limit: str | None = Field(None, description="the limit key it runs under")
    group: str | None = Field(None, description="the group it takes turns with")
    throttled: str | None = Field(
        None, description="while pending and held by a limit: that limit (a key or template)"
    )
    meta: dict[str, Any] = Field(
        default_factory=dict, description="the JSON object submitted with the job as `meta`"
    )
    result_ttl: float | None = Field(
        None, description="seconds it is kept once completed, when submitted with its own"
    )
    parents: list[str] = Field(
        default_factory=list, description="the jobs it runs after (`after`), in order"
    )
    waiting_for: int = Field(0, description="while `waiting`: parents not yet completed")
    on_parent_failure: Literal["fail", "run", "cancel"] = "fail"
    expires_at: float | None = Field(
        None, description="when it expires if it has not started by then (Unix seconds)"
    )
    parent_statuses: list[RelativeOut] | None = Field(
        None, description="GET /jobs/{id} only: its first 50 parents with their statuses"
    )
    parents_total: int | None = None
    children: list[RelativeOut] | None = Field(
        None, description="GET /jobs/{id} only: its first 50 children (jobs submitted after "
        "it) with their statuses",
    )
    children_total: int | None = None


class JobPage(BaseModel):
    jobs: list[JobOut]
    status: str
    total: int = Field(description="jobs in this status (matching `name`, if given)")
    total_exact: bool = Field(description="false when a `name` filter stopped scanning early")
    limit: int
    offset: int


class CountOut(BaseModel):
    count: int


class SearchOut(BaseModel):
    jobs: list[JobOut] = Field(description="matches found by this step, in list order")
    cursor: str | None = Field(description="pass back for the next step; null: all was read")
    scanned: int = Field(description="records read by this step")


class BulkOut(BaseModel):
    action: str
    count: int = Field(description="how many jobs the action was applied to")
    done: list[str] = Field(description="their ids")
    skipped: list[str] = Field(description="ids it did not fit (unknown, or in another state)")
