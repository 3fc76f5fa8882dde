"""`/jobs/dead-letters`: jobs that failed for good, and sending them back to the queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from ..deps import OperateAccess, ReadAccess, Service
from ..models import CountOut, JobOut, JobPage
from ..problems import CONFLICT, NOT_FOUND, Problem
from ..serialize import LIST_FIELD_BYTES, FastJSON, job_dict

router = APIRouter(prefix="/jobs/dead-letters", tags=["dead letters"])

JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="the job's id")]


@router.get("", response_model=JobPage, dependencies=[ReadAccess])
async def list_dead_letters(
    service: Service,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    """Dead letters, newest first, as previews (see GET /jobs)."""
    jobs = await service.list_jobs("failed", limit, offset, max_field_bytes=LIST_FIELD_BYTES)
    total = (await service.get_metrics(1)).depths.get("failed", 0)
    return FastJSON(
        {
            "jobs": [job_dict(job) for job in jobs],
            "status": "failed",
            "total": total,
            "total_exact": True,
            "limit": limit,
            "offset": offset,
        }
    )


@router.post("/retry-all", response_model=CountOut, dependencies=[OperateAccess])
async def retry_all(service: Service) -> Response:
    """Send every dead letter back to the queue; returns how many."""
    return FastJSON({"count": await service.retry_all_dead_letters()})


@router.post(
    "/{job_id}",
    response_model=JobOut,
    dependencies=[OperateAccess],
    responses={**NOT_FOUND, **CONFLICT},
)
async def retry_one(job_id: JobId, service: Service) -> Response:
    """Send one dead letter back to the queue. 409 if the job is not a dead letter."""
    if not await service.retry_dead_letter(job_id):
        job = await service.get_job(job_id)
        if job is None:
            raise Problem(404, f"no job {job_id}")
        raise Problem(409, f"job {job_id} is {job.status.value}, not a dead letter")
    job = await service.get_job(job_id)
    if job is None:
        raise Problem(404, f"no job {job_id}")
    return FastJSON(job_dict(job))


@router.delete(
    "/{job_id}",
    response_model=JobOut,
    dependencies=[OperateAccess],
    responses={**NOT_FOUND, **CONFLICT},
)
async def delete_one(job_id: JobId, service: Service) -> Response:
    """Delete one dead letter, with its error and traceback; answers with it as it was. 409
    if the job is not a dead letter."""
    job = await service.get_job(job_id)
    if job is None:
        raise Problem(404, f"no job {job_id}")
    if not await service.delete_job(job_id, status="failed"):
        raise Problem(409, f"job {job_id} is {job.status.value}, not a dead letter")
    return FastJSON(job_dict(job))
