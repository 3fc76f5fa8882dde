"""Sign-out holds everywhere: two `jobdeck serve` processes sharing JOBDECK_SESSION_SECRET
and a Redis accept one sign-in; signing out at one ends it at the other and after a
restart, while a session nobody ended survives the restart (real processes, real HTTP)."""

from __future__ import annotations

import httpx
import pytest

from ..web.serve_process import ServeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
KEY = "operate-key-0123456789-shared"


def _sign_in(base: str) -> tuple[str, str]:
    reply = httpx.post(f"{base}/api/v1/session", json={"key": KEY})
    assert reply.status_code == 200, reply.text
    return reply.cookies["jobdeck_session"], reply.json()["csrf"]


def _status(base: str, cookie: str) -> int:
    return httpx.get(f"{base}/api/v1/jobs", cookies={"jobdeck_session": cookie}).status_code


def test_sign_out_holds_across_processes_and_restarts(redis_url: str, prefix: str) -> None:
    env = {"JOBDECK_API_KEYS": f"operate:{KEY}", "JOBDECK_SESSION_SECRET": "shared-secret-0123"}
    args = ("--url", redis_url, "--prefix", prefix)
    one, two = ServeProcess(*args, env=env).start(), ServeProcess(*args, env=env).start()
    try:
        ended, csrf = _sign_in(one.base_url)
        kept, _ = _sign_in(one.base_url)
        assert _status(two.base_url, ended) == 200  # one secret: either process reads it
        out = httpx.delete(
            f"{two.base_url}/api/v1/session",
            cookies={"jobdeck_session": ended},
            headers={"X-CSRF-Token": csrf},
        )
        assert out.status_code == 204
        assert _status(one.base_url, ended) == 401  # signed out at two: ended at one too
        one.stop()
        one = ServeProcess(*args, env=env).start()
        assert _status(one.base_url, ended) == 401  # and after a restart
        assert _status(one.base_url, kept) == 200  # a session nobody ended survives it
    finally:
        one.stop()
        two.stop()
