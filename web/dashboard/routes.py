"""The dashboard's HTTP side: the page's files, and sign-in / sign-out (`/api/v1/session`).

The page is static (HTML, CSS, a few small ES modules shipped in this package) and learns
everything else from the API, like any other client; these routes only trade an API key
for a session cookie and tell the page who it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ..auth import Principal
from ..deps import ReadAccess
from ..problems import Problem
from ..serialize import FastJSON
from .session import COOKIE, SessionCookies

__all__ = ["STATIC", "DashboardFiles", "router"]

STATIC = Path(__file__).with_name("static")

# Defence in depth behind the page's own rule (job data only ever reaches the DOM as text):
# no script, style or connection but the page's own, and no framing by other sites.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

router = APIRouter(prefix="/api/v1", tags=["session"])


class SessionOut(BaseModel):
    scope: str = Field(description="`read` or `operate`")
    via: str = Field(description="how the caller is known: `session`, `api-key` or `open`")
    csrf: str = Field(description="send as `X-CSRF-Token` with every change (cookie sessions)")
    read_only: bool = Field(description="the server refuses every change")
    auth: bool = Field(description="the server asks for a key (false: open)")
    queue: str = Field(description="the queue this server serves")
    server: str = Field(description="where the queue lives, without secrets")
    schedules: bool = Field(description="the server offers `/schedules`")


class DashboardFiles(StaticFiles):
    """The page's files, with the security headers above on every one."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(_HEADERS)
        return response


def _sessions(request: Request) -> SessionCookies | None:
    return getattr(request.app.state, "sessions", None)


def _reply(request: Request, principal: Principal, csrf: str = "") -> dict[str, Any]:
    service = request.app.state.service
    return {
        "scope": "operate" if principal.allows("operate") else "read",
        "via": principal.via,
        "csrf": csrf,
        "read_only": bool(getattr(request.app.state, "read_only", False)),
        "auth": principal.via != "open",
        "queue": service.queue,
        "server": service.description,
        # Tabs for what this server offers (schedules come with their own router).
        "schedules": "/api/v1/schedules" in _paths(request),
    }


@router.get(
    "/session",
    response_model=SessionOut,
    summary="Who is signed in (and the CSRF token of a cookie session)",
)
async def get_session(request: Request, principal: Principal = ReadAccess) -> FastJSON:
    sessions = _sessions(request)
    session = sessions.from_request(request) if sessions and principal.via == "session" else None
    csrf = sessions.csrf_token(session) if sessions and session else ""
    return FastJSON(_reply(request, principal, csrf))


@router.post(
    "/session",
    response_model=SessionOut,
    summary="Sign in with an API key: sets the session cookie",
)
async def create_session(request: Request) -> Response:
    sessions = _sessions(request)
    if sessions is None:  # no keys configured: nothing to sign in to
        return FastJSON(_reply(request, Principal(frozenset({"read", "operate"}), "open")))
    # The gate has checked the content type (JSON only: a cross-site form cannot send it
    # without a CORS preflight) and the body's size before this reads it.
    body = await request.body()
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Problem(422, "body: not valid JSON", field="body") from None
    key = data.get("key") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key:
        raise Problem(422, "key: a non-empty string is required", field="body.key")
    session = sessions.login(key)
    if session is None:
        raise Problem(401, "that API key is not valid here")
    await sessions.start(session)
    principal = Principal(
        frozenset({"read", "operate"}) if session.scope == "operate" else frozenset({"read"}),
        "session",
    )
    response = FastJSON(_reply(request, principal, sessions.csrf_token(session)))
    response.set_cookie(
        COOKIE,
        sessions.encode(session),
        max_age=int(sessions.lifetime),
        path=_cookie_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.delete("/session", status_code=204, summary="Sign out: ends the cookie session")
async def delete_session(request: Request, principal: Principal = ReadAccess) -> Response:
    # Through ReadAccess, a cookie session's DELETE has had its CSRF token checked.
    sessions = _sessions(request)
    session = sessions.from_request(request) if sessions else None
    if sessions and session:
        await sessions.end(session)
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE,
        path=_cookie_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


def _paths(request: Request) -> frozenset[str]:
    """The API's paths, from its OpenAPI document (built once by FastAPI, then cached)."""
    state = request.app.state
    if getattr(state, "dashboard_paths", None) is None:
        state.dashboard_paths = frozenset(request.app.openapi().get("paths", {}))
    return state.dashboard_paths  # type: ignore[no-any-return]


def _cookie_path(request: Request) -> str:
    """The app's own prefix (`/admin/jobs/` when mounted there), so the cookie goes nowhere
    else on the host application."""
    root = request.scope.get("root_path", "") or ""
    return root.rstrip("/") + "/"
