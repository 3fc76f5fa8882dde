"""`create_app(service)`: the ASGI application `jobdeck serve` runs, mountable anywhere.

Everything a route needs is put on `app.state` (the service, the auth policy, read-only,
the SSE heartbeat), so the routers are plain module-level objects and the same code serves
any number of apps in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from jobdeck.core import JobService, __version__

from .api import QUEUE_ROUTERS, ROUTERS
from .apidocs import install_api_docs
from .auth import Auth
from .errors import RETRY_AFTER, install_error_handlers
from .gate import AccessRules, Gate
from .limits import MAX_BODY, BodyLimits
from .models import JSON_VALUE
from .problems import NOT_FOUND, PROBLEM_RESPONSES, Problem
from .prom import metrics_router
from .queues import QueueScope, QueueServices
from .serialize import FastJSON

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"
READY_WITHIN = 1.0  # seconds /readyz waits for the queue's server before it answers 503


def create_app(
    service: JobService,
    *,
    auth: Auth | None = None,
    read_only: bool = False,
    open_metrics: bool = False,
    open_health: bool = True,
    max_body: int = MAX_BODY,
    body_limits: BodyLimits | None = None,
    allowed_hosts: Iterable[str] | None = None,
    heartbeat: float = 15.0,
    summary_interval: float = 2.0,
) -> FastAPI:
    """The HTTP API over `service`.

    `auth` None means no authentication (for an app mounted behind its host's own); `jobdeck
    serve` passes the configured API keys. `read_only` refuses every operate endpoint (403).
    `/healthz` and `/readyz` answer without a key (`open_health`; they reveal nothing);
    `open_metrics` opens /metrics too, for a Prometheus without credentials.
    `allowed_hosts` (names or addresses, `*` for any) refuses requests for other `Host`s:
    a keyless server on loopback is otherwise reachable by DNS rebinding. Every request
    passes the gate (`gate.py`) first. The caller owns `service` (initializes and closes
    it); the app only uses it.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        hub = getattr(app.state, "event_hub", None)
        if hub is not None:
            await hub.close()
        await app.state.queues.close()

    app = FastAPI(
        title="jobdeck",
        version=__version__,
        summary="Submit, inspect and steer the jobs of one jobdeck queue.",
        default_response_class=FastJSON,
        responses=PROBLEM_RESPONSES,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load their scripts from a CDN: ours ship in the
        redoc_url=None,  # package (apidocs/)
    )
    app.state.service = service
    app.state.auth = auth or Auth.open()
    app.state.read_only = read_only
    app.state.open_metrics = open_metrics
    app.state.heartbeat = heartbeat
    app.state.summary_interval = summary_interval  # seconds between summary reads (/events)
    app.state.event_hub = None
    app.state.queues = QueueServices(service)
    app.state.body_limits = body_limits or BodyLimits(max_bytes=max_body)
    app.state.allowed_hosts = (
        None if allowed_hosts is None else frozenset(h.strip("[]").lower() for h in allowed_hosts)
    )
    app.state.access = AccessRules(sign_in=f"{API_PREFIX}/session")
    app.state.access.open_paths(
        (["/healthz", "/readyz"] if open_health else []) + (["/metrics"] if open_metrics else [])
    )
    install_error_handlers(app)
    _add_routes(app, ROUTERS, API_PREFIX)
    # The same routes for any queue under the prefix: /api/v1/queues/{queue}/jobs, ...
    _add_routes(app, QUEUE_ROUTERS, API_PREFIX + "/queues/{queue}", [QueueScope], NOT_FOUND)
    app.include_router(_health_router())
    app.include_router(metrics_router())
    install_api_docs(app)
    app.add_middleware(Gate)
    _mount_dashboard(app)
    _document_json_values(app)
    return app


def _document_json_values(app: FastAPI) -> None:
    """The `JsonValue` schema that job args and kwargs refer to (pydantic cannot declare a
    recursive schema for `Any`), and how to authenticate, in the document's components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema.setdefault("components", {}).setdefault("schemas", {})["JsonValue"] = JSON_VALUE
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_routes(
    app: FastAPI,
    routers: tuple[APIRouter, ...],
    prefix: str,
    dependencies: Sequence[Any] = (),
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> None:
    """Every route of the resource routers declared on the app itself (with `dependencies`
    solved first, and `responses` documented besides each route's own). Routing through
    included routers costs FastAPI a match per router per request (a third of a GET's
    function calls, measured); declared directly, a request is matched once."""
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                app.router.routes.append(route)
                continue
            app.add_api_route(
                prefix + route.path,
                route.endpoint,
                response_model=route.response_model,
                status_code=route.status_code,
                tags=route.tags,
                dependencies=[*dependencies, *route.dependencies],
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses={**(responses or {}), **route.responses},
                deprecated=route.deprecated,
                methods=sorted(route.methods or ()),
                operation_id=route.operation_id,
                include_in_schema=route.include_in_schema,
                response_class=route.response_class,
                name=route.name,
                openapi_extra=route.openapi_extra,
            )


def _mount_dashboard(app: FastAPI) -> None:
    """The dashboard (web/dashboard/, when present) serves `/` of the app."""
    try:
        dashboard = importlib.import_module("jobdeck.web.dashboard")
    except ImportError:
        return
    dashboard.mount(app)


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> Response:
        """The process is up and serving (no check of the queue's server)."""
        return FastJSON({"status": "ok"})

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        """The queue's server answers within a second; 503 with Retry-After if not (the
        service's own retries would take seconds: longer than a probe waits)."""
        try:
            async with asyncio.timeout(READY_WITHIN):
                await request.app.state.service.last_event_id()  # errors: 503 (errors.py)
        except TimeoutError:
            raise Problem(
                503,
                f"the queue's server did not answer within {READY_WITHIN:g} s",
                headers={"Retry-After": str(RETRY_AFTER)},
            ) from None
        return FastJSON({"status": "ready"})

    return router
