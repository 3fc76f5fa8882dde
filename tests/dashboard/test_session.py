"""Sign-in for the dashboard, over ASGI: the cookie's flags, CSRF on every unsafe request,
sign-out, expiry and tampering, the page's files and headers, and mounting under a prefix."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.web import create_app

from .conftest import OPERATE_KEY, READ_KEY, keyed_auth


@pytest.fixture
async def service(prefix: str) -> AsyncIterator[JobService]:
    async with JobService(f"memory://{prefix}", prefix=prefix) as svc:
        yield svc
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


def client_for(app: object, base: str = "http://test") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


async def sign_in(client: httpx.AsyncClient, key: str, path: str = "/api/v1/session") -> dict:
    reply = await client.post(path, json={"key": key})
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_sign_in_sets_a_strict_httponly_expiring_cookie(service: JobService) -> None:
    async with client_for(create_app(service, auth=keyed_auth())) as client:
        assert (await client.get("/api/v1/session")).status_code == 401
        reply = await client.post("/api/v1/session", json={"key": OPERATE_KEY})
        cookie = reply.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=" in cookie
        assert "Path=/;" in cookie and "Secure" not in cookie  # plain http: no Secure
        assert OPERATE_KEY not in reply.text and OPERATE_KEY not in cookie
        session = reply.json()
        assert session["scope"] == "operate" and session["csrf"]
        assert (await client.get("/api/v1/session")).json()["csrf"] == session["csrf"]
        assert (await client.get("/api/v1/jobs/metrics")).status_code == 200


async def test_over_https_the_cookie_is_secure(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth())
    async with client_for(app, "https://test") as client:
        reply = await client.post("/api/v1/session", json={"key": READ_KEY})
        assert "Secure" in reply.headers["set-cookie"]


async def test_wrong_key_and_bad_bodies_are_refused_naming_the_field(service: JobService) -> None:
    async with client_for(create_app(service, auth=keyed_auth())) as client:
        wrong = await client.post("/api/v1/session", json={"key": "x" * 20})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        assert wrong.headers["content-type"] == "application/problem+json"
        form = await client.post("/api/v1/session", data={"key": OPERATE_KEY})
        assert form.status_code == 415  # a cross-site form cannot sign anyone in
        empty = await client.post("/api/v1/session", json={"key": ""})
        assert empty.status_code == 422 and empty.json()["field"] == "body.key"
        junk = await client.post(
            "/api/v1/session", content=b"{", headers={"content-type": "application/json"}
        )
        assert junk.status_code == 422


async def test_unsafe_requests_need_the_csrf_token(service: JobService) -> None:
    async with client_for(create_app(service, auth=keyed_auth())) as client:
        csrf = (await sign_in(client, OPERATE_KEY))["csrf"]
        assert (await client.post("/api/v1/queue/pause")).status_code == 403
        forged = await client.post("/api/v1/queue/pause", headers={"X-CSRF-Token": "forged"})
        assert forged.status_code == 403 and forged.json()["field"] == "header.x-csrf-token"
        assert (await service.get_metrics()).paused is False
        ok = await client.post("/api/v1/queue/pause", headers={"X-CSRF-Token": csrf})
        assert ok.status_code < 300 and (await service.get_metrics()).paused is True


async def test_a_read_session_cannot_operate(service: JobService) -> None:
    async with client_for(create_app(service, auth=keyed_auth())) as client:
        session = await sign_in(client, READ_KEY)
        assert session["scope"] == "read"
        reply = await client.post("/api/v1/queue/pause", headers={"X-CSRF-Token": session["csrf"]})
        assert reply.status_code == 403


async def test_read_only_server_says_so(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth(), read_only=True)
    async with client_for(app) as client:
        session = await sign_in(client, OPERATE_KEY)
        assert session["read_only"] is True
        reply = await client.post("/api/v1/queue/pause", headers={"X-CSRF-Token": session["csrf"]})
        assert reply.status_code == 403


async def test_sign_out_ends_the_session_even_if_the_cookie_is_replayed(
    service: JobService,
) -> None:
    async with client_for(create_app(service, auth=keyed_auth())) as client:
        csrf = (await sign_in(client, OPERATE_KEY))["csrf"]
        stolen = client.cookies.get("jobdeck_session")
        assert (await client.delete("/api/v1/session")).status_code == 403  # CSRF here too
        out = await client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204 and "jobdeck_session=" in out.headers["set-cookie"]
        client.cookies.set("jobdeck_session", stolen)
        assert (await client.get("/api/v1/session")).status_code == 401


async def test_expired_or_tampered_cookies_mean_sign_in_again(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth())
    async with client_for(app) as client:
        await sign_in(client, READ_KEY)
        value = client.cookies.get("jobdeck_session")
        body, _, signature = value.partition(".")
        client.cookies.set(
            "jobdeck_session",
            body.replace(body[5], "A" if body[5] != "A" else "B") + "." + signature,
        )
        assert (await client.get("/api/v1/session")).status_code == 401
        sessions = app.state.sessions
        session = sessions.decode(value)
        expired = sessions.encode(dataclasses.replace(session, expires=time.time() - 1))
        client.cookies.set("jobdeck_session", expired)
        reply = await client.get("/api/v1/jobs")
        assert reply.status_code == 401 and "sign in again" in reply.json()["detail"]


async def test_the_page_ships_with_its_assets_and_a_strict_policy(service: JobService) -> None:
    async with client_for(create_app(service, auth=keyed_auth())) as client:
        page = await client.get("/")
        assert page.status_code == 200 and 'id="login-form"' in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        for asset in ("dashboard.css", "js/main.js", "js/live.js", "js/api.js"):
            assert (await client.get(f"/{asset}")).status_code == 200, asset
        assert "http" not in page.text.replace("http-equiv", "")  # no CDN, nothing remote
        # Beyond the page's own files, nothing answers a caller without credentials, not
        # even whether a path exists.
        assert (await client.get("/api/v1/nope")).status_code == 401
        assert (await client.get("/nope.js")).status_code == 401
        keyed = {"Authorization": f"Bearer {OPERATE_KEY}"}
        assert (await client.get("/api/v1/nope", headers=keyed)).status_code == 404


async def test_mounted_under_a_prefix_of_a_host_application(service: JobService) -> None:
    host = FastAPI()
    host.mount("/admin/jobs", create_app(service, auth=keyed_auth()))
    async with client_for(host) as client:
        bare = await client.get("/admin/jobs")
        assert bare.status_code in (307, 308) and bare.headers["location"].endswith("/admin/jobs/")
        assert 'id="login-form"' in (await client.get("/admin/jobs/")).text
        reply = await client.post("/admin/jobs/api/v1/session", json={"key": OPERATE_KEY})
        assert "Path=/admin/jobs/;" in reply.headers["set-cookie"]
        assert (await client.get("/admin/jobs/api/v1/jobs/metrics")).status_code == 200


async def test_without_keys_the_page_needs_no_sign_in(service: JobService) -> None:
    async with client_for(create_app(service)) as client:
        session = (await client.get("/api/v1/session")).json()
        assert session["auth"] is False and session["scope"] == "operate"


def test_the_page_script_never_parses_strings_as_html() -> None:
    """Job data reaches the DOM as text only: no script in the page can turn a string into
    markup (the browser tests check the rendered result with hostile strings)."""
    from jobdeck.web.dashboard.routes import STATIC

    sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(")
    for path in (STATIC / "js").glob("*.js"):
        code = "\n".join(
            line for line in path.read_text().splitlines() if not line.lstrip().startswith("//")
        )
        assert not [sink for sink in sinks if sink in code], path.name


async def test_open_sessions_keep_their_bound(service: JobService) -> None:
    """Past the cap, the sessions expiring first are ended (their people sign in again):
    the store of sessions never grows without bound, and never resurrects one."""
    app = create_app(service, auth=keyed_auth())
    app.state.sessions.store.cap = 3
    cookies = []
    for _ in range(5):
        async with client_for(app) as client:
            await sign_in(client, READ_KEY)
            cookies.append(client.cookies.get("jobdeck_session"))
    async with client_for(app) as client:
        codes = []
        for cookie in cookies:
            client.cookies.set("jobdeck_session", cookie)
            codes.append((await client.get("/api/v1/jobs")).status_code)
    assert codes.count(401) == 2 and codes.count(200) == 3, codes
