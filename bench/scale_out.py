"""Scaling-out figures for the README: cluster vs single server, many queues, WAIT, failover.

    python bench/scale_out.py [--jobs 10000] [--rounds 3] [--json bench/results/scale_out.json]

Everything runs on private servers this script starts (redis-server on PATH; ports below
22768 for the cluster). Each figure is the median of `--rounds` interleaved rounds:
- hot path: submits one at a time (latency-bound) and 100 at a time (throughput), on one
  server and on a 3-master cluster (one queue, so one master), and on one server with the
  pre-cluster `_run` patched back in (the A/B for "single-server speed untouched");
- WAIT: the same submits with `submit_replicas=1` on a server with one replica;
- drain: N no-op jobs per queue, prefilled, then drained by `jobdeck worker` processes:
  1 queue on 1 server (1 worker), 3 queues on 3 masters (3 workers, one per queue),
  3 queues on 1 server (3 workers).
The failover figures come from tests/test_failover.py (printed with `-s`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from jobdeck.core import BackendSettings, JobService  # noqa: E402
from jobdeck.core.backend.redis import connection as engine  # noqa: E402
from tests.redis_cluster import RedisCluster  # noqa: E402
from tests.redis_server import RedisServer, free_port  # noqa: E402
from tests.tls_certs import make_certs  # noqa: E402
from tests.worker_process import WorkerProcess  # noqa: E402

APP = "tests.apps.tasks:service"


async def _old_run(self: Any, name: str, *args: Any, via: Any = None) -> Any:
    """`RedisConnection.run` as it was before cluster support (one EVALSHA on the fast
    connection, retries on connection errors): the baseline of the A/B."""
    delay = 0.05
    for attempt in range(10):
        try:
            return await self._fast.execute(
                "EVALSHA", self._shas[name], 1, self._route, *self._base, *args
            )
        except engine.NoScriptError:
            await self._fast.execute("SCRIPT", "LOAD", engine.script_source(name))
        except (engine.RedisConnectionError, engine.RedisTimeoutError):
            if attempt == 9:
                raise
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)
    raise RuntimeError("unreachable")


def server_cpu(port: int) -> float:
    """CPU seconds the redis-server on `port` has used (INFO cpu)."""
    client = redis.Redis(port=port)
    try:
        info = client.info("cpu")
    finally:
        client.close()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def submit_rates(
    url: str, jobs: int, settings: BackendSettings | None = None, cpu_port: int | None = None
) -> dict[str, float]:
    """Submitting one at a time and 100 at a time: jobs/s (wall clock: at the mercy of the
    machine's load), and the CPU microseconds per submit of this client and of the Redis
    node that served it (CPU time: what the client code costs, much less load-sensitive)."""
    prefix = f"b{time.monotonic_ns() % 10**9}"
    service = JobService(url, queue="hot", prefix=prefix, settings=settings)
    out: dict[str, float] = {}
    async with service:
        await service.submit_job("add", [0, 0])  # connect, load the script
        port = cpu_port or int(service.backend.node_url.rsplit(":", 1)[1].split("/")[0])

        async def lane(n: int) -> None:
            for i in range(n):
                await service.submit_job("add", [i, i])

        for label, lanes in (("serial", 1), ("concurrent", 100)):
            count = jobs // 5 if lanes == 1 else jobs
            cpu, srv, wall = time.process_time(), server_cpu(port), time.perf_counter()
            await asyncio.gather(*(lane(count // lanes) for _ in range(lanes)))
            wall = time.perf_counter() - wall
            out[f"{label} jobs/s"] = count / wall
            out[f"{label} client us/job"] = (time.process_time() - cpu) / count * 1e6
            out[f"{label} redis us/job"] = (server_cpu(port) - srv) / count * 1e6
        await service.purge("pending")
    return out


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drain(urls_queues: list[tuple[str, str]], jobs: int, redis_url: str) -> dict[str, float]:
    """Prefill `jobs` no-op jobs on each (url, queue), one worker (concurrency 10) per queue:
    jobs/s over all of them from resuming the paused queues to the last completion, and the
    CPU milliseconds per 1,000 jobs the workers and the Redis servers spent meanwhile."""
    prefix = f"d{time.monotonic_ns() % 10**9}"
    services = [JobService(u, queue=q, prefix=prefix) for u, q in urls_queues]
    for service in services:
        await service.pause_queue()
        await service.submit_jobs([{"name": "add", "args": [1, 2]}] * jobs)
    workers = [
        WorkerProcess(
            APP, u, queue=q, prefix=prefix, concurrency=10, env={"JOBDECK_TEST_URL": redis_url}
        )
        for u, q in urls_queues
    ]
    for w in workers:
        w.start(wait=False)
    for w in workers:
        w.wait_registered(60)
    ports = {int(s.backend.node_url.rsplit(":", 1)[1].split("/")[0]) for s in services}
    worker_cpu = sum(process_cpu(w.pid) for w in workers)
    redis_cpu = sum(server_cpu(p) for p in ports)
    started = time.perf_counter()
    for service in services:
        await service.resume_queue()
    try:
        while True:
            done = [(await s.get_metrics()).depths.get("completed", 0) for s in services]
            if all(d >= jobs for d in done):
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        total = len(services) * jobs
        worker_cpu = sum(process_cpu(w.pid) for w in workers) - worker_cpu
        redis_cpu = sum(server_cpu(p) for p in ports) - redis_cpu
    finally:
        for w in workers:
            w.stop()
        for s in services:
            await s.purge("completed")
            await s.close()
    return {
        "jobs/s": total / elapsed,
        "worker ms/1000 jobs": worker_cpu / total * 1e6,
        "redis ms/1000 jobs": redis_cpu / total * 1e6,
    }


async def tls_rounds(opts: argparse.Namespace) -> None:
    """Submits over TLS (with a client certificate) against plain TCP, same server."""
    with tempfile.TemporaryDirectory() as where:
        certs = make_certs(Path(where))
        tls_port = free_port()
        server = RedisServer(
            extra=[
                "--tls-port", str(tls_port), "--tls-cert-file", certs.server_crt,
                "--tls-key-file", certs.server_key, "--tls-ca-cert-file", certs.ca_crt,
            ]
        ).start()  # fmt: skip
        tls_url = (
            f"rediss://127.0.0.1:{tls_port}/0?ssl_ca_certs={certs.ca_crt}"
            f"&ssl_certfile={certs.client_crt}&ssl_keyfile={certs.client_key}"
        )
        results: dict[str, list[float]] = {}
        try:
            for _ in range(opts.rounds):
                for label, url in (("plain", server.url), ("TLS", tls_url)):
                    rates = await submit_rates(url, opts.jobs, cpu_port=server.port)
                    for k, v in rates.items():
                        results.setdefault(f"submit {k}, {label}", []).append(v)
        finally:
            server.stop()
        for k, v in results.items():
            print(
                f"  {k}: median {statistics.median(v):,.1f}  ({', '.join(f'{x:,.1f}' for x in v)})"
            )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--tls-only", action="store_true", help="only TLS against plain")
    opts = parser.parse_args()
    if opts.tls_only:
        await tls_rounds(opts)
        return
    single = RedisServer().start()
    primary = RedisServer().start()
    replica = RedisServer(extra=["--replicaof", "127.0.0.1", str(primary.port)]).start()
    cluster = RedisCluster(masters=3).start()
    queues = cluster.queues_on_distinct_masters(3, stem="bench")
    results: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        results.setdefault(key, []).append(value)
        print(f"  {key}: {value:,.1f}", flush=True)

    try:
        for n in range(opts.rounds):
            print(f"round {n + 1}", flush=True)
            new_run = engine.RedisConnection.run
            engine.RedisConnection.run = _old_run  # type: ignore[method-assign]
            try:
                for k, v in (await submit_rates(single.url, opts.jobs)).items():
                    add(f"submit {k}, single server, before cluster support", v)
            finally:
                engine.RedisConnection.run = new_run  # type: ignore[method-assign]
            for k, v in (await submit_rates(single.url, opts.jobs)).items():
                add(f"submit {k}, single server", v)
            for k, v in (await submit_rates(cluster.url, opts.jobs)).items():
                add(f"submit {k}, cluster (1 queue)", v)
            durable = BackendSettings(submit_replicas=1)
            for k, v in (await submit_rates(primary.url, opts.jobs, durable)).items():
                add(f"submit {k}, WAIT 1 replica", v)
            for k, v in (await submit_rates(primary.url, opts.jobs)).items():
                add(f"submit {k}, same server with replica, no WAIT", v)
            for label, pairs in (
                ("1 queue on 1 server", [(single.url, "q0")]),
                ("3 queues on 3 masters", [(cluster.url, q) for q in queues]),
                ("3 queues on 1 server", [(single.url, q) for q in queues]),
            ):
                for k, v in (await drain(pairs, opts.jobs, single.url)).items():
                    add(f"drain {k}, {label}", v)
    finally:
        for server in (single, replica, primary):
            server.stop()
        cluster.stop()
    medians = {k: statistics.median(v) for k, v in results.items()}
    print("\nmedians:")
    for k, v in medians.items():
        print(f"  {k}: {v:,.1f}")
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    if opts.json:
        opts.json.write_text(json.dumps({"medians": medians, "rounds": results}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
