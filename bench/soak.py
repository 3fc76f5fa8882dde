#!/usr/bin/env python3
"""Soak: a long run of mixed load, every measure's growth per minute, every job reconciled.

    python bench/soak.py [--minutes 30] [--rate 40] [--workers 2] [--concurrency 16]
                         [--sse 3] [--dead-max 1000] [--json FILE]

On one private redis-server (bench/redis_server.py): `--workers` `jobdeck worker` processes
(bench/soak_app.py, lease 5 s), `jobdeck serve` with `--sse` clients following
/api/v1/events, the console (`jobdeck console --read-only`) in a tmux pane of 120x40, and
this process submitting `--rate` jobs a second, of five kinds:

| kind | share | what happens |
|---|---|---|
| ok | 78 % | 5-50 ms, completes |
| flaky | 8 % | fails its first attempt, is retried, completes |
| fail | 4 % | fails twice: a dead letter (`--dead-max` keeps the dead-letter bound in play) |
| slow | 6 % | 2-5 s; half of them cancelled while they run |
| cancel | 4 % | cancelled at once: half submitted 30 s ahead (scheduled), half queued |

plus the schedule `soak-tick` (every 10 s). Halfway, one worker is SIGKILLed (its jobs come
back when their leases end) and a new one started. Each minute: Redis `used_memory`, its keys
by kind, the event log's length, queue depths, and every process's RSS (workers, server,
console, this process). At the end the submitting stops, the queue drains, and every job
submitted is reconciled with what happened to it, from the event log followed from the start
(JOB_COMPLETED, a final JOB_FAILED, JOB_CANCELLED, JOB_DROPPED) and its record: lost = neither.
Each SSE client must have seen every event, in order.

It measures correctness and growth, not speed: it may run beside other work (say so when
quoting it). `--minutes 3` is a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402

QUEUE, PREFIX, APP = "soak", "soak", "bench.soak_app:service"
TERMINAL = {"JOB_COMPLETED", "JOB_CANCELLED", "JOB_DROPPED"}
KINDS = (("ok", 0.78), ("flaky", 0.08), ("fail", 0.04), ("slow", 0.06), ("cancel", 0.04))
EXPECTED = {
    "ok": {"completed"},
    "flaky": {"completed"},
    "fail": {"failed", "dropped"},
    "slow": {"completed", "cancelled"},
    "cancel": {"cancelled", "completed"},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Ledger:
    """What this process submitted, and what the event log says became of it."""

    kind: dict[str, str] = field(default_factory=dict)
    final: dict[str, str] = field(default_factory=dict)  # job id -> completed|failed|...
    started: Counter[str] = field(default_factory=Counter)
    completed: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    last_event: str = "0-0"
    gap: bool = False  # the log was trimmed past what the follower had read
    trail: dict[str, list[str]] = field(default_factory=dict)  # kept only for unended jobs


class Processes:
    """Children of the soak: workers, the API server, the console in tmux."""

    def __init__(self, url: str, env: dict[str, str], logs: Path) -> None:
        self.url, self.env, self.logs = url, env, logs
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.server: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.tmux = f"soak-{uuid.uuid4().hex[:6]}"
        self.console_pid: int | None = None

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "jobdeck.core.cli", *args],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_worker(self, name: str, concurrency: int) -> None:
        self.workers[name] = self._spawn(
            name, "worker", APP, "--url", self.url, "-c", str(concurrency), "--lease", "5",
            "--worker-id", name,
        )

    def start_server(self) -> None:
        self.server = self._spawn(
            "serve", "serve", "--url", self.url, "-q", QUEUE, "--prefix", PREFIX,
            "--port", str(self.port),
        )

    def start_console(self) -> None:
        if shutil.which("tmux") is None:
            return
        command = (
            f"cd {ROOT} && exec env JOBDECK_DEAD_MAX={self.env.get('JOBDECK_DEAD_MAX', '')} "
            f"{sys.executable} -m jobdeck.core.cli console --url {self.url} -q {QUEUE} "
            f"--prefix {PREFIX} --read-only"
        )
        subprocess.run(["tmux", "new-session", "-d", "-s", self.tmux, "-x", "120", "-y", "40",
                        command], check=True, env=self.env)
        out = subprocess.run(["tmux", "display", "-p", "-t", self.tmux, "#{pane_pid}"],
                             capture_output=True, text=True, check=True)
        self.console_pid = int(out.stdout.strip())

    def kill_worker(self, name: str) -> None:
        proc = self.workers.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def pids(self) -> dict[str, int | None]:
        found: dict[str, int | None] = {n: p.pid for n, p in self.workers.items()}
        found["serve"] = self.server.pid if self.server else None
        found["console"] = self.console_pid
        found["soak (this process)"] = os.getpid()
        return found

    def stop(self) -> None:
        for proc in [*self.workers.values(), *([self.server] if self.server else [])]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers.values(), *([self.server] if self.server else [])]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        if self.console_pid is not None:
            subprocess.run(["tmux", "kill-session", "-t", self.tmux], check=False)


def key_kind(key: bytes, head: bytes) -> str:
    """`job`, `pending:1`, `stat`, `unique`, ... for a key under the queue's prefix."""
    if not key.startswith(head):
        return key.decode(errors="replace").split(":", 1)[0] + ":*"
    tail = key[len(head):].decode(errors="replace")
    name = tail.split(":", 1)[0]
    return f"{name}:*" if ":" in tail and not name.startswith("pending") else tail


async def keys_by_kind(client: Any, head: bytes) -> Counter[str]:
    kinds: Counter[str] = Counter()
    async for key in client.scan_iter(count=5000):
        kinds[key_kind(key, head)] += 1
    return kinds


async def follow(backend: Any, ledger: Ledger, stop: asyncio.Event) -> None:
    """Every event from the log's start: what became of each job."""
    while True:
        events = await backend.read_events(ledger.last_event, 2000, 0.5)
        if not events:
            if stop.is_set():
                return
            continue
        for event in events:
            ledger.last_event = event.id
            kind = str(event.type)
            ledger.events[kind] += 1
            job_id = event.job_id
            if job_id is None:
                continue
            trail = ledger.trail.setdefault(job_id, [])
            trail.append(f"{kind}:{event.status}:{event.data.get('worker', '')}")
            if kind in TERMINAL or (kind == "JOB_FAILED" and event.status == "failed"):
                ledger.trail.pop(job_id, None)
            if kind == "JOB_STARTED":
                ledger.started[job_id] += 1
            elif kind == "JOB_COMPLETED":
                ledger.completed[job_id] += 1
                ledger.final[job_id] = "completed"
            elif kind == "JOB_CANCELLED":
                ledger.final[job_id] = "cancelled"
            elif kind == "JOB_FAILED" and event.status == "failed":
                ledger.final[job_id] = "failed"
            elif kind == "JOB_DROPPED":
                ledger.final[job_id] = "dropped"
            elif kind == "JOB_REQUEUED" and ledger.final.get(job_id) == "failed":
                ledger.final.pop(job_id)  # a dead letter retried


async def sse_client(port: int, seen: dict[str, Any], stop: asyncio.Event) -> None:
    """One follower of /api/v1/events from the log's first event: counts events, checks their
    ids only grow, and, as a browser's EventSource does, reconnects after a drop from the last
    id it saw (`Last-Event-ID`), counting the reconnections."""
    last = (0, 0)
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            seen["reconnects"] += 1
            await asyncio.sleep(0.5)
            continue
        resume = f"{last[0]}-{last[1]}".encode()
        writer.write(
            b"GET /api/v1/events?after=" + resume + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Accept: text/event-stream\r\n\r\n"
        )
        buffer = b""
        try:
            await writer.drain()
            status = await reader.readuntil(b"\r\n\r\n")
            if b" 200 " not in status.split(b"\r\n", 1)[0]:
                seen["refused"] = status.split(b"\r\n", 1)[0].decode(errors="replace")
                await asyncio.sleep(0.5)
                continue
            while not stop.is_set():
                chunk = await reader.read(65536)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.startswith(b"id: "):
                        ms, _, seq = line[4:].strip().decode().partition("-")
                        key = (int(ms), int(seq or 0))
                        if key <= last:
                            seen["out_of_order"] += 1
                        last = key
                        seen["events"] += 1
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
        if not stop.is_set():
            seen["reconnects"] += 1


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    import redis.asyncio as aioredis

    from jobdeck.core import JobService
    from jobdeck.core.backend.redis import RedisBackend
    from jobdeck.core.keys import key_prefix

    logs = args.logs
    server = RedisServer("soak").start()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JOBDECK_DEAD_MAX": str(args.dead_max)}
    os.environ["JOBDECK_DEAD_MAX"] = str(args.dead_max)
    procs = Processes(server.url, env, logs)
    ledger = Ledger()
    rows: list[dict[str, Any]] = []
    stop_follow, stop_sse = asyncio.Event(), asyncio.Event()
    sse_seen = [{"events": 0, "out_of_order": 0, "reconnects": 0} for _ in range(args.sse)]
    rng = random.Random(28)
    try:
        for n in range(args.workers):
            procs.start_worker(f"soak-w{n}", args.concurrency)
        procs.start_server()
        procs.start_console()
        service = JobService(server.url, queue=QUEUE, prefix=PREFIX)
        await service.initialize()
        backend = RedisBackend(server.url, queue=QUEUE, prefix=PREFIX)
        await backend.initialize()
        client = aioredis.Redis.from_url(server.url)
        head = key_prefix(PREFIX, QUEUE).encode()
        await ready(procs.port)  # the API server answers (it may take a while on a busy machine)
        follower = asyncio.create_task(follow(backend, ledger, stop_follow))
        sse = [asyncio.create_task(sse_client(procs.port, s, stop_sse)) for s in sse_seen]
        began = time.monotonic()
        end = began + args.minutes * 60
        next_sample, killed = began, False
        to_cancel_running: list[tuple[float, str]] = []
        kinds, weights = zip(*KINDS, strict=True)
        while time.monotonic() < end:
            tick = time.monotonic()
            batch = max(1, round(args.rate / 10))
            for _ in range(batch):
                kind = rng.choices(kinds, weights)[0]
                job_id = await submit(service, kind, rng)
                ledger.kind[job_id] = kind
                if kind == "slow" and rng.random() < 0.5:
                    to_cancel_running.append((tick + 1.0, job_id))
                elif kind == "cancel":
                    await service.cancel_job(job_id)
            while to_cancel_running and to_cancel_running[0][0] <= tick:
                await service.cancel_job(to_cancel_running.pop(0)[1])
            if not killed and tick - began >= args.minutes * 30:
                procs.kill_worker("soak-w0")
                killed = True
                await asyncio.sleep(2.0)
                procs.start_worker("soak-w0b", args.concurrency)
            if tick >= next_sample:
                rows.append(await sample(client, head, backend, procs, ledger, began))
                print(json.dumps(rows[-1]["line"]), flush=True)
                next_sample += 60.0
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
        # drain: nothing submitted any more; the queue empties (the schedule goes on)
        for _, job_id in to_cancel_running:
            await service.cancel_job(job_id)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            depths = (await backend.metrics(1)).depths
            if depths["running"] == 0 and depths["scheduled"] <= 1 and depths["pending"] <= 1:
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(3.0)  # the last events reach the follower and the SSE clients
        rows.append(await sample(client, head, backend, procs, ledger, began))
        stop_follow.set()
        await follower
        stop_sse.set()
        for task in sse:
            task.cancel()
        await asyncio.gather(*sse, return_exceptions=True)
        log_events = await client.xinfo_stream(key_prefix(PREFIX, QUEUE) + "events")
        verdict = await reconcile(service, ledger)
        await service.close()
        await backend.close()
        await client.aclose()
    finally:
        procs.stop()
        server.stop()
    return {
        "args": vars(args) | {"logs": str(logs)},
        "rows": rows,
        "reconciliation": verdict,
        "sse": sse_seen,
        "events_followed": sum(ledger.events.values()),
        "events_added": int(log_events.get("entries-added") or 0),
        "follower_gap": ledger.gap,
    }


async def ready(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await writer.drain()
            line = await reader.readline()
            writer.close()
            if b" 200 " in line:
                return
        await asyncio.sleep(0.5)
    raise RuntimeError("the API server did not answer")


async def submit(service: Any, kind: str, rng: random.Random) -> str:
    if kind == "ok":
        return str(await service.submit_job("ok", [rng.uniform(5, 50)]))
    if kind == "flaky":
        return str(await service.submit_job("flaky", [rng.uniform(5, 50)], max_retries=2))
    if kind == "fail":
        return str(await service.submit_job("fail", max_retries=1))
    if kind == "slow":
        return str(await service.submit_job("slow", [rng.uniform(2, 5)]))
    # "cancel": waits 30 s (scheduled), or is queued and cancelled at once (pending, unless a
    # worker took it first: then it completes)
    return str(await service.submit_job("ok", [1], delay=30 if rng.random() < 0.5 else 0))


async def sample(
    client: Any, head: bytes, backend: Any, procs: Processes, ledger: Ledger, began: float
) -> dict[str, Any]:
    memory = await client.info("memory")
    kinds = await keys_by_kind(client, head)
    metrics = await backend.metrics(1)
    rss = {name: rss_mb(pid) for name, pid in procs.pids().items()}
    line = {
        "minute": round((time.monotonic() - began) / 60, 1),
        "submitted": len(ledger.kind),
        "redis_mb": round(memory["used_memory"] / 2**20, 1),
        "keys": sum(kinds.values()),
        "job_keys": kinds.get("job:*", 0),
        "events": await client.xlen(head + b"events"),
        "pending": metrics.depths["pending"],
        "dead": metrics.depths["failed"],
        "completed": metrics.depths["completed"],
        "rss_mb": {k: None if v is None else round(v, 1) for k, v in rss.items()},
    }
    return {"line": line, "kinds": dict(kinds), "totals": metrics.totals}


async def reconcile(service: Any, ledger: Ledger) -> dict[str, Any]:
    """Every job submitted: what became of it, against what its kind should come to."""
    outcome: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    lost, unexpected, still = [], [], []
    for job_id, kind in ledger.kind.items():
        final = ledger.final.get(job_id)
        if final is None:
            job = await service.get_job(job_id)
            final = f"still {job.status.value}" if job is not None else None
            if job is not None:
                still.append({"id": job_id, "kind": kind, "status": job.status.value,
                              "attempts": job.attempts, "worker": job.worker,
                              "events": ledger.trail.get(job_id, [])})
        if final is None:
            lost.append(job_id)
            final = "lost"
        outcome[final] += 1
        by_kind[kind][final] += 1
        if final not in EXPECTED[kind] and not final.startswith("still"):
            unexpected.append((job_id, kind, final))
    twice = {j: n for j, n in ledger.completed.items() if n > 1}
    attempts = {"flaky": 2, "fail": 2}  # the attempts each kind makes by design
    reruns = {
        j: n for j, n in ledger.started.items() if n > attempts.get(ledger.kind.get(j, ""), 1)
    }
    return {
        "submitted": len(ledger.kind),
        "outcomes": dict(outcome),
        "by_kind": {k: dict(v) for k, v in by_kind.items()},
        "lost": len(lost),
        "lost_ids": lost[:20],
        "unexpected": unexpected[:20],
        "unexpected_count": len(unexpected),
        "still": still[:20],
        "completed_twice": len(twice),
        "started_again": len(reruns),  # a worker killed midway: its jobs ran once more
    }


def report(result: dict[str, Any]) -> None:
    rows = [r["line"] for r in result["rows"]]
    names = sorted({n for r in rows for n in r["rss_mb"]})
    print("\nPer minute (Redis used_memory MB, keys, job records, event log, depths; RSS MB):")
    head = ["min", "submitted", "redis MB", "keys", "jobs", "events", "pend", "dead", "done"]
    print(" | ".join(head + names))
    for r in rows:
        cells = [r["minute"], r["submitted"], r["redis_mb"], r["keys"], r["job_keys"],
                 r["events"], r["pending"], r["dead"], r["completed"]]
        cells += [r["rss_mb"].get(n) for n in names]
        print(" | ".join(str(c) for c in cells))
    half = [r for r in rows if r["minute"] >= rows[-1]["minute"] / 2] or rows
    if len(half) >= 2:
        span = max(0.1, half[-1]["minute"] - half[0]["minute"])
        print(f"\nGrowth per minute over the second half ({half[0]['minute']}-"
              f"{half[-1]['minute']} min):")
        print(f"  Redis used_memory {(half[-1]['redis_mb'] - half[0]['redis_mb']) / span:+.2f} MB,"
              f" keys {(half[-1]['keys'] - half[0]['keys']) / span:+.0f}")
        for name in names:
            a, b = half[0]["rss_mb"].get(name), half[-1]["rss_mb"].get(name)
            if a is not None and b is not None:
                print(f"  {name} RSS {(b - a) / span:+.2f} MB")
        kinds_a = result["rows"][len(rows) - len(half)]["kinds"]
        kinds_b = result["rows"][-1]["kinds"]
        grew = {k: kinds_b.get(k, 0) - kinds_a.get(k, 0) for k in set(kinds_a) | set(kinds_b)}
        print("  keys by kind, change over the second half: "
              + ", ".join(f"{k} {v:+d}" for k, v in sorted(grew.items()) if v))
        print("  keys by kind at the end: "
              + ", ".join(f"{k} {v}" for k, v in sorted(result["rows"][-1]["kinds"].items())))
    v = result["reconciliation"]
    print(f"\nReconciliation: {v['submitted']} submitted; outcomes {v['outcomes']}; lost "
          f"{v['lost']}; outcome unlike its kind {v['unexpected_count']}; completed twice "
          f"{v['completed_twice']}; started again (killed worker) {v['started_again']}")
    for kind, outcomes in sorted(v["by_kind"].items()):
        print(f"  {kind}: {outcomes}")
    sse = result["sse"]
    print(f"SSE clients: {[s['events'] for s in sse]} events (log: {result['events_added']} "
          f"added), out of order {[s['out_of_order'] for s in sse]}, reconnections "
          f"{[s['reconnects'] for s in sse]}")
    for job in v["still"]:
        print(f"  not ended: {job}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=40.0, help="jobs submitted a second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sse", type=int, default=3)
    parser.add_argument("--dead-max", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--logs", type=Path, help="where the children's logs go")
    args = parser.parse_args()
    args.logs = args.logs or Path(os.environ.get("TMPDIR", "/tmp")) / f"soak-{os.getpid()}"
    args.logs.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(soak(args))
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
