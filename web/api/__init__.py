"""One router per resource, mounted by `create_app` under `/api/v1`, and those of one queue
again under `/api/v1/queues/{queue}` for every queue of the prefix (`QUEUE_ROUTERS`). Literal
paths under `/jobs/` (dead-letters, metrics, workers, batch, bulk) are registered before
`/jobs/{job_id}`; then the busiest routes, since FastAPI tries routes in order."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    actions,
    dead_letters,
    events,
    history,
    job_events,
    jobs,
    limits,
    queue,
    queues,
    schedules,
    search,
    stats,
    vocabulary,
    workers,
    workflows,
)

__all__ = ["QUEUE_ROUTERS", "ROUTERS"]

# What one queue answers: the served queue's under /api/v1, any other's under
# /api/v1/queues/{queue}.
QUEUE_ROUTERS: tuple[APIRouter, ...] = tuple(
    m.router
    for m in (
        dead_letters,
        stats,
        workers,
        actions,
        jobs,
        job_events,
        queue,
        events,
        schedules,
        search,
        limits,
        history,
        workflows,
    )
)
ROUTERS: tuple[APIRouter, ...] = (*QUEUE_ROUTERS, queues.router, vocabulary.router)
