"""Deep pages of the HTTP API at the console bench's scale (used by bench/console_load.py).

`jobdeck serve` runs in its own process on the bench's Redis; this process asks it, one
request at a time over one keep-alive connection, for 50 pending jobs at the top, the middle
and the end of the list, interleaved, and reports p50/p95 per position. The time is the
whole request as a client sees it: the page's read from Redis, the count, the JSON.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import orjson

from tests.web.serve_process import ServeProcess

KEY = "bench-read-key-0123456789abcdef"


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> bytes:
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {KEY}\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if head[9:12] != b"200":
        raise RuntimeError(f"GET {path}: {head.splitlines()[0].decode()}")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return await reader.readexactly(length)


def latency_summary(samples: list[float]) -> dict[str, float]:
    """Times in seconds as n, p50, p95 and max in ms (console_load reports keys the same way)."""
    ms = sorted(s * 1000 for s in samples)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, round(len(ms) * 0.95) - 1)], 1),
        "max_ms": round(ms[-1], 1),
    }


async def _measure(base_url: str, samples: int) -> dict[str, Any]:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    times: dict[str, list[float]] = {}
    try:
        first = orjson.loads(await _get(reader, writer, "/api/v1/jobs?status=pending&limit=1"))
        total = first["total"]  # the worker has taken some since the seeding
        offsets = {"top": 0, "middle": total // 2, "end": max(0, total - 50)}
        times = {name: [] for name in offsets}
        for offset in offsets.values():  # warm up (connection, scripts loaded)
            await _get(reader, writer, f"/api/v1/jobs?status=pending&limit=50&offset={offset}")
        for _ in range(samples):
            for name, offset in offsets.items():
                path = f"/api/v1/jobs?status=pending&limit=50&offset={offset}"
                started = time.perf_counter()
                await _get(reader, writer, path)
                times[name].append(time.perf_counter() - started)
                await asyncio.sleep(0.02)
    finally:
        writer.close()
    pages = {f"{name}_offset_{offsets[name]}": latency_summary(v) for name, v in times.items()}
    return {"pending": total, **pages}


def api_pages(url: str, queue: str, prefix: str, samples: int) -> dict[str, Any]:
    server = ServeProcess(
        "--url", url, "--queue", queue, "--prefix", prefix, env={"JOBDECK_API_KEYS": f"read:{KEY}"}
    ).start()
    try:
        return asyncio.run(_measure(server.base_url, samples))
    finally:
        server.stop()
