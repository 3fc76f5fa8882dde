"""`/history`: the queue's counts per minute over the last day, or per hour over the last 30
days (the per-second series of /jobs/metrics reach back 15 minutes)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from jobdeck.core.history import MAX_BUCKETS

from ..deps import ReadAccess, Service
from ..errors import input_problem
from ..models import HistoryOut
from ..serialize import FastJSON

router = APIRouter(tags=["metrics"])


@router.get("/history", response_model=HistoryOut, dependencies=[ReadAccess])
async def history(
    service: Service,
    step: Literal["minute", "hour"] = "minute",
    count: Annotated[int | None, Query(ge=1, le=1440, description="buckets")] = None,
) -> Response:
    """Submitted, completed and failed per minute (the last `count` minutes, at most and by
    default 1,440: a day) or per hour (at most and by default 720: 30 days; a larger count
    is cut to that), oldest first, counted in Redis as jobs go, whichever process ran
    them."""
    if count is not None:
        count = min(count, MAX_BUCKETS[step])
    try:
        found = await service.get_history(step, count)
    except ValueError as exc:
        raise input_problem(exc, "query") from None
    return FastJSON(
        {
            "step": found.step,
            "start": found.start,
            "submitted": found.submitted,
            "completed": found.completed,
            "failed": found.failed,
        }
    )
