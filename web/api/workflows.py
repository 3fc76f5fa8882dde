"""`/chains` and `/groups`: jobs that run one after the other, and jobs that run in parallel
with one job after them all (issue 23). A job of its own that waits for others is a plain
POST /jobs with `after`."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ..deps import OperateAccess, Service
from ..errors import input_problem
from ..models import BatchOut, ChainIn, GroupIn, GroupOut
from ..serialize import FastJSON
from .jobs import job_spec

__all__ = ["router"]

router = APIRouter(tags=["workflows"])


@router.post("/chains", status_code=201, response_model=BatchOut, dependencies=[OperateAccess])
async def submit_chain(body: ChainIn, service: Service) -> Response:
    """Queue jobs that run in order, each once the one before it completed (one that does
    not complete fails the rest, as each job's `on_parent_failure` says); with
    `pass_results`, each gets the one before's result as its first argument. The ids come
    in order: the last one's result is the chain's. Validated whole first: nothing is queued
    if a job is refused (the error names it, e.g. `body.jobs[2].after`)."""
    try:
        ids = await service.submit_chain(
            [job_spec(job) for job in body.jobs], pass_results=body.pass_results
        )
    except (TypeError, ValueError) as exc:
        raise input_problem(exc) from None
    return FastJSON({"ids": ids, "count": len(ids)}, status_code=201)


@router.post("/groups", status_code=201, response_model=GroupOut, dependencies=[OperateAccess])
async def submit_group(body: GroupIn, service: Service) -> Response:
    """Queue jobs that run in parallel and, with `then`, one job that runs once after all of
    them completed, with the list of their results (in order) as its first argument (up to
    10,000 jobs). Its `on_parent_failure` says what it does if one does not complete."""
    then = None if body.then is None else job_spec(body.then)
    try:
        group = await service.submit_group([job_spec(job) for job in body.jobs], then=then)
    except (TypeError, ValueError) as exc:
        raise input_problem(exc) from None
    return FastJSON({"ids": group.ids, "then_id": group.then_id}, status_code=201)
