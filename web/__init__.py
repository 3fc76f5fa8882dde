"""jobdeck's HTTP surface: `create_app(service)` is an ASGI app (FastAPI) with the JSON API
under `/api/v1`, live events over SSE, Prometheus `/metrics`, and health probes.

Installed with the `web` extra (`pip install "jobdeck[web]"`); `jobdeck serve` runs it.
"""

from __future__ import annotations

if __name__ != "jobdeck.web":  # pragma: no cover - the folder imported under its own name
    raise ImportError(
        f"this folder is the package jobdeck.web; import it by that name, not {__name__!r} "
        "(`pip install -e .` from the checkout makes it importable)"
    )

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import API_PREFIX, create_app
    from .auth import ApiKeys, Auth, CredentialSource, Principal

__all__ = ["API_PREFIX", "ApiKeys", "Auth", "CredentialSource", "Principal", "create_app"]

# Loaded on first use: `jobdeck stats` (which imports jobdeck.web.cli to list `serve`) must
# not pay for FastAPI, nor import what it imports (pydantic imports pickle).
_FROM = {"API_PREFIX": "app", "create_app": "app"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{_FROM.get(name, 'auth')}", __name__)
    return getattr(module, name)
