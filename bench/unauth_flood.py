"""What unauthenticated clients sending large bodies cost a keyed client of `jobdeck serve`.

    python bench/unauth_flood.py [--flooders 8] [--body-mb 15] [--seconds 10] [--src DIR]

One `jobdeck serve` process (API keys on, a private redis-server). Four keyed clients read a
job (`GET /api/v1/jobs/{id}`, keep-alive) for `--seconds` alone, then again while
`--flooders` connections with no credentials each send `POST /api/v1/jobs/batch` with a
`--body-mb` MiB JSON body, over and over (a new connection when the server closes one). The
flood runs in a child process, so its sending does not share the measuring event loop.

Printed: the keyed clients' requests/s and latency (p50, p99, max) in both phases, how many
flood requests got an answer and with which status, and the server's peak memory (VmHWM).
`--src` runs the server from another checkout of jobdeck (e.g. a worktree of an older
commit), to measure before and after a change with the same script.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jobdeck.core import JobService  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

KEY = "bench-operate-key-0123456789"
CLIENTS = 4
_LISTENING = re.compile(r"http://(\S+?):(\d+)/api/v1")


def _shim(src: Path) -> Path:
    """A directory whose `jobdeck` namespace package is `src`'s core, web and console, to
    put first on the server's PYTHONPATH."""
    shim = Path(tempfile.mkdtemp(prefix="jobdeck-shim-"))
    (shim / "jobdeck").mkdir()
    for part in ("core", "web", "console"):
        (shim / "jobdeck" / part).symlink_to(src / part)
    return shim


def start_server(redis_url: str, prefix: str, src: Path) -> tuple[subprocess.Popen[str], str]:
    path = str(_shim(src)) if src != ROOT else str(ROOT)
    env = {**os.environ, "PYTHONPATH": path, "JOBDECK_API_KEYS": f"operate:{KEY}"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobdeck.core.cli",
            "serve",
            "--port",
            "0",
            "--url",
            redis_url,
            "--prefix",
            prefix,
        ],
        env=env,
        cwd=path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        match = _LISTENING.search(line)
        if match:
            return proc, f"{match.group(1)}:{match.group(2)}"
    raise RuntimeError("jobdeck serve did not start")


async def _reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return int(head[9:12]), body


async def keyed_phase(address: str, job_id: str, seconds: float) -> list[float]:
    host, port = address.rsplit(":", 1)
    raw = (
        f"GET /api/v1/jobs/{job_id} HTTP/1.1\r\nHost: {address}\r\n"
        f"Authorization: Bearer {KEY}\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            writer.write(raw)
            status, body = await _reply(reader)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"keyed client got {status}: {body[:200]!r}")
        writer.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return latencies


def flood(address: str, flooders: int, body_mb: float, counts: dict[str, int]) -> None:
    """The child process: `flooders` connections, each sending unauthenticated large bodies
    until killed; answered statuses are counted in `counts` (a shared dict)."""
    item = {"name": "x", "args": ["a" * 200, list(range(20))], "kwargs": {"k": "v" * 50}}
    one = orjson.dumps(item)
    body = b'{"jobs": [' + b",".join([one] * int(body_mb * 2**20 / (len(one) + 1))) + b"]}"
    host, port = address.rsplit(":", 1)
    head = (
        f"POST /api/v1/jobs/batch HTTP/1.1\r\nHost: {address}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    async def one_flooder() -> None:
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(head)
                writer.write(body)
                status, _ = await _reply(reader)
                counts[str(status)] = counts.get(str(status), 0) + 1
                writer.close()
            except (OSError, asyncio.IncompleteReadError):
                counts["closed"] = counts.get("closed", 0) + 1
                await asyncio.sleep(0.01)

    async def main() -> None:
        await asyncio.gather(*(one_flooder() for _ in range(flooders)))

    asyncio.run(main())


def summary(latencies: list[float], seconds: float) -> str:
    ms = sorted(x * 1000 for x in latencies)
    if not ms:
        return "no request answered"
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return (
        f"{len(ms) / seconds:,.0f} req/s; p50 {statistics.median(ms):.1f} ms, "
        f"p99 {p99:.1f} ms, max {ms[-1]:.0f} ms"
    )


def peak_memory(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return f"{int(line.split()[1]) / 1024:,.0f} MiB"
    return "?"


async def main(args: argparse.Namespace) -> None:
    redis = RedisServer().start()
    prefix = f"flood{os.getpid()}"
    server, address = start_server(redis.url, prefix, args.src)
    try:
        async with JobService(redis.url, prefix=prefix) as service:
            job_id = await service.submit_job("x", [1, 2, 3])
        print(
            f"server: {args.src} ({address}); {CLIENTS} keyed clients, "
            f"{args.flooders} flooders x {args.body_mb} MiB; load {os.getloadavg()[0]:.2f}"
        )
        alone = await keyed_phase(address, job_id, args.seconds)
        print(f"alone:        {summary(alone, args.seconds)}; peak RSS {peak_memory(server.pid)}")
        with multiprocessing.Manager() as manager:
            counts = manager.dict()
            child = multiprocessing.Process(
                target=flood, args=(address, args.flooders, args.body_mb, counts), daemon=True
            )
            child.start()
            await asyncio.sleep(1.0)  # the flood under way
            flooded = await keyed_phase(address, job_id, args.seconds)
            child.terminate()
            child.join()
            answered = dict(collections.Counter(dict(counts)))
        print(
            f"under flood:  {summary(flooded, args.seconds)}; peak RSS "
            f"{peak_memory(server.pid)}; flood requests answered: {answered}"
        )
    finally:
        server.terminate()
        server.wait(10)
        redis.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flooders", type=int, default=8)
    parser.add_argument("--body-mb", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--src", default=str(ROOT), help="checkout to run the server from")
    arguments = parser.parse_args()
    arguments.src = Path(arguments.src).resolve()
    asyncio.run(main(arguments))
