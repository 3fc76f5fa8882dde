"""`/jobs/workers`: live worker processes, and changing their concurrency."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from jobdeck.core import JobService

from ..deps import OperateAccess, ReadAccess, Service
from ..models import ScaleIn, ScaleOut, WorkersOut
from ..problems import NOT_FOUND, Problem
from ..serialize import FastJSON

router = APIRouter(prefix="/jobs/workers", tags=["workers"])


@router.get("", response_model=WorkersOut, dependencies=[ReadAccess])
async def list_workers(service: Service) -> Response:
    """Every worker process that heartbeated recently."""
    return FastJSON(await workers_reply(service))


async def workers_reply(service: JobService, most: int | None = None) -> dict[str, Any]:
    """The workers as GET /jobs/workers sends them (the first `most`, `omitted` the rest);
    also the `workers` summary of /events."""
    workers = await service.list_workers()
    shown = workers if most is None else workers[:most]
    return {
        "workers": [{**w.to_dict(), "last_heartbeat": w.last_heartbeat} for w in shown],
        "omitted": len(workers) - len(shown),
    }


@router.post("/scale", response_model=ScaleOut, dependencies=[OperateAccess], responses=NOT_FOUND)
async def scale(body: ScaleIn, service: Service) -> Response:
    """`{"concurrency": n}` sets, `{"delta": ±n}` changes the concurrency of `worker_id` (one
    process) or of every live worker (`"*"`, the default)."""
    if (body.concurrency is None) == (body.delta is None):
        raise Problem(422, "give exactly one of concurrency and delta", field="body.concurrency")
    if body.worker_id != "*" and body.worker_id not in {w.id for w in await service.list_workers()}:
        raise Problem(404, "no live worker with that id", field="body.worker_id")
    if body.delta is not None:
        told = await service.scale_workers(body.delta, worker_id=body.worker_id, delta=True)
    else:
        assert body.concurrency is not None
        told = await service.scale_workers(body.concurrency, worker_id=body.worker_id)
    return FastJSON({"told": told})
