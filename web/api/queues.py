"""`/queues`: the queues under this server's key prefix, for a queue switcher. The API
itself serves one queue (the one `jobdeck serve --queue` names); a client that wants
another points at the server started for it."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ..deps import ReadAccess, Service
from ..models import QueuesOut
from ..serialize import FastJSON

router = APIRouter(prefix="/queues", tags=["queue"])


@router.get("", response_model=QueuesOut, dependencies=[ReadAccess])
async def list_queues(service: Service) -> Response:
    """Every queue under the prefix that has been used, sorted, and the one served here."""
    return FastJSON({"queues": await service.list_queues(), "current": service.queue})
