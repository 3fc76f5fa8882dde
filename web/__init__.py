"""jobdeck's HTTP surface: `create_app(service)` is an ASGI app (FastAPI) with the JSON API
under `/api/v1`, live events over SSE, Prometheus `/metrics`, and health probes.

Installed with the `web` extra (`pip install "jobdeck[web]"`); `jobdeck serve` runs it.
"""

from __future__ import annotations

from .app import API_PREFIX, create_app
from .auth import ApiKeys, Auth, CredentialSource, Principal

__all__ = ["API_PREFIX", "ApiKeys", "Auth", "CredentialSource", "Principal", "create_app"]
