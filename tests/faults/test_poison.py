"""Scenario 5: poison records. Bad records written straight into the queue's keys, as a
buggy producer in another language or an operator with redis-cli might: none may crash a
worker, each must end in the dead-letter queue with a machine-readable reason within 5 s,
nothing is ever unpickled, and the ordinary jobs around them run as usual.

Size: as asked. 500 bad records (18 kinds, among them 5 MB blobs, 100,000-deep nesting,
non-UTF-8 bytes and a pickle that would create a file) interleaved with 100 ordinary jobs,
2 worker processes at concurrency 8.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Harness

pytestmark = pytest.mark.timeout(90)



def pickle_payload(canary: Path) -> bytes:
    """A protocol-0 pickle that runs `touch <canary>` when unpickled (built by hand: this
    suite never imports pickle)."""
    return b"cos\nsystem\n(S'touch " + str(canary).encode() + b"'\ntR."


def poison_kinds(canary: Path) -> dict[str, tuple[str, dict[str, bytes] | bytes | None]]:
    """kind -> (expected error type, hash fields | raw string value | None for no record)."""
    blob = os.urandom(5 * 2**20)
    deep = b"[" * 100_000 + b"]" * 100_000
    pickled = pickle_payload(canary)
    return {
        "bad-json": ("MalformedRecord", {b"name": b"work", b"args": b"[1, 2"}),
        "args-not-list": ("MalformedRecord", {b"name": b"work", b"args": b'{"a": 1}'}),
        "kwargs-not-object": ("MalformedRecord", {b"name": b"work", b"kwargs": b"[1]"}),
        "no-name": ("MalformedRecord", {b"args": b"[]"}),
        "bad-priority": ("MalformedRecord", {b"name": b"work", b"priority": b"banana"}),
        "bad-timeout": ("MalformedRecord", {b"name": b"work", b"timeout": b"soon"}),
        "bad-attempts": ("MalformedRecord", {b"name": b"work", b"attempts": b"many"}),
        "blob-5mb": ("MalformedRecord", {b"name": b"work", b"args": blob}),
        "record-5mb": ("MalformedRecord", blob),
        "deep-nesting": ("MalformedRecord", {b"name": b"work", b"args": deep}),
        "non-utf8-name": ("MalformedRecord", {b"name": b"w\xff\xfeork", b"args": b"[]"}),
        "non-utf8-args": ("MalformedRecord", {b"name": b"work", b"args": b'["\xff\xfe"]'}),
        "pickle-args": ("MalformedRecord", {b"name": b"work", b"args": pickled}),
        "pickle-record": ("MalformedRecord", pickled),
        "no-record": ("MalformedRecord", None),
        # Not in `pending`: a due entry of `scheduled`, expired leases in `running`.
        "scheduled-bad-json": ("MalformedRecord", {b"name": b"work", b"args": b"{{"}),
        "running-bad-stalls": (
            "MalformedRecord",
            {b"name": b"work", b"status": b"running", b"stalls": b"some"},
        ),
        "running-bad-seq": (
            "MalformedRecord",
            {b"name": b"work", b"status": b"running", b"seq": b"first", b"args": b"[1,"},
        ),
    }


def zset_for(kind: str) -> str:
    return kind.split("-")[0] if kind.startswith(("scheduled-", "running-")) else "pending"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_pickle_payload_is_live(tmp_path: Path) -> None:
    """The control: the payload really creates its file when unpickled, so the canary not
    appearing in the test below means something."""
    canary = tmp_path / "control-canary"
    subprocess.run(
        [sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
        input=pickle_payload(canary),
        check=True,
        capture_output=True,
    )
    assert canary.exists()


async def test_poison_records_are_dead_lettered(harness: Harness, figure, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    workers = [harness.worker(8, worker_id=f"poison-{i}") for i in range(2)]
    async with harness.service() as service:
        warm = await service.submit_jobs([{"name": "work", "kwargs": {"ms": 1}}] * 200)
        harness.wait_terminal(warm, timeout=15)
        await asyncio.sleep(0.5)
        rss_before = [rss_mb(w.pid) for w in workers]

        kinds = poison_kinds(canary)
        big = {"blob-5mb", "record-5mb"}
        plan = [k for k in kinds if k not in big] * 40
        plan = plan[: 500 - 6]
        for n, kind in enumerate(["blob-5mb", "record-5mb"] * 3):  # spread over the run
            plan.insert(n * 80 + 10, kind)
        assert len(plan) == 500
        ordinary: list[str] = []
        poison: dict[str, str] = {}  # id -> kind
        r = harness.r
        pushed_at = time.time()
        for chunk in range(10):  # interleave ordinary jobs and poison in the pending queue
            ordinary += await service.submit_jobs([{"name": "work", "kwargs": {"ms": 5}}] * 10)
            pipe = r.pipeline(transaction=False)
            for n, kind in enumerate(plan[chunk * 50 : (chunk + 1) * 50]):
                job_id = f"poison-{kind}-{chunk}-{n}"
                poison[job_id] = kind
                value = kinds[kind][1]
                key = harness.key("job:" + job_id)
                if isinstance(value, dict):
                    pipe.hset(key, mapping=value)
                elif isinstance(value, bytes):
                    pipe.set(key, value)
                zset = zset_for(kind)
                if zset == "pending":
                    pipe.rpush(harness.key("pending:1"), job_id)
                else:
                    pipe.zadd(harness.key(zset), {job_id: 0})
            pipe.lpush(harness.key("wake"), *(["1"] * 50))
            pipe.execute()
        # A job no worker has a handler for is not poison: it waits, unserved (issue 22).
        unknown = await service.submit_jobs([{"name": "no_such_handler"}] * 20)
        # Members that are not job ids at all.
        odd = [b"../../etc/passwd", b"\xff\xfe\x00", b"x" * 5000, b""]
        r.rpush(harness.key("pending:1"), *odd)
        r.lpush(harness.key("wake"), "1")
        # Garbage on a worker's control channel.
        r.rpush(
            harness.key("control:poison-0"),
            b"\x80\x04not json",
            b"[]",
            b'{"op":"scale"}',
            b'{"op":"scale","concurrency":"lots"}',
            b'{"op":"launch"}',
        )

        peak = list(rss_before)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            peak = [max(p, rss_mb(w.pid)) for p, w in zip(peak, workers, strict=True)]
            if harness.r.zcard(harness.key("dead")) >= 500 + len(odd):
                break
            await asyncio.sleep(0.05)
        harness.wait_terminal(ordinary, timeout=10)
        # Lasting growth: after the poison, as much ordinary work as before it.
        after = await service.submit_jobs([{"name": "work", "kwargs": {"ms": 1}}] * 200)
        harness.wait_terminal(after, timeout=15)
        await asyncio.sleep(0.5)
        rss_after = [rss_mb(w.pid) for w in workers]
        held = (await service.get_metrics()).held["unserved"]
        waiting = [await service.get_job(job_id) for job_id in unknown]

    dead = dict(harness.r.zrange(harness.key("dead"), 0, -1, withscores=True))
    dead = {k.decode(errors="replace"): v for k, v in dead.items()}
    missing = [j for j in poison if j not in dead]
    late = [j for j in poison if j in dead and dead[j] / 1000 - pushed_at > 5.0]
    latency = max((dead[j] / 1000 - pushed_at for j in poison if j in dead), default=0.0)
    wrong_reason = []
    for job_id in poison:
        if job_id in dead:
            error = json.loads(harness.record(job_id).get("error") or "{}")
            if error.get("type") != kinds[poison[job_id]][0] or not error.get("message"):
                wrong_reason.append((poison[job_id], error))
    odd_dead = [k for k in dead if k.startswith("malformed-")]
    raw_ids = {harness.r.hget(harness.key("job:" + k), "raw_id") for k in odd_dead}
    statuses = harness.outcomes(ordinary)
    ordinary_ok = sum(1 for s in statuses.values() if s == "completed")
    crashed = [w.worker_id for w in workers if not w.alive()]
    tracebacks = [w.worker_id for w in workers if "Traceback" in w.log()]
    growth = max(a - b for a, b in zip(rss_after, rss_before, strict=True))
    peak_growth = max(a - b for a, b in zip(peak, rss_before, strict=True))

    figure(
        "5 poison records",
        f"worker crashes {len(crashed)}; dead-lettered {len(poison) - len(missing)}/500 "
        f"(+{len(odd_dead)}/{len(odd)} non-id members), {len(wrong_reason)} wrong reasons, "
        f"slowest {latency:.2f}s; canary {'APPEARED' if canary.exists() else 'absent'}; "
        f"RSS growth {growth:.1f} MB (transient peak +{peak_growth:.1f} MB); "
        f"ordinary jobs {ordinary_ok}/{len(ordinary)} completed",
        "0 crashes; each dead-lettered with a reason within 5 s; no canary; < 20 MB growth",
        "500 records of 18 kinds (6 of 5 MB) + 4 non-id members, 100 ordinary jobs, 2x8",
    )
    assert not crashed, harness.logs()
    assert not tracebacks, harness.logs()
    assert not missing, sorted({poison[j] for j in missing})
    assert not wrong_reason, wrong_reason[:5]
    assert not late, sorted({poison[j] for j in late})
    assert len(odd_dead) == len(odd) and len(raw_ids) == len(odd)
    assert not canary.exists()
    assert growth < 20, (rss_before, rss_after)
    assert ordinary_ok == len(ordinary)
    assert held == {"no_such_handler": 20}
    assert all(j is not None and (j.status, j.attempts) == ("pending", 0) for j in waiting)
