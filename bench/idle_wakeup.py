#!/usr/bin/env python3
"""What a round trip to Redis costs after the machine has been idle, against back to back.

    .venv/bin/python bench/idle_wakeup.py [--calls 200]

The latency scenario submits a job every 20 ms to an idle worker, so every hop of its path
(client to Redis, Redis to the worker) lands on a process, and often a CPU, that was asleep.
On a VM a sleeping virtual CPU is halted and waking it costs the hypervisor's time, which no
code on the guest can shorten. This measures that cost with nothing of jobdeck in the way:
`PING` on a blocking socket and on jobdeck's asyncio connection, and `submit_job`, each
`--calls` times after a gap of 0, 1, 5 and 20 ms. If the 20 ms figures are several times
the 0 ms ones, the machine's wake-ups, not the queue, set the floor of the latency scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402

GAPS_S = (0.0, 0.001, 0.005, 0.02)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _line(label: str, gap: float, ms: list[float]) -> str:
    return (f"{label:28} gap {gap * 1000:4.0f} ms: p50 {_quantile(ms, 0.5):6.3f} ms, "
            f"p99 {_quantile(ms, 0.99):6.3f} ms")


def blocking_pings(port: int, calls: int) -> list[str]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lines = []
        for gap in GAPS_S:
            times = []
            for _ in range(calls):
                if gap:
                    time.sleep(gap)
                started = time.perf_counter()
                sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                sock.recv(64)
                times.append((time.perf_counter() - started) * 1000)
            lines.append(_line("PING, blocking socket", gap, times))
        return lines


async def asyncio_calls(url: str, calls: int) -> list[str]:
    from jobdeck.core import JobService
    from jobdeck.core.backend.fastpath import FastConnection

    service = JobService(url=url, queue="idle-wakeup")
    await service.initialize()
    [connection] = [v for v in vars(service.backend).values() if isinstance(v, FastConnection)]
    probes: dict[str, Callable[[], Awaitable[object]]] = {
        "PING, jobdeck's connection": lambda: connection.execute("PING"),
        "submit_job": lambda: service.submit_job("noop"),
    }
    lines = []
    for label, call in probes.items():
        for gap in GAPS_S:
            times = []
            for _ in range(calls):
                if gap:
                    await asyncio.sleep(gap)
                started = time.perf_counter()
                await call()
                times.append((time.perf_counter() - started) * 1000)
            lines.append(_line(label, gap, times))
    await service.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    calls = parser.parse_args().calls
    with RedisServer("idle-wakeup") as server:
        lines = blocking_pings(server.port, calls)
        lines += asyncio.run(asyncio_calls(server.url, calls))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
