"""`/queue`: pause and resume taking new jobs (running jobs go on)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ..deps import OperateAccess, Service
from ..models import PausedOut
from ..serialize import FastJSON

router = APIRouter(prefix="/queue", tags=["queue"])


@router.post("/pause", response_model=PausedOut, dependencies=[OperateAccess])
async def pause(service: Service) -> Response:
    await service.pause_queue()
    return FastJSON({"paused": True})


@router.post("/resume", response_model=PausedOut, dependencies=[OperateAccess])
async def resume(service: Service) -> Response:
    await service.resume_queue()
    return FastJSON({"paused": False})
