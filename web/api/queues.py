"""`/queues`: the queues under this server's key prefix, for a queue switcher, and an overview
of every one of them (depths, rates, paused, workers). Each is reached under
`/api/v1/queues/{queue}/…` with the routes the served queue has under `/api/v1/…`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from jobdeck.core import JobService

from ..deps import ReadAccess, Service
from ..models import QueuesOut, QueuesOverviewOut
from ..queues import QueueServices, queue_services
from ..serialize import FastJSON

router = APIRouter(prefix="/queues", tags=["queue"])


@router.get("", response_model=QueuesOut, dependencies=[ReadAccess])
async def list_queues(service: Service) -> Response:
    """Every queue under the prefix that has been used, sorted, and the one served here."""
    return FastJSON({"queues": await service.list_queues(), "current": service.queue})


@router.get("/overview", response_model=QueuesOverviewOut, dependencies=[ReadAccess])
async def overview(request: Request, service: Service) -> Response:
    """Every queue's depths, rates over the last minute, pause and workers, sorted by name
    (the served queue among them): at most as many queues as the server keeps open
    (`omitted` says how many more there are)."""
    return FastJSON(await overview_reply(queue_services(request), service.queue))


async def overview_reply(registry: QueueServices, current: str) -> dict[str, Any]:
    """The overview as GET /queues/overview sends it; also the `queues` summary of /events."""
    names = await registry.names()
    shown = names[: registry.max_open]
    services = [await registry.get(name) for name in shown]
    summaries = await asyncio.gather(*(_summary(queue) for queue in services))
    return {"queues": summaries, "current": current, "omitted": len(names) - len(shown)}


async def _summary(service: JobService) -> dict[str, Any]:
    metrics, workers = await asyncio.gather(service.get_metrics(60), service.list_workers())

    def per_second(series: list[int]) -> float:
        whole = series[:-1] or series  # the current second is still filling
        return sum(whole) / len(whole) if whole else 0.0

    return {
        "name": service.queue,
        "depths": metrics.depths,
        "paused": metrics.paused,
        "throttled": metrics.throttled,
        "unserved": metrics.unserved,
        "rates": {
            "submitted": per_second(metrics.submitted_per_second),
            "completed": per_second(metrics.completed_per_second),
            "failed": per_second(metrics.failed_per_second),
        },
        "workers": len(workers),
        "worker_ids": sorted(w.id for w in workers),
        "concurrency": sum(w.concurrency for w in workers),
        "running": sum(w.running for w in workers),
    }
