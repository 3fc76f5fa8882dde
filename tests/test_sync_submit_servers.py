"""`SyncJobService.submit_job` from the calling thread on every kind of server a user may run:
a unix socket, Valkey, a Redis Cluster (also while the queue's slot moves), an ACL user with
the submitter role. TLS is in test_tls.py, beside its certificates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.crc import key_slot

from jobdeck.core import SyncJobService
from jobdeck.core.acl import acl_rules

from .redis_cluster import RedisCluster
from .redis_server import RedisServer
from .test_sync_submit import on_the_fast_path, opened

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def submits_and_reads(client: SyncJobService) -> None:
    ids = [client.submit_job("x", (i,), {"k": i}) for i in range(5)]
    assert on_the_fast_path(client)
    for i, job_id in enumerate(ids):
        job = client.get_job(job_id)
        assert job is not None and job.args == (i,) and job.kwargs == {"k": i}


@pytest.fixture
def unix_server(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "redis.sock"
    server = RedisServer(extra=["--unixsocket", str(path), "--unixsocketperm", "700"]).start()
    yield f"unix://{path}"
    server.stop()


def test_a_unix_socket(unix_server: str, prefix: str) -> None:
    with opened(unix_server, prefix) as client:
        submits_and_reads(client)


def test_valkey(valkey_server: RedisServer, prefix: str) -> None:
    with opened(valkey_server.url, prefix) as client:
        submits_and_reads(client)


def test_a_submitter_acl_user(prefix: str) -> None:
    server = RedisServer().start()
    try:
        user, secret = f"submitter-{prefix}", "s3cret-Pa55"
        rules = acl_rules("submitter", prefix).split()
        assert server.cli("ACL", "SETUSER", user, "on", f">{secret}", *rules) == "OK"
        with opened(f"redis://{user}:{secret}@127.0.0.1:{server.port}/0", prefix) as client:
            submits_and_reads(client)
    finally:
        server.stop()


def test_a_cluster_and_a_moving_slot(redis_cluster: RedisCluster, prefix: str) -> None:
    """The calling thread's socket goes to the master of the queue's slot. While the slot
    migrates (ASK) and once it moved (MOVED), those submits take the loop's path, which
    follows the slot; the next ones go from the calling thread to the new master."""
    queue = f"sync{uuid.uuid4().hex[:8]}"
    source = redis_cluster.master_of(queue)
    target = next(n for n in redis_cluster.nodes[:3] if n is not source)
    slot = key_slot(f"{{{queue}}}".encode())
    source_id, target_id = source.cli("CLUSTER", "MYID"), target.cli("CLUSTER", "MYID")
    client = opened(redis_cluster.url, prefix, queue)
    try:
        submits_and_reads(client)
        assert target.cli("CLUSTER", "SETSLOT", str(slot), "IMPORTING", source_id) == "OK"
        assert source.cli("CLUSTER", "SETSLOT", str(slot), "MIGRATING", target_id) == "OK"
        # The keys go first, as a reshard moves them; the queue's keys are then missing on
        # the source, which answers ASK.
        keys = source.cli("CLUSTER", "GETKEYSINSLOT", str(slot), "1000").split()
        migrate = ["MIGRATE", "127.0.0.1", str(target.port), "", "0", "5000", "KEYS", *keys]
        assert source.cli(*migrate) == "OK"
        asked = client.submit_job("x", job_id="asked")
        for node in redis_cluster.nodes:
            node.cli("CLUSTER", "SETSLOT", str(slot), "NODE", target_id)
        redis_cluster.wait_ok()
        moved = client.submit_job("x", job_id="moved")  # MOVED
        after = client.submit_job("x", job_id="after")
        assert on_the_fast_path(client)
        assert client._service.backend.node_url == target.url  # type: ignore[union-attr]
        assert source.cli("CLUSTER", "COUNTKEYSINSLOT", str(slot)) == "0"
        for job_id in (asked, moved, after):
            assert client.get_job(job_id) is not None
        assert client.get_metrics(1).depths["pending"] == 1 + 5 + 3
    finally:
        client.close()
        for node in redis_cluster.nodes:
            node.cli("CLUSTER", "SETSLOT", str(slot), "NODE", target_id)
