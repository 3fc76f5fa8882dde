"""FastAPI dependencies every router shares: the service, and the access each route needs.

Both read what `create_app` put on `app.state`, so routers stay plain module-level objects
and one app can be built many times (tests, several queues in one process).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from jobdeck.core import JobService

from .auth import Principal
from .queues import SCOPED_SERVICE

__all__ = ["OperateAccess", "ReadAccess", "Service", "operating"]


async def _service(request: Request) -> JobService:
    """The served queue's service, or under `/queues/{queue}/` that queue's (`queues.py`)."""
    scoped = request.scope.get(SCOPED_SERVICE)
    return scoped if scoped is not None else request.app.state.service  # type: ignore[no-any-return]


# How to authenticate is declared once for the whole OpenAPI document (`create_app`), not
# as per-route security dependencies: each would be solved on every request. The gate
# (gate.py) has identified the caller before the body was read; these check the scope a
# route declares against that principal.
async def _read(request: Request) -> Principal:
    return await request.app.state.auth.check(request, "read")  # type: ignore[no-any-return]


async def _operate(request: Request) -> Principal:
    return await request.app.state.auth.check(request, "operate")  # type: ignore[no-any-return]


Service = Annotated[JobService, Depends(_service)]
ReadAccess = Depends(_read)
OperateAccess = Depends(_operate)


async def operating(request: Request) -> JobService:
    """`OperateAccess` and `Service` in one call, for the submit routes, which call it first
    thing instead of declaring the two dependencies: FastAPI solves declared dependencies
    on every request, a third of a one-job submit's time in the app. The gate has refused
    a caller without the operate scope before the body was read, so the order of this
    check and the body's validation never shows."""
    await _operate(request)
    return await _service(request)
