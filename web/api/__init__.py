"""One router per resource, mounted by `create_app` under `/api/v1`. Literal paths under
`/jobs/` (dead-letters, metrics, workers, batch, bulk) are registered before `/jobs/{job_id}`;
then the busiest routes, since FastAPI tries routes in order."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    actions,
    dead_letters,
    events,
    job_events,
    jobs,
    queue,
    queues,
    schedules,
    search,
    stats,
    vocabulary,
    workers,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = tuple(
    m.router
    for m in (
        dead_letters,
        stats,
        workers,
        actions,
        jobs,
        job_events,
        queue,
        queues,
        events,
        schedules,
        search,
        vocabulary,
    )
)
