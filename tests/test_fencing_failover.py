"""Fencing tokens stay unique across a failover that loses the newest writes (issue 28,
item 9). A real master and replica: the replica is stopped while worker A claims a job on
the master, then the master dies and the replica is promoted without that claim, its
`tokens` counter one claim behind. Worker B claims the job again there. With a token that was
the counter alone, B's token equalled A's, and A's heartbeats and finish passed for B's
attempt; a token also carries the claim's time, so A's are refused."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import pytest
import redis

from jobdeck.core.backend.base import Finish, Outcome
from jobdeck.core.backend.redis import RedisBackend
from jobdeck.core.codec import dumps

from .redis_server import RedisServer
from .test_backend_contract import job, new, worker

pytestmark = pytest.mark.slow  # two servers of its own, a kill and a promotion


@pytest.fixture
def pair() -> Iterator[tuple[RedisServer, RedisServer]]:
    master = RedisServer().start()
    replica = RedisServer(extra=["--replicaof", "127.0.0.1", str(master.port)]).start()
    yield master, replica
    if replica.process is not None:
        replica.process.send_signal(signal.SIGCONT)
    replica.stop()
    master.stop()


def _wait_synced(master: RedisServer, replica: RedisServer) -> None:
    r = redis.Redis(port=master.port)
    for _ in range(200):
        if r.execute_command("WAIT", 1, 100) >= 1:
            return
    raise AssertionError("the replica never caught up")


async def test_a_token_is_not_handed_out_twice_after_a_failover_loses_a_claim(
    pair: tuple[RedisServer, RedisServer], prefix: str
) -> None:
    master, replica = pair
    on_master = RedisBackend(master.url, queue="q", prefix=prefix)
    await on_master.initialize()
    one = new(job("work"))
    assert await on_master.submit([one]) == [True]
    _wait_synced(master, replica)

    assert replica.process is not None
    replica.process.send_signal(signal.SIGSTOP)  # it misses what comes next
    redis.Redis(port=master.port).client_kill_filter(_type="replica")
    [a] = (await on_master.claim("A", 1, 30.0)).jobs
    await on_master.close()
    assert master.process is not None
    master.process.kill()
    master.process.wait()
    replica.process.send_signal(signal.SIGCONT)
    promoted = redis.Redis(port=replica.port)
    for _ in range(100):  # it answers once it runs again
        try:
            promoted.execute_command("REPLICAOF", "NO", "ONE")
            break
        except redis.ConnectionError:
            await asyncio.sleep(0.05)

    on_replica = RedisBackend(replica.url, queue="q", prefix=prefix)
    await on_replica.initialize()
    try:
        [b] = (await on_replica.claim("B", 1, 30.0)).jobs
        assert b.id == a.id == one.id  # the promoted server never saw A's claim
        assert b.token != a.token
        lost, _ = await on_replica.heartbeat(worker("A"), [(a.id, a.token)], 30.0)
        assert lost == [a.id]
        stale = Finish(a.id, a.token, Outcome.COMPLETED, dumps("A's"), event_data=b"{}")
        assert await on_replica.finish("A", [stale]) == [False]
        done = Finish(b.id, b.token, Outcome.COMPLETED, dumps("B's"), event_data=b"{}")
        assert await on_replica.finish("B", [done]) == [True]
    finally:
        await on_replica.close()
