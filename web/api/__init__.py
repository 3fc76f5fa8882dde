"""One router per resource, mounted by `create_app` under `/api/v1`. Literal paths under
`/jobs/` (dead-letters, metrics, workers, batch) are registered before `/jobs/{job_id}`."""

from __future__ import annotations

from fastapi import APIRouter

from . import dead_letters, events, jobs, queue, schedules, stats, workers

__all__ = ["api_router"]


def api_router() -> APIRouter:
    router = APIRouter()
    for module in (dead_letters, stats, workers, queue, events, schedules, jobs):
        router.include_router(module.router)
    return router
