"""`/vocabulary`: the words the API's replies use (statuses, which of them are finished,
priorities, event types), so a client lists them from the server instead of copying them.
The dashboard builds its counts, its status choices and its event subscriptions from this:
a status or event type the core adds shows there without an edit to the page."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from jobdeck.core import Events, JobPriority, JobStatus
from jobdeck.core.ids import RESERVED_IDS, SCHEDULER_ID_PREFIX

from ..deps import ReadAccess
from ..models import VocabularyOut
from ..serialize import FastJSON

router = APIRouter(tags=["queue"])

_REPLY = {
    "statuses": [status.value for status in JobStatus],
    "finished": [status.value for status in JobStatus if status.is_terminal],
    "priorities": [priority.name.lower() for priority in JobPriority],
    "event_types": [event.value for event in Events],
    "reserved_ids": sorted(RESERVED_IDS),
    "scheduler_id_prefix": SCHEDULER_ID_PREFIX,
}


@router.get("/vocabulary", response_model=VocabularyOut, dependencies=[ReadAccess])
async def vocabulary() -> Response:
    """Every job status (in the order a job passes through them), the finished ones,
    priorities from lowest, every event type `/events` can send, and the words no job id or
    schedule name may be (a client never puts an old record's such id into a path)."""
    return FastJSON(_REPLY)
