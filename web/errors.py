"""The one place that turns what went wrong into an HTTP status.

The core reports bad input as `ValueError`/`TypeError` whose message starts with the field at
fault ("priority: expected one of ..."), an unreachable server as a redis or OS error, and
anything else is a bug: each becomes a `Problem`, so a client never sees a traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from jobdeck.core.errors import OutOfMemory

from .problems import Problem, problem_response

__all__ = [
    "RETRY_AFTER",
    "input_problem",
    "install_error_handlers",
    "unavailable",
    "validation_problem",
]

log = logging.getLogger("jobdeck.web")

RETRY_AFTER = 5  # seconds a client should wait when the queue's server does not answer
# The core's messages start with where the fault is: "job 3: after: ...", "then: expires: ..."
_FIELD = re.compile(r"^(?:(?:job \d+|[A-Za-z_][A-Za-z0-9_]*): ){1,3}")
_JOB = re.compile(r"^job (\d+)$")


def input_problem(exc: Exception, where: str = "body", *, batch: str = "jobs") -> Problem:
    """A 422 for the core's validation error, naming the field its message starts with
    (`body.jobs[3].after`, `body.then.expires`)."""
    message = str(exc)
    match = _FIELD.match(message)
    field = None
    if match:
        field = where
        for part in match.group(0).split(": ")[:-1]:
            job = _JOB.match(part)
            field += f".{batch}[{job.group(1)}]" if job else f".{part}"
    return Problem(422, message, title="Invalid input", field=field)


def unavailable(exc: BaseException) -> Problem:
    return Problem(
        503,
        f"the queue's server does not answer ({type(exc).__name__}); retry later",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


def out_of_memory_problem(exc: OutOfMemory) -> Problem:
    """507: the server is full; what a bulk submit did queue is named, so nothing is lost."""
    extra = {"accepted": exc.accepted} if exc.accepted else None
    return Problem(
        507,
        str(exc),
        title="Queue server out of memory",
        headers={"Retry-After": str(RETRY_AFTER)},
        extra=extra,
    )


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validation_field(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "jobs", 3, "priority", "constrained-int")` -> `body.jobs[3].priority`:
    the names of a union's branches that pydantic adds are not fields."""
    parts: list[str] = []
    for index, part in enumerate(loc):
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
        elif index == 0 or _NAME.match(str(part)) or loc[0] != "body":
            parts.append(str(part))
    return ".".join(parts)


def validation_problem(errors: list[Any], prefix: tuple[str, ...] = ()) -> Problem:
    """One 422 for pydantic's errors: `field` is the first field at fault, `errors` lists
    every field with its messages (a union's alternatives joined with "or")."""
    merged: dict[str, list[str]] = {}
    for error in errors:
        field = validation_field((*prefix, *error.get("loc", ())))
        message = str(error.get("msg", "invalid"))
        if message not in merged.setdefault(field, []):
            merged[field].append(message)
    if not merged:
        merged = {"body": ["invalid"]}
    listed = [{"field": f, "message": " or ".join(m)} for f, m in merged.items()]
    first = listed[0]
    return Problem(
        422,
        f"{first['field']}: {first['message']}",
        title="Invalid input",
        field=first["field"],
        extra={"errors": listed},
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method the API documents at this path (a path such as /jobs is served by
    several routes, one per method; the router, and a catch-all behind it such as the
    dashboard's files, would name only one)."""
    state = request.app.state
    table = getattr(state, "method_table", None)
    if table is None:
        table = []
        for template, operations in request.app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
            methods = {m.upper() for m in operations if m.isalpha()}
            if "GET" in methods:
                methods.add("HEAD")
            table.append((template.count("{"), re.compile(f"^{pattern}$"), methods))
        state.method_table = table
    root = request.scope.get("root_path", "")
    path = request.scope["path"]
    path = path[len(root) :] if root and path.startswith(root) else path
    # The most literal template wins (/jobs/metrics over /jobs/{job_id}), as in routing.
    found: dict[int, set[str]] = {}
    for params, regex, methods in table:
        if regex.match(path):
            found.setdefault(params, set()).update(methods)
    return sorted(found[min(found)]) if found else []


def install_error_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(list(exc.errors())))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 400:  # FastAPI's "error parsing the body": bad input like any
            return problem_response(
                Problem(422, "body: not valid JSON (UTF-8)", title="Invalid input", field="body")
            )
        if exc.status_code in (404, 405):
            # A path some route serves with other methods is a 405 even when a catch-all
            # (the dashboard's files at /) answered 404 for it.
            allowed = allowed_methods(request)
            if allowed and request.method not in allowed:
                headers["Allow"] = ", ".join(allowed)
                return problem_response(Problem(405, "Method Not Allowed", headers=headers))
        return problem_response(Problem(exc.status_code, str(exc.detail), headers=headers))

    async def on_full(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, OutOfMemory)
        log.warning("queue server out of memory: %s", exc)
        return problem_response(out_of_memory_problem(exc))

    async def on_unreachable(_: Request, exc: Exception) -> Response:
        log.warning("queue server unreachable: %s", type(exc).__name__)
        return problem_response(unavailable(exc))

    async def on_bad_input(_: Request, exc: Exception) -> Response:
        return problem_response(input_problem(exc))

    async def on_bug(request: Request, exc: Exception) -> Response:
        log.error("error serving %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(Problem(500, "internal error; the server log has the details"))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(OutOfMemory, on_full)
    app.add_exception_handler(RedisError, on_unreachable)
    app.add_exception_handler(OSError, on_unreachable)
    app.add_exception_handler(ValueError, on_bad_input)
    app.add_exception_handler(TypeError, on_bad_input)
    app.add_exception_handler(Exception, on_bug)
