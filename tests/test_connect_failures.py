"""Both of jobdeck's own Redis connections, the loop's (`FastConnection`) and the calling
thread's (`BlockingConnection`), say alike, in one line, why connecting failed: they read the
reason from one place (`ConnectOptions.failure`). Real sockets: a port nobody listens on, a
host that does not resolve, a port that accepts and never answers a TLS handshake."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from jobdeck.core.backend.blocking import BlockingConnection
from jobdeck.core.backend.fastpath import FastConnection

from .redis_server import free_port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


async def _reasons(url: str) -> tuple[str, str]:
    fast = FastConnection(url, connect_timeout=0.5)
    with pytest.raises(RedisConnectionError) as from_loop:
        await fast.execute("PING")
    fast.abort()
    blocking = BlockingConnection(url, connect_timeout=0.5)
    with pytest.raises(RedisConnectionError) as from_thread:
        blocking.execute("PING")
    blocking.close()
    return str(from_loop.value), str(from_thread.value)


async def test_a_refused_port() -> None:
    assert await _reasons(f"redis://127.0.0.1:{free_port()}") == ("connection refused",) * 2


async def test_an_unknown_host() -> None:
    reason = "unknown host 'no-such-host.invalid'"
    assert await _reasons("redis://no-such-host.invalid:6379") == (reason,) * 2


async def test_a_tls_handshake_nobody_answers(silent_port: int) -> None:
    url = f"rediss://127.0.0.1:{silent_port}?ssl_cert_reqs=none"
    reason = "no answer within 0.5s (a TLS handshake: is this the server's TLS port?)"
    assert await _reasons(url) == (reason,) * 2
