"""`/jobs`: list, submit (one or a batch), read, cancel, purge."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from jobdeck.core import JobDefinition, JobService, JobSpec
from jobdeck.core.workflows import relatives_dict

from ..deps import OperateAccess, ReadAccess, Service, operating
from ..errors import input_problem
from ..models import (
    BatchIn,
    BatchOut,
    CountOut,
    JobFields,
    JobIn,
    JobOut,
    JobPage,
    StatusName,
    SubmittedOut,
)
from ..problems import CONFLICT, NOT_FOUND, Problem
from ..queues import SCOPED_SERVICE
from ..serialize import LIST_FIELD_BYTES, FastJSON, job_dict

__all__ = ["router"]

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="the job's id")]
NAME_SCAN = 10_000  # most records read to answer a `name` filter
RELATIVES = 50  # parents and children a job's page lists with their statuses


@router.get("", response_model=JobPage, dependencies=[ReadAccess])
async def list_jobs(
    service: Service,
    status: StatusName = "pending",
    name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    """A page of jobs in one status, in the console's order: pending by priority then age,
    scheduled by due time, finished ones newest first. With `name`, only jobs of that name
    (matched among the newest 10,000 of the status; `total_exact` says if that cut short).
    Each job is a preview: a value over 8 KiB is not sent (`omitted` names it and its
    size); GET /jobs/{id} has the whole job."""
    if name is None:
        jobs = await service.list_jobs(status, limit, offset, max_field_bytes=LIST_FIELD_BYTES)
        total = (await service.get_metrics(1)).depths.get(status, 0)
        exact = True
    else:
        jobs, total, exact = await _by_name(service, status, name, limit, offset)
    return FastJSON(
        {
            "jobs": [job_dict(job) for job in jobs],
            "status": status,
            "total": total,
            "total_exact": exact,
            "limit": limit,
            "offset": offset,
        }
    )


async def _by_name(
    service: JobService, status: str, name: str, limit: int, offset: int
) -> tuple[list[JobDefinition], int, bool]:
    matches: list[JobDefinition] = []
    scanned = 0
    while scanned < NAME_SCAN:
        page = await service.list_jobs(status, 1000, scanned, max_field_bytes=LIST_FIELD_BYTES)
        matches += [job for job in page if job.name == name]
        scanned += len(page)
        if len(page) < 1000:
            return matches[offset : offset + limit], len(matches), True
    return matches[offset : offset + limit], len(matches), False


@router.post(
    "",
    status_code=201,
    response_model=SubmittedOut,
    responses={201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
async def submit_job(body: JobIn, request: Request) -> Response:
    """Queue one job; 201 with its id and a `Location`."""
    service = await operating(request)
    job_id = await service.submit_job(
        body.name,
        body.args,
        body.kwargs,
        priority=body.priority,
        max_retries=body.max_retries,
        timeout=body.timeout,
        delay=body.delay,
        job_id=body.job_id,
        limit=body.limit,
        group=body.group,
        result_ttl=body.result_ttl,
        meta=body.meta,
        expires=body.expires,
        after=body.after,
        on_parent_failure=body.on_parent_failure,
    )
    # Built, not looked up (url_for walks every route: a third of a submit's time). Ids and
    # queue names are letters, digits and -_.: only, so nothing here needs escaping.
    api = "/api/v1" if SCOPED_SERVICE not in request.scope else f"/api/v1/queues/{service.queue}"
    location = f"{request.scope.get('root_path', '')}{api}/jobs/{job_id}"
    return FastJSON({"id": job_id}, status_code=201, headers={"Location": location})


@router.post("/batch", status_code=201, response_model=BatchOut)
async def submit_batch(body: BatchIn, request: Request) -> Response:
    """Queue up to 10,000 jobs at once. Every job is validated first: one bad job and
    nothing is queued (the error names it, e.g. `body.jobs[3].priority`)."""
    service = await operating(request)
    try:
        ids = await service.submit_jobs([job_fields(job) for job in body.jobs])
    except (TypeError, ValueError) as exc:
        raise input_problem(exc) from None
    return FastJSON({"ids": ids, "count": len(ids)}, status_code=201)


def job_fields(job: JobIn) -> dict[str, Any]:
    """A job of a batch's body as the core takes it: only the fields the body set (each
    `JobIn` default is the core's default too: tests/web/test_batch_fields.py), which a
    batch of 10,000 reads in a quarter of the time a `JobSpec` of every field took (its 15
    arguments built, then unpacked again in `prepare`): ~4 µs a job less, about a sixth of
    a batch's server CPU."""
    return {field: getattr(job, field) for field in job.__pydantic_fields_set__}


def job_spec(job: JobFields) -> JobSpec:
    """A job of a request body as the core takes it (a chain's or group's member has no
    `after` nor `on_parent_failure` of its own: the defaults)."""
    return JobSpec(
        job.name,
        job.args,
        job.kwargs,
        job.priority,
        job.max_retries,
        job.timeout,
        job.delay,
        job.job_id,
        limit=job.limit,
        group=job.group,
        result_ttl=job.result_ttl,
        meta=job.meta,
        expires=job.expires,
        after=getattr(job, "after", None),
        on_parent_failure=getattr(job, "on_parent_failure", "fail"),
    )


@router.delete("", response_model=CountOut, dependencies=[OperateAccess])
async def purge(
    service: Service, status: Literal["completed", "failed", "cancelled", "expired"] = Query()
) -> Response:
    """Delete every job in a finished status; returns how many went."""
    return FastJSON({"count": await service.purge(status)})


@router.get(
    "/{job_id}",
    response_model=JobOut,
    dependencies=[ReadAccess],
    name="get_job",
    responses=NOT_FOUND,
)
async def get_job(
    job_id: JobId,
    service: Service,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=60,
            description="Seconds to wait for the job to finish (at most 60): the answer comes "
            "as soon as it does, or with the job as it is when the time runs out.",
        ),
    ] = 0,
) -> Response:
    """Status, result, error and traceback, progress, attempts and timeline of one job, and
    the jobs it waits for and that wait for it (`parent_statuses`, `children`: the first 50
    of each with their statuses). With `wait`, a long poll: answers as soon as the job
    finishes (completed, failed, cancelled or expired), or after `wait` seconds with the
    job as it is then."""
    job = await service.get_job(job_id, wait=wait)
    if job is None:
        raise Problem(404, f"no job {job_id}")
    family = await service.job_relatives(job_id, RELATIVES)
    return FastJSON({**job_dict(job), **relatives_dict(family)})


@router.delete(
    "/{job_id}",
    response_model=JobOut,
    dependencies=[OperateAccess],
    responses={**NOT_FOUND, **CONFLICT},
)
async def cancel_job(job_id: JobId, service: Service) -> Response:
    """Cancel a pending or scheduled job, or a running one wherever it runs (its handler is
    interrupted within a second); answers with the job. A finished job (completed, a dead
    letter, or cancelled) is deleted instead, with its result: answers with the job as it
    was. 409 if it changed state meanwhile."""
    if await service.cancel_job(job_id):
        job = await service.get_job(job_id)
        if job is None:  # purged in between
            raise Problem(404, f"no job {job_id}")
        return FastJSON(job_dict(job))
    job = await service.get_job(job_id)
    if job is None:
        raise Problem(404, f"no job {job_id}")
    if job.status.is_terminal and await service.delete_job(job_id):
        return FastJSON(job_dict(job))
    raise Problem(409, f"job {job_id} is {job.status.value}: try again")
