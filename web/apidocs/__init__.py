"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc` (Redoc), served from
files shipped in this package: they work offline and load nothing from another host.

FastAPI's own pages load their scripts from a CDN (a floating major version, no integrity)
on the dashboard's origin, where such a script could read the CSRF token and act as the
operator. These pages run only the vendored, pinned copies in `static/vendor/` (see
`vendor.py`, which refreshes them from the npm registry), under a policy that allows no
other script and no framing. Like every path the gate does not open by name, the pages,
their files and `/openapi.json` need a credential (the dashboard's sign-in cookie, in a
browser).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["DOCS_HEADERS", "install_api_docs"]

STATIC = Path(__file__).with_name("static")

# Swagger UI sets style attributes and Redoc writes <style> elements (hence inline styles);
# Redoc's search runs in a worker made from a blob. No script but these files, no framing.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


class _DocsFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(DOCS_HEADERS)
        return response


def install_api_docs(app: FastAPI) -> None:
    """`/docs`, `/redoc` and their files (`/docs/assets/...`) on `app`, which must have
    been made with `docs_url=None, redoc_url=None` (FastAPI's CDN pages)."""

    async def swagger_ui(request: Request) -> Response:
        return FileResponse(STATIC / "docs.html", headers=DOCS_HEADERS)

    async def redoc(request: Request) -> Response:
        return FileResponse(STATIC / "redoc.html", headers=DOCS_HEADERS)

    app.add_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    app.mount("/docs/assets", _DocsFiles(directory=STATIC), name="docs-assets")
