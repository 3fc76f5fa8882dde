#!/usr/bin/env python3
"""The console under load: 100,000 pending jobs and a steady ~1,000 events a second.

    python bench/console_load.py [--pending 100000] [--rate 250] [--seconds 20] [--no-tmux]
        [--port 8000] [--url redis://...] [--no-api] [--json PATH]

A private redis-server (on `--port`, or the one at `--url`, kept between runs so a million
jobs are seeded once) gets `--pending` low-priority jobs (bulk submits, two processes);
bench/console/load.py (its own process) then submits `--rate` jobs a second and runs them (4
events each: `--rate 250` is ~1,000 events/s). Two consoles are measured while that goes on:

1. headless, in this process (`App.run_test`): CPU (user+sys of this process over a window,
   with the Pending tab and then the Running tab on screen) and key latency: from the key
   entering the app's driver to the state the screen draws (cursor moved, page fetched, tab
   switched), for keys that stay local and keys that need a page from Redis (End, Home);
2. the real `jobdeck console` in tmux (a real terminal, 120x34): its CPU from /proc, and key
   latency from `tmux send-keys` until `capture-pane` shows the effect.

Start-up is measured for both: headless, from creating the app to the first full page of the
Pending tab drawn; in tmux, from starting the process to that page on the terminal. Then, under
the same load, the HTTP API (`jobdeck serve` in its own process): p50/p95 of `GET
/api/v1/jobs?status=pending` at the top, the middle and the end of the list.

Prints a table (and `--json PATH` writes the figures, with the load average).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402

from bench.console.api_pages import api_pages, latency_summary  # noqa: E402
from jobdeck.console.app import JobdeckApp  # noqa: E402
from jobdeck.core import JobService  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

QUEUE, PREFIX = "bench", "consolebench"
SIZE = (120, 34)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _fill_part(url: str, start: int, count: int) -> None:
    """Submit jobs `start .. start+count` in batches of 10,000, two batches in flight (the
    next one is encoded while Redis stores the last)."""
    service = JobService(url, queue=QUEUE, prefix=PREFIX)
    await service.initialize()
    gate = asyncio.Semaphore(2)

    async def batch(first: int, size: int) -> None:
        async with gate:
            await service.submit_jobs(
                [{"name": "tick", "args": [first + i], "priority": "low"} for i in range(size)]
            )

    end = start + count
    await asyncio.gather(
        *(batch(first, min(10_000, end - first)) for first in range(start, end, 10_000))
    )
    await service.close()


def _fill_process(url: str, start: int, count: int) -> None:
    asyncio.run(_fill_part(url, start, count))


async def pending_now(url: str) -> int:
    service = JobService(url, queue=QUEUE, prefix=PREFIX)
    await service.initialize()
    try:
        return (await service.get_metrics(1)).depths.get("pending", 0)
    finally:
        await service.close()


def fill(url: str, count: int, processes: int = 2) -> float:
    """Bring the queue to `count` pending jobs through the product's bulk submit, split over
    `processes` processes (the encoding is Python's work; Redis has cores to spare). Returns
    the seconds it took (0 when a kept server already holds them)."""
    missing = count - asyncio.run(pending_now(url))
    if missing <= 0:
        print(f"{count:,} pending jobs already there", flush=True)
        return 0.0
    started = time.monotonic()
    share = -(-missing // processes)
    with ProcessPoolExecutor(processes) as pool:
        futures = [
            pool.submit(_fill_process, url, first, min(share, missing - first))
            for first in range(0, missing, share)
        ]
        for future in futures:
            future.result()
    elapsed = time.monotonic() - started
    print(f"filled {missing:,} pending jobs in {elapsed:.1f}s", flush=True)
    return elapsed


def start_load(url: str, rate: float) -> subprocess.Popen[bytes]:
    script = ROOT / "bench" / "console" / "load.py"
    return subprocess.Popen(
        [
            sys.executable,
            str(script),
            "--url",
            url,
            "--queue",
            QUEUE,
            "--prefix",
            PREFIX,
            "--rate",
            str(rate),
            "--slots",  # a little more than rate x run time: keeps up, so ~4 events per job
            str(max(1, round(rate * 0.11))),
        ],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


# -- 1. headless, in process ---------------------------------------------------------------
def press(app: JobdeckApp, key: str) -> None:
    """Deliver a key the way a terminal driver does."""
    try:
        char: str | None = unicodedata.lookup(key.upper().replace("_", " "))
    except KeyError:
        char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


async def timed(app: JobdeckApp, key: str, done: Callable[[], bool], timeout: float = 5.0) -> float:
    started = time.perf_counter()
    press(app, key)
    while not done():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{key}: no effect after {timeout}s")
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


async def headless(url: str, seconds: float, samples_per_key: int) -> dict[str, Any]:
    started = time.perf_counter()
    service = JobService(url, queue=QUEUE, prefix=PREFIX)
    await service.initialize()
    app = JobdeckApp(service, freeze_gc=True)  # as `jobdeck console` runs it
    results: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        pending = app.table("pending")
        while not (pending.loaded and len(pending.rows) >= SIZE[1] - 8):
            await pilot.pause(0.005)
        results["startup_headless_ms"] = round(1000 * (time.perf_counter() - started))
        print(f"headless start-up: {results['startup_headless_ms']} ms", flush=True)
        while app.fetches < 2:
            await pilot.pause(0.05)
        await asyncio.sleep(2.0)  # warm up

        for tab, key in (("pending", "1"), ("running", "2")):
            press(app, key)
            await asyncio.sleep(1.0)
            cpu0, events0, fetches0, t0 = (
                cpu_seconds(),
                app.state.events_seen,
                app.fetches,
                time.monotonic(),
            )
            await asyncio.sleep(seconds)
            wall = time.monotonic() - t0
            results[f"cpu_{tab}"] = {
                "cpu_percent": round(100 * (cpu_seconds() - cpu0) / wall, 1),
                "events_per_s": round((app.state.events_seen - events0) / wall),
                "fetch_rounds_per_s": round((app.fetches - fetches0) / wall, 1),
                "pending_total": app.state.views["pending"].total,
            }
            print(f"headless {tab}: {results[f'cpu_{tab}']}", flush=True)

        press(app, "1")
        await asyncio.sleep(1.0)
        table = app.table("pending")
        moves: list[float] = []
        move_to = table._move_to

        def spy(index: int) -> None:  # the table's one entry point for cursor keys
            move_to(index)
            moves.append(time.perf_counter())

        table._move_to = spy  # type: ignore[method-assign]

        def moved(count: int, loaded: bool = False) -> Callable[[], bool]:
            return lambda: len(moves) > count and (not loaded or table.selected is not None)

        samples: dict[str, list[float]] = {
            k: [] for k in ("down", "end", "home", "pagedown", "tab")
        }
        for _ in range(samples_per_key):
            samples["down"].append(await timed(app, "down", moved(len(moves))))
            await asyncio.sleep(0.2)
            samples["end"].append(await timed(app, "end", moved(len(moves), loaded=True)))
            await asyncio.sleep(0.2)
            samples["home"].append(await timed(app, "home", moved(len(moves), loaded=True)))
            await asyncio.sleep(0.2)
            samples["pagedown"].append(await timed(app, "pagedown", moved(len(moves), loaded=True)))
            await asyncio.sleep(0.2)
            rounds = app.fetches
            samples["tab"].append(
                await timed(
                    app, "2", lambda r=rounds: app.state.active == "running" and app.fetches > r
                )
            )
            await asyncio.sleep(0.2)
            press(app, "1")
            await asyncio.sleep(0.3)
        results["keys_headless"] = {key: latency_summary(values) for key, values in samples.items()}
        for key, values in results["keys_headless"].items():
            print(f"headless key {key}: {values}", flush=True)
    await service.close()
    return results


# -- 2. the real console in tmux -----------------------------------------------------------
def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def pane() -> str:
    return tmux("capture-pane", "-t", "jdbench", "-p")


_POSITION = re.compile(r"([\d,]+)/([\d,]+)\s*$", re.M)


def position() -> tuple[int, int] | None:
    lines = pane().splitlines()
    match = _POSITION.search(lines[3]) if len(lines) > 3 else None
    if match is None:
        return None
    return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))


def tab_bar() -> str:
    lines = pane().splitlines()
    return lines[3] if len(lines) > 3 else ""


def full_page() -> bool:
    """The Pending tab's first page on the terminal: its position and every row line."""
    where = position()
    if where is None or where[1] == 0:
        return False
    rows = [line for line in pane().splitlines()[5:-1] if re.search(r"\btick\b", line)]
    return len(rows) >= min(where[1], SIZE[1] - 8)


def at_end() -> bool:
    where = position()
    return where is not None and where[0] > 1 and where[0] >= where[1] - 1


def at_top() -> bool:
    where = position()
    return where is not None and where[0] == 1


def tmux_key(key: str, done: Callable[[], bool], timeout: float = 5.0) -> float:
    """From `send-keys` until `capture-pane` shows the effect (polled every 10 ms)."""
    started = time.perf_counter()
    tmux("send-keys", "-t", "jdbench", key)
    while not done():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"tmux {key}: no effect after {timeout}s:\n{pane()}")
        time.sleep(0.01)
    return time.perf_counter() - started


def in_tmux(url: str, seconds: float, samples_per_key: int) -> dict[str, Any]:
    tmux("kill-session", "-t", "jdbench")
    command = (
        f"exec {sys.executable} -m jobdeck.core.cli console --url {url} "
        f"--queue {QUEUE} --prefix {PREFIX}"
    )
    started = time.perf_counter()
    tmux("new-session", "-d", "-s", "jdbench", "-x", str(SIZE[0]), "-y", str(SIZE[1]), command)
    pid = int(tmux("display-message", "-p", "-t", "jdbench", "#{pane_pid}").strip())
    results: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 30
        while not full_page():
            if time.monotonic() > deadline:
                raise TimeoutError("the console did not start:\n" + pane())
            time.sleep(0.01)
        results["startup_tmux_ms"] = round(1000 * (time.perf_counter() - started))
        print(f"tmux start-up: {results['startup_tmux_ms']} ms", flush=True)
        time.sleep(2.0)
        for tab, key in (("pending", "1"), ("running", "2")):
            tmux("send-keys", "-t", "jdbench", key)
            time.sleep(1.0)
            cpu0, t0 = proc_cpu_seconds(pid), time.monotonic()
            time.sleep(seconds)
            cpu = 100 * (proc_cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
            results[f"cpu_tmux_{tab}"] = round(cpu, 1)
            print(f"tmux {tab}: cpu {cpu:.1f}%", flush=True)
        tmux("send-keys", "-t", "jdbench", "1")
        time.sleep(1.0)
        samples: dict[str, list[float]] = {"end": [], "home": [], "tab": []}
        for _ in range(samples_per_key):
            samples["end"].append(tmux_key("End", at_end))
            time.sleep(0.3)
            samples["home"].append(tmux_key("Home", at_top))
            time.sleep(0.3)
            samples["tab"].append(tmux_key("3", lambda: "[3 Dead letter]" in tab_bar()))
            time.sleep(0.3)
            tmux_key("1", lambda: "[1 Pending]" in tab_bar())
            time.sleep(0.3)
        results["keys_tmux"] = {key: latency_summary(values) for key, values in samples.items()}
        for key, values in results["keys_tmux"].items():
            print(f"tmux key {key}: {values}", flush=True)
    finally:
        tmux("send-keys", "-t", "jdbench", "q")
        time.sleep(1.0)
        tmux("kill-session", "-t", "jdbench")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=250.0, help="jobs/s (4 events each)")
    parser.add_argument("--seconds", type=float, default=20.0, help="each CPU window")
    parser.add_argument("--samples", type=int, default=20, help="presses of each key")
    parser.add_argument("--port", type=int, default=8000, help="the private redis-server's")
    parser.add_argument("--url", help="a redis-server to use (and keep) instead")
    parser.add_argument("--no-tmux", action="store_true")
    parser.add_argument("--no-api", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    server = None if args.url else RedisServer(port=args.port).start()
    url = args.url or server.url  # type: ignore[union-attr]
    load = None
    try:
        results: dict[str, Any] = {
            "pending": args.pending,
            "rate_jobs_per_s": args.rate,
            "events_per_s_target": round(4 * args.rate),
            "fill_s": round(fill(url, args.pending), 1),
            "loadavg_start": os.getloadavg(),
        }
        load = start_load(url, args.rate)
        time.sleep(3.0)
        results.update(asyncio.run(headless(url, args.seconds, args.samples)))
        if not args.no_tmux and shutil.which("tmux"):
            results.update(in_tmux(url, args.seconds, args.samples))
        if not args.no_api:
            results["api_pending_pages"] = api_pages(url, QUEUE, PREFIX, 50)
            for where, figures in results["api_pending_pages"].items():
                print(f"api page {where}: {figures}", flush=True)
        results["loadavg_end"] = os.getloadavg()
        print(json.dumps(results, indent=2))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if load is not None:
            load.terminate()
            load.wait(10)
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
