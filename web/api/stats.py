"""`/jobs/metrics`: depths, totals, rates, wait and run times."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from ..deps import ReadAccess, Service
from ..models import MetricsOut
from ..serialize import FastJSON, metrics_dict

router = APIRouter(prefix="/jobs/metrics", tags=["metrics"])


@router.get("", response_model=MetricsOut, dependencies=[ReadAccess])
async def get_metrics(
    service: Service, window: Annotated[int, Query(ge=1, le=900)] = 60
) -> Response:
    """What `JobService.get_metrics(window)` returns: per-second series over `window` s."""
    return FastJSON(metrics_dict(await service.get_metrics(window)))
