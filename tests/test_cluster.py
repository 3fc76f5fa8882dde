"""jobdeck on a real 3-master Redis Cluster (tests/redis_cluster.py, shared by the session).

The contract and service suites also run on it (their "cluster" parameter); here: a worker
process serving three queues whose slots live on three different masters, the queue list
across masters, and a queue's slot moved to another master under a live backend (ASK while
it moves, MOVED after), which the fast connections follow by themselves.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.crc import key_slot

from jobdeck.core import JobService, JobStatus
from jobdeck.core.backend.redis import RedisBackend

from .redis_cluster import RedisCluster
from .redis_server import RedisServer
from .waiting import eventually
from .worker_process import WorkerProcess, sync_client

APP = "tests.apps.tasks:service"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


async def test_three_queues_on_three_masters(
    redis_cluster: RedisCluster, redis_url: str, prefix: str
) -> None:
    queues = redis_cluster.queues_on_distinct_masters(3, stem="mail")
    masters = {redis_cluster.master_of(q).port for q in queues}
    assert len(masters) == 3
    services = [JobService(redis_cluster.url, queue=q, prefix=prefix) for q in queues]
    worker = WorkerProcess(
        APP,
        redis_cluster.url,
        queues=queues,
        prefix=prefix,
        concurrency=6,
        env={"JOBDECK_TEST_URL": redis_url},  # the handlers' traces: not on the cluster
    )
    try:
        worker.start()
        for n, service in enumerate(services):
            await service.submit_jobs([{"name": "add", "args": [n, i]} for i in range(200)])

        async def all_done() -> bool:
            depths = [(await s.get_metrics()).depths for s in services]
            return all(d.get("completed") == 200 for d in depths)

        await eventually(all_done, timeout=30, what="600 jobs on 3 masters")
        for queue, service in zip(queues, services, strict=True):
            done = await service.list_jobs(JobStatus.COMPLETED, limit=1)
            assert done[0].result["sum"] >= 0
            # the queue's keys are on its own master, and only there
            owner = redis_cluster.master_of(queue)
            for node in redis_cluster.nodes:
                found = node.cli("--scan", "--pattern", f"{prefix}:{{{queue}}}:*")
                assert bool(found) == (node is owner), (queue, node.port)
        assert await services[0].list_queues() == sorted(queues)
        workers = [w for s in services for w in await s.list_workers()]
        assert {w.queue for w in workers} == set(queues)
        assert {w.id for w in workers} == {worker.worker_id}
    finally:
        worker.stop()
        for service in services:
            await service.close()


def _node_id(node: RedisServer) -> str:
    return node.cli("CLUSTER", "MYID")


def _asking(node: RedisServer, *command: str) -> str:
    """`command` on `node` after ASKING (what a client does when told ASK)."""
    return node.cli_session(["ASKING"], command)


async def test_a_moved_slot_is_followed(redis_cluster: RedisCluster, prefix: str) -> None:
    """Move a fresh queue's slot from its master to another one, in the steps
    `redis-cli --cluster reshard` takes, while a backend is open on it: while the slot is
    migrating, calls are redirected with ASK; once moved, with MOVED. Nothing is lost and
    the event log and the wake-up wait follow too."""
    queue = f"mv{uuid.uuid4().hex[:8]}"
    source = redis_cluster.master_of(queue)
    target = next(n for n in redis_cluster.nodes[:3] if n is not source)
    slot = key_slot(f"{{{queue}}}".encode())
    backend = RedisBackend(redis_cluster.url, queue=queue, prefix=prefix)
    await backend.initialize()
    other = JobService(redis_cluster.url, queue=queue, prefix=prefix)
    try:
        assert backend.is_cluster
        queue_keys = f"{prefix}:{{{queue}}}:*"  # the queue's keys (the prefix's registry
        # of queue names is written too, in whichever slot its own name falls)
        assert source.cli("KEYS", queue_keys) == ""
        assert target.cli("CLUSTER", "SETSLOT", str(slot), "IMPORTING", _node_id(source)) == "OK"
        assert source.cli("CLUSTER", "SETSLOT", str(slot), "MIGRATING", _node_id(target)) == "OK"
        # The queue's keys do not exist on the source: the source answers ASK, and the
        # script runs on the target after ASKING.
        first = await other.submit_job("add", [1, 2])
        assert _asking(target, "EXISTS", f"{prefix}:{{{queue}}}:job:{first}") == "1"
        assert source.cli("KEYS", queue_keys) == ""
        # finish the move: the slot belongs to the target everywhere
        for node in redis_cluster.nodes:
            node.cli("CLUSTER", "SETSLOT", str(slot), "NODE", _node_id(target))
        redis_cluster.wait_ok()
        second = await other.submit_job("add", [3, 4])  # MOVED, then the target
        batch = await backend.claim("w1", 10, 30.0)  # MOVED on the backend's own socket
        assert sorted(j.id for j in batch.jobs) == sorted([first, second])
        events = await backend.read_events("0-0", 100, 0.1)
        assert [e.job_id for e in events if e.type == "JOB_SUBMITTED"] == [first, second]
        waiting = asyncio.create_task(backend.wait_and_claim("w1", 1, 30.0, 5.0))
        await asyncio.sleep(0.2)
        third = await other.submit_job("add", [5, 6])
        assert [j.id for j in (await waiting).jobs] == [third]
    finally:
        await backend.close()
        await other.close()
        # hand the slot back, so later tests find the cluster as they expect it
        for node in redis_cluster.nodes:
            node.cli("CLUSTER", "SETSLOT", str(slot), "NODE", _node_id(target))


def test_sync_client_sees_the_cluster(redis_cluster: RedisCluster) -> None:
    client = sync_client(redis_cluster.url)
    try:
        assert type(client).__name__ == "RedisCluster"
    finally:
        client.close()
