"""The HTTP API's figures: submits/s (one per request and batched), reads/s, latency, and how
many SSE clients one server process feeds at 1,000 events/s before it lags.

    python bench/api_load.py [--requests 20000] [--clients 32] [--sse 10,25,50,100]
                             [--pin] [--tree DIR] [--steps submit,batch,get,sse]

Everything is local and bounded: a private redis-server, one `jobdeck serve` process (uvloop,
API keys on), and load from this process over keep-alive connections with a minimal HTTP/1.1
client (pre-built requests, Content-Length replies), so the client costs far less than the
server. Results go to stdout as a markdown table; the machine's load average is printed with
them, since a shared machine's figures are only as good as its idle cores.

On two cores the load generator competes with the server it measures: `--pin` puts the
server and Redis on CPU 0 and this process on CPU 1 (`sched_setaffinity`, as `taskset` does),
so the figures are the server's with a core of its own (Redis shares it). `--tree DIR` runs
another checkout's `jobdeck serve` (its core/ and web/), for a before/after; `--steps` picks
what to run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jobdeck.core import JobService  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.web.serve_process import ServeProcess  # noqa: E402

KEY = "bench-operate-key-0123456789"


class Conn:
    """One keep-alive HTTP/1.1 connection: send a request, read one Content-Length reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        return cls(*await asyncio.open_connection(host, port))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def build(method: str, path: str, body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", f"Authorization: Bearer {KEY}"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def closed_loop(
    host: str, port: int, requests: list[bytes], clients: int, expect: int
) -> tuple[float, list[float], list[bytes]]:
    """`clients` connections, each sending its next request when the last reply is in."""
    conns = [await Conn.open(host, port) for _ in range(clients)]
    latencies: list[float] = []
    bodies: list[bytes] = []
    queue = iter(requests)

    async def run(conn: Conn) -> None:
        for raw in queue:
            start = time.perf_counter()
            status, body = await conn.request(raw)
            latencies.append(time.perf_counter() - start)
            if status != expect:
                raise RuntimeError(f"status {status}: {body[:200]!r}")
            bodies.append(body)

    started = time.perf_counter()
    await asyncio.gather(*(run(conn) for conn in conns))
    elapsed = time.perf_counter() - started
    for conn in conns:
        conn.close()
    return elapsed, latencies, bodies


def pct(values: list[float], q: float) -> float:
    if len(values) < 10:
        return statistics.median(values) if values else 0.0
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU spent by the API server and by Redis during a step: a figure the machine's load
    does not inflate (wall-clock rates on a busy shared machine do not mean much)."""

    def __init__(self, server_pid: int, redis_pid: int) -> None:
        self.pids = (server_pid, redis_pid)

    def __enter__(self) -> Cpu:
        self.start = [cpu_seconds(pid) for pid in self.pids]
        return self

    def __exit__(self, *exc: object) -> None:
        self.api, self.redis = (
            cpu_seconds(p) - s for p, s in zip(self.pids, self.start, strict=True)
        )

    def per(self, count: int) -> str:
        api, redis = self.api / count * 1e6, self.redis / count * 1e6
        return f"API {api:,.0f} us + Redis {redis:,.0f} us CPU each"


async def sse_fanout(host: str, port: int, url: str, prefix: str, clients: int, seconds: float):
    """`clients` SSE readers; a producer writes ~1,000 events/s. Lag = arrival time minus the
    event's own time (its stream id is Redis' clock in ms: one machine, one clock)."""
    lags: list[float] = []
    frames = [0] * clients
    stop = asyncio.Event()

    async def reader(index: int) -> None:
        r, w = await asyncio.open_connection(host, port)
        w.write(build("GET", "/api/v1/events?types=JOB_SUBMITTED"))
        await r.readuntil(b"\r\n\r\n")
        try:
            while not stop.is_set():
                chunk = await r.read(65536)
                if not chunk:
                    return
                frames[index] += chunk.count(b"id: ")
                at = chunk.rfind(b"\nid: ")
                end = chunk.find(b"-", at)
                if at >= 0 and end - at == 18:  # a whole 13-digit ms part (not cut by the read)
                    with contextlib.suppress(ValueError):
                        lags.append(time.time() - int(chunk[at + 5 : end]) / 1000)
        finally:
            w.close()

    readers = [asyncio.create_task(reader(i)) for i in range(clients)]
    await asyncio.sleep(1.0)  # every client connected
    lags.clear()
    async with JobService(url, prefix=prefix) as service:
        produced = 0
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            await service.submit_jobs([{"name": "e"}] * 50)  # 50 events
            produced += 50
            behind = produced / 1000 - (time.monotonic() - started)
            if behind > 0:
                await asyncio.sleep(behind)
        rate = produced / (time.monotonic() - started)
        await asyncio.sleep(1.0)  # let the last ones arrive
    stop.set()
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    got = sum(frames) / max(1, clients)
    return rate, lags, got, produced


def _tree_path(tree: Path) -> str:
    """A PYTHONPATH under which `jobdeck` is `tree`'s checkout (its core/, web/, console/)."""
    from bench.submit_path import _use_tree

    before = list(sys.path)
    _use_tree(tree.resolve())
    shim = sys.path[0]
    sys.path[:] = before  # this process keeps its own jobdeck
    return os.pathsep.join([shim, str(ROOT)])


async def main(args: argparse.Namespace) -> None:
    redis = RedisServer().start()
    prefix = "bench" + uuid.uuid4().hex[:6]
    env = {"JOBDECK_API_KEYS": f"operate:{KEY}"}
    if args.tree is not None:
        env["PYTHONPATH"] = _tree_path(args.tree)
    server = ServeProcess("--url", redis.url, "--prefix", prefix, env=env).start()
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    rows: list[tuple[str, str]] = []
    assert server.process is not None and redis.process is not None
    if args.pin:
        os.sched_setaffinity(server.process.pid, {0})
        os.sched_setaffinity(redis.process.pid, {0})
        os.sched_setaffinity(0, {1})
        rows.append(("pinned", "server and Redis on CPU 0, the load generator on CPU 1"))
    steps = set(args.steps)
    ids: list[str] = []
    try:
        n, c = args.requests, args.clients
        body = orjson.dumps({"name": "bench", "args": [1, 2], "kwargs": {"to": "x"}})
        warm = await closed_loop(
            host, int(port), [build("POST", "/api/v1/jobs", body)] * 500, c, 201
        )
        ids = [orjson.loads(b)["id"] for b in warm[2]]
        cpu = Cpu(server.process.pid, redis.process.pid)
    except BaseException:
        server.stop()
        redis.stop()
        raise
    try:
        if "submit" in steps:
            await _submits(host, int(port), body, n, c, cpu, rows, ids)
        if "batch" in steps:
            await _batches(host, int(port), args.batches, cpu, rows)
        if "get" in steps:
            await _gets(host, int(port), ids, n, c, cpu, rows)
        if "sse" in steps:
            await _sse(host, int(port), redis.url, prefix, args, cpu, rows)
    finally:
        server.stop()
        redis.stop()
    print(f"\nload average before/after: {args.load_before} / {os.getloadavg()}")
    print(f"cpus: {os.cpu_count()}\n")
    print("| what | figure |\n|---|---|")
    for what, figure in rows:
        print(f"| {what} | {figure} |")


async def _submits(
    host: str, port: int, body: bytes, n: int, c: int, cpu: Cpu, rows: list[Any], ids: list[str]
) -> None:
    with cpu:
        elapsed, lat, bodies = await closed_loop(
            host, port, [build("POST", "/api/v1/jobs", body)] * n, c, 201
        )
    rows.append(("POST /jobs, one job per request", f"{n / elapsed:,.0f} submits/s"))
    rows.append(("  cost", cpu.per(n)))
    rows.append(
        (
            f"  latency at {c} clients",
            f"p50 {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms",
        )
    )
    ids += [orjson.loads(b)["id"] for b in bodies]


async def _batches(host: str, port: int, batches: int, cpu: Cpu, rows: list[Any]) -> None:
    batch = orjson.dumps({"jobs": [{"name": "bench", "args": [i]} for i in range(10_000)]})
    with cpu:
        elapsed, lat, _ = await closed_loop(
            host, port, [build("POST", "/api/v1/jobs/batch", batch)] * batches, 2, 201
        )
    rows.append(
        ("POST /jobs/batch, 10,000 jobs per request", f"{batches * 10_000 / elapsed:,.0f} jobs/s")
    )
    rows.append(("  one batch request", f"p50 {pct(lat, 50) * 1000:.0f} ms"))
    rows.append(("  cost per job", cpu.per(batches * 10_000)))


async def _gets(
    host: str, port: int, ids: list[str], n: int, c: int, cpu: Cpu, rows: list[Any]
) -> None:
    gets = [build("GET", f"/api/v1/jobs/{ids[i % len(ids)]}") for i in range(n)]
    with cpu:
        elapsed, lat, _ = await closed_loop(host, port, gets, c, 200)
    rows.append(("GET /jobs/{id}", f"{n / elapsed:,.0f} reads/s"))
    rows.append(("  cost", cpu.per(n)))
    rows.append(
        (
            f"  latency at {c} clients",
            f"p50 {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms",
        )
    )


async def _sse(
    host: str,
    port: int,
    url: str,
    prefix: str,
    args: argparse.Namespace,
    cpu: Cpu,
    rows: list[Any],
) -> None:
    for clients in args.sse:
        with cpu:
            rate, lags, got, produced = await sse_fanout(
                host, port, url, prefix, clients, args.sse_seconds
            )
        busy = cpu.api / (args.sse_seconds + 2)
        worst = max(lags) if lags else float("nan")
        rows.append(
            (
                f"SSE, {clients} clients at {rate:,.0f} events/s",
                f"lag p50 {pct(lags, 50) * 1000:.0f} ms, p99 {pct(lags, 99) * 1000:.0f} ms, "
                f"max {worst * 1000:.0f} ms; {got / produced:.0%} delivered; "
                f"API process {busy:.0%} of a core",
            )
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument(
        "--sse", type=lambda s: [int(x) for x in s.split(",")], default=[10, 50, 100]
    )
    parser.add_argument("--sse-seconds", type=float, default=10.0)
    parser.add_argument(
        "--pin", action="store_true", help="server and Redis on CPU 0, the load generator on CPU 1"
    )
    parser.add_argument("--tree", type=Path, help="run this checkout's jobdeck serve")
    parser.add_argument(
        "--steps", type=lambda s: s.split(","), default=["submit", "batch", "get", "sse"]
    )
    args = parser.parse_args()
    args.load_before = os.getloadavg()
    try:
        import uvloop

        uvloop.run(main(args))
    except ImportError:
        asyncio.run(main(args))
