"""The page outlives its server: when the server goes away the page says so, and when one
comes back (another process sharing the session secret) it resumes the event stream from
the last event id it saw and catches up on what happened meanwhile."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from jobdeck.core import JobService
from jobdeck.web import create_app

from ..redis_server import RedisServer
from .conftest import OPERATE_KEY, QUEUE, keyed_auth
from .served import ServedApp
from .test_browser import press, rows, sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


class EventRequests:
    """ASGI wrapper noting the Last-Event-ID of every request for the event stream."""

    def __init__(self, app: Any) -> None:
        self.app, self.seen = app, []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/api/v1/events"):
            headers = dict(scope["headers"])
            self.seen.append((headers.get(b"last-event-id", b"").decode(), scope["query_string"]))
        await self.app(scope, receive, send)


def test_the_page_resumes_from_the_last_event_after_a_server_restart(
    browser: Any, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBDECK_SESSION_SECRET", "a secret the two server processes share")
    prefix = "reconnect" + str(id(browser) % 10_000)
    make_service = lambda: JobService(redis_server.url, queue=QUEUE, prefix=prefix)  # noqa: E731
    first = ServedApp(make_service, lambda s: create_app(s, auth=keyed_auth())).start()
    try:
        sign_in(browser, first.url, OPERATE_KEY)
        press(browser, "1")
        before = first.call(first.service.submit_job("quick", [1]))  # type: ignore[union-attr]
        until(browser, lambda d: rows(d, before), what="a job before the restart")
        last_seen = first.call(first.service.last_event_id())  # type: ignore[union-attr]
    finally:
        first.stop()
    until(
        browser,
        lambda d: (
            d.find_element(By.ID, "conn").get_attribute("data-state") in ("reconnecting", "offline")
        ),
        what="the page to show the server is gone",
    )

    second = ServedApp(
        make_service, lambda s: EventRequests(create_app(s, auth=keyed_auth())), port=first.port
    )
    # Written while no server was up: the page must catch up on it.
    missed = []
    try:

        async def submit() -> str:
            async with make_service() as service:
                return await service.submit_job("quick", [2])

        import asyncio

        missed.append(asyncio.run(submit()))
        second.start()
        until(
            browser,
            lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "live",
            timeout=20,
            what="the page to reconnect",
        )
        until(browser, lambda d: rows(d, missed[0]), what="the job submitted while away")
        app = second.server.config.app  # type: ignore[union-attr]
        resumed = [header or query.decode() for header, query in app.seen]
        assert resumed and resumed[0].endswith(last_seen), (resumed, last_seen)
        assert browser.find_element(By.ID, "login").is_displayed() is False  # still signed in
    finally:
        second.stop()
