"""The browser dashboard: a static page over the API, plus sign-in with a session cookie.

`mount(app)` is called by `create_app` last (its files are mounted at `/`
of the app, after every API route, so they catch only what the API does not answer).
"""

from __future__ import annotations

from fastapi import FastAPI

from ..auth import Auth
from .routes import STATIC, DashboardFiles, router
from .session import SessionCookies, keys_of

__all__ = ["install_dashboard", "mount"]


def install_dashboard(app: FastAPI, auth: Auth) -> None:
    """Serve the page at `/` and accept session cookies wherever API keys are accepted."""
    keys = keys_of(auth)
    if auth.required and keys:
        sessions = SessionCookies(keys, app.state.service.sessions())
        auth.add_source(sessions)
        app.state.sessions = sessions
    app.include_router(router)
    app.mount("/", DashboardFiles(directory=STATIC, html=True), name="dashboard")
    # The page and its files load before anyone signs in (the gate opens them, nothing else).
    app.state.access.open_files(["", *(entry.name for entry in STATIC.iterdir())])


def mount(app: FastAPI) -> None:
    """`install_dashboard` with the auth policy `create_app` put on the app's state."""
    install_dashboard(app, app.state.auth)
