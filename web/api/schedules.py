"""`/schedules`: the queue's cron and interval schedules; read them, create or change one,
pause, resume, trigger or remove it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from ..deps import OperateAccess, ReadAccess, Service
from ..models import JsonArgs, JsonKwargs, Number, PriorityName, Whole
from ..problems import Problem
from ..serialize import FastJSON

router = APIRouter(prefix="/schedules", tags=["schedules"])

Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class ScheduleIn(BaseModel):
    """A schedule's definition: exactly one of `cron` (5 fields, in `timezone`) and `every`
    (whole seconds). Strictly typed, as a job's body: `"every": true` or `"60"` is refused
    (lax parsing made `true` a one-second schedule)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    job: Annotated[str, Field(min_length=1, max_length=200)]
    cron: Annotated[str, Field(max_length=200)] | None = None
    every: Whole(1, 366 * 24 * 3600) | None = None  # type: ignore[valid-type]
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    args: JsonArgs = Field(default_factory=list)
    kwargs: JsonKwargs = Field(default_factory=dict)
    priority: Whole(0, 3) | PriorityName = "normal"  # type: ignore[valid-type]
    max_retries: Whole(0, 1_000_000) = 0  # type: ignore[valid-type]
    timeout: Annotated[Number, Field(gt=0, le=10**9)] | None = None
    missed: Literal["latest", "skip"] = "latest"


class ScheduleOut(BaseModel):
    name: str
    job: str
    cron: str | None
    every: float | None
    timezone: str
    paused: bool
    next_fire: float | None
    last_fire: float | None
    last_job_id: str | None
    last_status: str | None
    missed: str
    args: list[Any]
    kwargs: dict[str, Any]
    priority: int
    max_retries: int
    timeout: float | None
    error: str | None
    unserved: bool = Field(
        False, description="no live worker serves the schedule's queue: nothing fires it"
    )


class SchedulesOut(BaseModel):
    schedules: list[ScheduleOut]


class TriggeredOut(BaseModel):
    job_id: str


@router.get("", response_model=SchedulesOut, dependencies=[ReadAccess])
async def list_schedules(service: Service) -> Response:
    """Every schedule, by name, with its next and last fire and the last job's outcome."""
    return FastJSON({"schedules": [s.to_dict() for s in await service.list_schedules()]})


@router.get("/{name}", response_model=ScheduleOut, dependencies=[ReadAccess])
async def get_schedule(name: Name, service: Service) -> Response:
    info = await service.get_schedule(name)
    if info is None:
        raise Problem(404, f"no schedule {name}")
    return FastJSON(info.to_dict())


@router.put("/{name}", response_model=ScheduleOut, dependencies=[OperateAccess])
async def put_schedule(name: Name, body: ScheduleIn, service: Service) -> Response:
    """Create or change a schedule. A changed timing moves its next fire; a paused one stays
    paused."""
    info = await service.add_schedule(name, **body.model_dump())
    return FastJSON(info.to_dict())


async def _known(name: str, call: Any) -> Any:
    try:
        return await call
    except KeyError:
        raise Problem(404, f"no schedule {name}") from None


@router.post("/{name}/pause", response_model=ScheduleOut, dependencies=[OperateAccess])
async def pause(name: Name, service: Service) -> Response:
    await _known(name, service.pause_schedule(name))
    return await get_schedule(name, service)


@router.post("/{name}/resume", response_model=ScheduleOut, dependencies=[OperateAccess])
async def resume(name: Name, service: Service) -> Response:
    await _known(name, service.resume_schedule(name))
    return await get_schedule(name, service)


@router.post(
    "/{name}/trigger", response_model=TriggeredOut, status_code=202, dependencies=[OperateAccess]
)
async def trigger(name: Name, service: Service) -> Response:
    """Queue the schedule's job now; its regular ticks are unchanged."""
    job_id = await _known(name, service.trigger_schedule(name))
    return FastJSON({"job_id": job_id}, status_code=202)


@router.delete("/{name}", status_code=204, dependencies=[OperateAccess])
async def remove(name: Name, service: Service) -> Response:
    if not await service.remove_schedule(name):
        raise Problem(404, f"no schedule {name}")
    return Response(status_code=204)
