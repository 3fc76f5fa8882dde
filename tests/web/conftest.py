"""Fixtures for the HTTP API: a service on a private Redis or on memory, and an httpx client
speaking ASGI to the app built over it (real HTTP servers are in test_serve.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest

from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.web import ApiKeys, Auth, create_app
from jobdeck.web.auth import parse_key_lines

OPERATE_KEY = "operate-key-0123456789"
READ_KEY = "read-key-0123456789abc"


@pytest.fixture(params=["memory", "redis", "cluster"])
def url(request: pytest.FixtureRequest, prefix: str) -> Iterator[str]:
    """memory, a private redis-server, or the session's 3-master Redis Cluster."""
    if request.param == "cluster":
        yield request.getfixturevalue("redis_cluster").url
        return
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(url, prefix=prefix) as svc:
        yield svc


def keyed_auth() -> Auth:
    return Auth.with_keys(
        ApiKeys(parse_key_lines([f"operate:{OPERATE_KEY}", f"read:{READ_KEY}"], "test"))
    )


ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(service: JobService) -> AsyncIterator[ClientFactory]:
    clients: list[httpx.AsyncClient] = []

    async def make(key: str | None = OPERATE_KEY, **app_options: object) -> httpx.AsyncClient:
        app_options.setdefault("auth", keyed_auth())
        app = create_app(service, **app_options)  # type: ignore[arg-type]
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(make_client: ClientFactory) -> httpx.AsyncClient:
    return await make_client()
