"""`/jobs/{job_id}/events`: one job's events from the queue's event log, as they happened
(every attempt, a retry from the dead letters, the schedule that queued it, its handler's own
events), in bounded steps: the dashboard's job page shows these."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from jobdeck.core import Event, JobNotFound

from ..deps import ReadAccess, Service
from ..errors import input_problem
from ..models import STREAM_ID_PATTERN, JobEventsOut, StreamId
from ..problems import NOT_FOUND, Problem
from ..serialize import FastJSON

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="the job's id")]
EventId = Annotated[
    StreamId,  # absent is None, but a sent value is always a string
    Query(
        pattern=STREAM_ID_PATTERN,
        description="resume after this event id (the `next` of the previous reply)",
    ),
]


def event_dict(event: Event) -> dict[str, Any]:
    """An event as `/events` sends it in `data:` (`EventOut`)."""
    return {
        "id": event.id or None,
        "type": str(event.type),
        "timestamp": event.timestamp,
        "job_id": event.job_id,
        "name": event.name,
        "status": event.status,
        "data": event.data,
    }


@router.get(
    "/{job_id}/events",
    response_model=JobEventsOut,
    dependencies=[ReadAccess],
    responses=NOT_FOUND,
)
async def job_events(
    job_id: JobId,
    service: Service,
    after: EventId = None,  # type: ignore[assignment]
    budget: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """The job's events, oldest first (progress reports left out: the job keeps the
    latest). At most `budget` entries of the log are read per call: while `more`, call
    again with `after=next` at once. For a job still under way, `next` stays where its
    coming events will be (null once a finished job's story is complete). `trimmed`: the
    log's cap already dropped some of the job's lifetime, so its earliest events are
    missing."""
    try:
        page = await service.job_events(job_id, after=after, budget=budget)
    except JobNotFound:
        raise Problem(404, f"no job {job_id}") from None
    except ValueError as exc:
        raise input_problem(exc, "query") from None
    return FastJSON(
        {
            "events": [event_dict(event) for event in page.events],
            "next": page.next,
            "more": page.more,
            "trimmed": page.trimmed,
            "scanned": page.scanned,
        }
    )
