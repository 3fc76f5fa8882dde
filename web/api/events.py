"""`/events`: every event of the queue, from any process, as server-sent events."""

from __future__ import annotations

import functools
import re
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import StreamingResponse

from jobdeck.core import JobService

from ..deps import ReadAccess, Service
from ..models import STREAM_ID_PATTERN, EventOut, QueuesOverviewOut, StreamId, WorkersOut
from ..queues import queue_services
from ..sse import EventHub
from ..summaries import KINDS, MAX_WORKERS
from .queues import overview_reply
from .workers import workers_reply

router = APIRouter(tags=["events"])

_TYPES = re.compile(r"^[A-Za-z0-9_.:-]{1,64}(,[A-Za-z0-9_.:-]{1,64}){0,63}$")
_SUMMARIES = f"^({'|'.join(KINDS)})(,({'|'.join(KINDS)}))?$"

_STREAM_DOC = {
    200: {
        "description": "`text/event-stream`: `id:` is the event's id in the log (send it back "
        "as `Last-Event-ID` to resume), `event:` its type, `data:` its JSON. Comment lines "
        "(`: keep-alive`) every few seconds when idle. `event: reset` means events were "
        "trimmed from the log before the client resumed; `event: lagged` that the client "
        "read too slowly and should reconnect. With `summaries`, `event: workers` and "
        "`event: queues` frames (no `id:`) carry what GET /jobs/workers and GET "
        "/queues/overview answer: the latest at once, then each change (the server reads "
        "them every 2 s while a client wants them).",
        "content": {
            "text/event-stream": {
                "schema": {"type": "string"},
                # What each frame's `data:` holds (OpenAPI 3.1 has no word for it yet); the
                # schema is in the components as the events of /jobs/{job_id}/events.
                "x-event-data": {"$ref": f"#/components/schemas/{EventOut.__name__}"},
                "x-summary-data": {
                    "workers": {"$ref": f"#/components/schemas/{WorkersOut.__name__}"},
                    "queues": {"$ref": f"#/components/schemas/{QueuesOverviewOut.__name__}"},
                },
            }
        },
    }
}


def hub_for(request: Request, service: JobService) -> EventHub:
    """The hub of the served queue's events, or of another queue's (`queues.py`), told how
    to read the summaries it pushes."""
    state = request.app.state
    if service is not state.service:
        hub = queue_services(request).hub(service)
    else:
        if getattr(state, "event_hub", None) is None:
            state.event_hub = EventHub(state.service)
        hub = state.event_hub
    feed = hub.summaries
    feed.interval = state.summary_interval
    feed.provide("workers", functools.partial(workers_reply, service, MAX_WORKERS))
    feed.provide("queues", functools.partial(overview_reply, state.queues, service.queue))
    return hub


@router.get(
    "/events",
    dependencies=[ReadAccess],
    response_class=StreamingResponse,
    responses=_STREAM_DOC,  # type: ignore[arg-type]
)
async def events(
    request: Request,
    service: Service,
    # Typed str (not str | None): absent is None, but a sent value is always a string.
    types: Annotated[
        str,  # noqa: RUF013
        Query(
            pattern=_TYPES.pattern,
            description="comma-separated event types, e.g. JOB_COMPLETED,JOB_FAILED",
        ),
    ] = None,  # type: ignore[assignment]
    last_event_id: Annotated[
        StreamId,
        Header(pattern=STREAM_ID_PATTERN, description="resume after this event id"),
    ] = None,  # type: ignore[assignment]
    after: Annotated[
        StreamId,
        Query(
            pattern=STREAM_ID_PATTERN,
            description="resume after this event id (for clients that cannot send headers)",
        ),
    ] = None,  # type: ignore[assignment]
    summaries: Annotated[
        str,  # noqa: RUF013
        Query(
            pattern=_SUMMARIES,
            description="`workers`, `queues` or both (comma-separated): also send those "
            "summaries, the latest at once and then each change",
        ),
    ] = None,  # type: ignore[assignment]
) -> StreamingResponse:
    """Live events. Reconnecting with `Last-Event-ID` resumes without a gap."""
    resume = last_event_id if last_event_id is not None else after
    hub = hub_for(request, service)
    await service.last_event_id()  # 503 now, before the stream starts, if the server is away
    return StreamingResponse(
        hub.stream(
            resume,
            types.split(",") if types else None,
            request.app.state.heartbeat,
            summaries.split(",") if summaries else (),
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
