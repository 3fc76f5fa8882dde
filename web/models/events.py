"""Events as the API sends them: on `/events` (each frame's data) and a job's own story
(`/jobs/{id}/events`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EventData", "EventOut", "JobEventsOut"]


class EventData(BaseModel):
    """What an event's `data` holds, by type (all optional; an application's own events, from
    `current_job().emit`, carry whatever their handler gave)."""

    model_config = ConfigDict(extra="allow")
    priority: int | None = Field(None, description="JOB_SUBMITTED: the job's priority, 0-3")
    delay: float | None = Field(None, description="JOB_SUBMITTED: seconds before it is due")
    worker: str | None = Field(None, description="JOB_STARTED (and a stall's JOB_REQUEUED)")
    attempt: int | None = Field(None, description="JOB_STARTED, JOB_FAILED: from 1")
    runtime: float | None = Field(None, description="JOB_COMPLETED, JOB_FAILED: seconds")
    will_retry: bool | None = Field(None, description="JOB_FAILED: false for a dead letter")
    retry_in: float | None = Field(None, description="JOB_FAILED: seconds to the next attempt")
    error_type: str | None = Field(None, description="JOB_FAILED: the exception's type")
    error: str | None = Field(None, description="JOB_FAILED: its message (500 characters)")
    reason: str | None = Field(
        None, description="JOB_REQUEUED: retry, stalled, released, run_now; JOB_FAILED: stalled"
    )
    was: str | None = Field(None, description="JOB_CANCELLED: the status it had")
    schedule: str | None = Field(None, description="SCHEDULE_*: the schedule's name")
    manual: bool | None = Field(None, description="SCHEDULE_FIRED: triggered by hand")
    fraction: float | None = Field(None, description="JOB_PROGRESS: 0-1")
    message: str | None = Field(None, description="JOB_PROGRESS: the handler's words")


class EventOut(BaseModel):
    """The `data:` of one event on `/events` (its `event:` line is the type)."""

    id: str | None
    type: str
    timestamp: float
    job_id: str | None
    name: str | None
    status: str | None
    data: EventData


class JobEventsOut(BaseModel):
    events: list[EventOut] = Field(description="the job's events, oldest first")
    next: str | None = Field(description="pass as `after` to resume; null: the story is complete")
    more: bool = Field(description="the budget ran out before the log's end: call again now")
    trimmed: bool = Field(description="the log's cap dropped some of the job's lifetime")
    scanned: int = Field(description="log entries read by this call")
