"""Acting on jobs beyond cancel and retry: running a delayed job now, and one action on many
jobs at once (the dashboard's selection)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.responses import Response

from jobdeck.core import JobService

from ..deps import OperateAccess, Service
from ..models import BulkIn, BulkOut, JobOut
from ..problems import CONFLICT, NOT_FOUND, Problem
from ..serialize import FastJSON, job_dict

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="the job's id")]
_AT_ONCE = 50  # calls in flight for one bulk request


@router.post(
    "/{job_id}/run-now",
    response_model=JobOut,
    dependencies=[OperateAccess],
    responses={**NOT_FOUND, **CONFLICT},
)
async def run_now(job_id: JobId, service: Service) -> Response:
    """Queue a delayed job, or one waiting out its retry delay, now: it goes to the back of
    its priority's pending jobs, as if it had come due. 409 if it is not scheduled."""
    if not await service.run_now(job_id):
        job = await service.get_job(job_id, max_field_bytes=64)
        if job is None:
            raise Problem(404, f"no job {job_id}")
        raise Problem(409, f"job {job_id} is {job.status.value}, not scheduled")
    job = await service.get_job(job_id)
    if job is None:
        raise Problem(404, f"no job {job_id}")
    return FastJSON(job_dict(job))


def _calls(service: JobService) -> dict[str, Callable[[str], Awaitable[Any]]]:
    return {
        "cancel": service.cancel_job,
        "retry": service.retry_dead_letter,
        "delete": service.delete_job,
        "run_now": service.run_now,
    }


@router.post("/bulk", response_model=BulkOut, dependencies=[OperateAccess])
async def bulk(body: BulkIn, service: Service) -> Response:
    """One action on up to 1,000 jobs: `cancel` (unfinished jobs), `retry` (dead letters),
    `delete` (finished jobs: completed, dead letters, cancelled) or `run_now` (scheduled
    jobs). Each job is acted on alone, atomically; those the action does not fit (unknown,
    or in another state) are listed in `skipped` and left as they are."""
    call = _calls(service)[body.action]
    done: list[str] = []
    skipped: list[str] = []
    ids = list(dict.fromkeys(body.ids))
    for first in range(0, len(ids), _AT_ONCE):
        chunk = ids[first : first + _AT_ONCE]
        results = await asyncio.gather(*(call(job_id) for job_id in chunk))
        for job_id, ok in zip(chunk, results, strict=True):
            (done if ok else skipped).append(job_id)
    return FastJSON({"action": body.action, "count": len(done), "done": done, "skipped": skipped})
