"""FastAPI dependencies every router shares: the service, and the access each route needs.

Both read what `create_app` put on `app.state`, so routers stay plain module-level objects
and one app can be built many times (tests, several queues in one process).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from jobdeck.core import JobService

from .auth import Principal

__all__ = ["OperateAccess", "ReadAccess", "Service"]

# Declared for the OpenAPI document (so clients see how to authenticate); the check itself
# is `Auth.check`, which also consults the app's other credential sources.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key")


def _service(request: Request) -> JobService:
    return request.app.state.service  # type: ignore[no-any-return]


async def _read(
    request: Request,
    _b: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _k: Annotated[str | None, Security(_header)],
) -> Principal:
    return await request.app.state.auth.check(request, "read")  # type: ignore[no-any-return]


async def _operate(
    request: Request,
    _b: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _k: Annotated[str | None, Security(_header)],
) -> Principal:
    return await request.app.state.auth.check(request, "operate")  # type: ignore[no-any-return]


Service = Annotated[JobService, Depends(_service)]
ReadAccess = Depends(_read)
OperateAccess = Depends(_operate)
