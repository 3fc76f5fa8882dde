"""Every error the API returns, in one shape: `application/problem+json` (RFC 9457).

Routes and handlers raise `Problem`; nothing else builds an error body, so every error has the
same fields (`type`, `title`, `status`, `detail`, and `field` or `errors` for bad input) and
none ever carries a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["CONFLICT", "NOT_FOUND", "PROBLEM_RESPONSES", "Problem", "problem_response"]

PROBLEM_TYPE = "application/problem+json"


class Problem(Exception):
    """An HTTP error with what a caller needs to fix it. `field` names the offending input
    (`body.name`, `query.limit`, `path.job_id`, `header.content-length`)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _phrase(status)
        self.field = field
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def problem_response(problem: Problem) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.field is not None:
        body["field"] = problem.field
    body.update(problem.extra)
    return Response(
        orjson.dumps(body, default=str),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_TYPE,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_TYPE: {"schema": _PROBLEM_SCHEMA}}}


Responses = dict[int | str, dict[str, Any]]  # a route's `responses=`, as FastAPI types it
NOT_FOUND: Responses = {404: _problem("No such job (or worker)")}
NO_LIMIT: Responses = {404: _problem("No limit on that key")}
CONFLICT: Responses = {409: _problem("The job is not in a state that allows this")}

# The errors any route may answer, for the OpenAPI document.
PROBLEM_RESPONSES: Responses = {
    401: _problem("No credentials, or unknown ones"),
    403: _problem("The credentials lack the scope, or the server is read-only"),
    413: _problem("The body is larger than the server accepts"),
    422: _problem("Bad input; `field` names it"),
    503: _problem("The queue's server does not answer; retry after `Retry-After` seconds"),
}
