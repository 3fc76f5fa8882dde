"""`/limits`: the queue's rate and concurrency limits; read them, set one, remove one.

A limit is set on a key jobs name (`"limit": "stripe"` when submitted), on a template
(`user:*`: each key it covers on its own) or on `*` (every key). A change holds at once for
every worker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from starlette.responses import Response

from ..deps import OperateAccess, ReadAccess, Service
from ..models import Number, Strict, Whole
from ..problems import NO_LIMIT, Problem
from ..serialize import FastJSON

router = APIRouter(prefix="/limits", tags=["limits"])

#: A key, a template (a prefix ending in ':' then '*') or '*' (core.limits.check_limit_key).
Key = Annotated[str, Path(pattern=r"^(\*|[A-Za-z0-9_.:@+-]{1,128}|[A-Za-z0-9_.:@+-]{0,127}:\*)$")]


_RATE: JsonDict = {"required": ["rate"], "properties": {"rate": {"type": "integer"}}}
_CONCURRENCY: JsonDict = {
    "required": ["concurrency"],
    "properties": {"concurrency": {"type": "integer"}},
}


class LimitIn(Strict):
    """At most `concurrency` jobs running at once under each key the limit covers (0: none
    start, the key is paused), at most `rate` starts in any `per` seconds; one or both."""

    # One or both of the figures; `per` other than 1 only with a rate.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {"anyOf": [_CONCURRENCY, _RATE]},
                {"anyOf": [{"properties": {"per": {"const": 1}}}, _RATE]},
            ]
        }
    )

    concurrency: Whole(0, 1_000_000) | None = None  # type: ignore[valid-type]
    rate: Whole(1, 100_000) | None = None  # type: ignore[valid-type]
    per: Annotated[Number, Field(ge=0.001, le=86_400)] = Field(
        1.0, description="seconds `rate` counts over (only with `rate`)"
    )


class LimitOut(BaseModel):
    key: str
    concurrency: int | None = Field(description="jobs at once under each key (0: paused)")
    rate: int | None = Field(description="starts per `per` seconds under each key")
    per: float
    in_use: int = Field(description="jobs running under it now (all its keys, for a template)")
    throttled: int = Field(description="jobs waiting for it to have room")
    template: bool = Field(description="it covers every key starting with its prefix")


class LimitsOut(BaseModel):
    limits: list[LimitOut]


@router.get("", response_model=LimitsOut, dependencies=[ReadAccess])
async def list_limits(service: Service) -> Response:
    """Every limit, by key, with the jobs running and throttled under it."""
    return FastJSON({"limits": [lim.to_dict() for lim in await service.list_limits()]})


@router.put("/{key}", response_model=LimitOut, dependencies=[OperateAccess])
async def put_limit(key: Key, body: LimitIn, service: Service) -> Response:
    """Set the limit on `key`, replacing its earlier one at once."""
    limit = await service.set_limit(key, concurrency=body.concurrency, rate=body.rate, per=body.per)
    return FastJSON(limit.to_dict())


@router.delete("/{key}", status_code=204, responses=NO_LIMIT, dependencies=[OperateAccess])
async def remove_limit(key: Key, service: Service) -> Response:
    """Remove the limit on `key`; the jobs it throttled start as workers take them."""
    if not await service.remove_limit(key):
        raise Problem(404, f"no limit {key}")
    return Response(status_code=204)
