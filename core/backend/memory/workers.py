"""Worker registry, wake-ups and control messages in memory (heartbeat.lua, workers.lua,
unregister.lua, control.lua, and the BLPOPs on `wake` and `control:<id>`): functions over the
backend's `Lib`; the two blocking reads (`wait_for_work`, `next_control`) await."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from ...codec import decode_control, dumps, loads
from ..base import WorkerRecord
from . import clock, expiry
from .lib import Lib
from .workflows import FlowStep

__all__ = [
    "heartbeat",
    "interrupt_wait",
    "list_workers",
    "next_control",
    "send_control",
    "unregister_worker",
    "wait_for_work",
]


def list_workers(lib: Lib) -> list[WorkerRecord]:
    s, now = lib.s, clock.now_ms()
    lib.drop_stale_workers(now)
    workers = []
    for score, worker_id in s.workers.items():
        info = s.worker_info.get(worker_id)
        if info is None:
            continue
        try:
            data = loads(info[0])
            data["last_heartbeat"] = score / 1000
            workers.append(WorkerRecord(**data))
        except (TypeError, ValueError):
            continue  # a record we cannot read is not a worker we can show
    return workers


def heartbeat(
    lib: Lib, worker: WorkerRecord, leases: Sequence[tuple[str, str]], lease: float
) -> tuple[list[str], list[str]]:
    s, now = lib.s, clock.now_ms()
    ttl_ms = int(lib.settings.worker_ttl * 1000)
    s.worker_info[worker.id] = (dumps(worker.to_dict()), now + ttl_ms)
    s.workers.add(worker.id, now)
    lost: list[str] = []
    cancel: list[str] = []
    for job_id, token in leases:
        rec = lib.job(job_id, now)
        if rec is not None and rec.get("token") == token:
            s.sets["running"].add(job_id, now + int(lease * 1000), only_existing=True)
            if rec.get("cancel") == "1":
                cancel.append(job_id)
        else:
            lost.append(job_id)
    stalled_out = lib.recover(now, 100, lib.settings.max_stalls)
    if stalled_out or s.flows.work or len(s.flows.expiring):  # (workflows) heartbeat.lua
        step = FlowStep(lib, now)
        for job_id, status in stalled_out:
            rec = s.jobs.get(job_id)
            if rec is not None:
                step.ended(job_id, status, rec)
        expiry.sweep(step, 200)
        step.finish()
    lib.trim_dead(now)
    lib.expire_unique(now)
    lib.drop_stale_workers(now)
    return lost, cancel


def unregister_worker(lib: Lib, worker_id: str) -> None:
    lib.s.workers.remove(worker_id)
    lib.s.worker_info.pop(worker_id, None)
    lib.s.control.pop(worker_id, None)


async def wait_for_work(lib: Lib, timeout: float) -> None:
    """Take one wake-up token, waiting up to `timeout` for one (BLPOP on `wake`)."""
    s = lib.s
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.01, timeout)
    interrupts = lib.interrupts
    while True:
        with s.lock:
            seen = s.work_signal.version
            if s.wake > 0:
                s.wake -= 1
                return
        remaining = deadline - loop.time()
        if remaining <= 0 or lib.interrupts != interrupts:
            return
        await s.work_signal.wait(remaining, seen)


def interrupt_wait(lib: Lib) -> None:
    lib.interrupts += 1
    lib.s.work_signal.notify()


def send_control(lib: Lib, message: Mapping[str, Any], worker_id: str | None) -> int:
    s, now = lib.s, clock.now_ms()
    target, payload = worker_id or "*", dumps(dict(message))
    oldest = now - int(lib.settings.worker_ttl * 1000)
    sent = 0
    for score, live in s.workers.items():
        if score >= oldest and target in ("*", live):
            lib.push_control(now, live, payload)
            sent += 1
    return sent


async def next_control(
    lib: Lib,
    worker_id: str,
    timeout: float,
) -> list[dict[str, Any]]:
    loop, s = asyncio.get_running_loop(), lib.s
    deadline = loop.time() + max(0.01, timeout)
    while True:
        with s.lock:
            seen = s.control_signal.version
            queue = lib.control_queue(worker_id, clock.now_ms())
            if queue:
                raw = [queue.popleft() for _ in range(min(len(queue), 101))]  # BLPOP, LPOP 100
                if not queue:
                    del s.control[worker_id]
                return decode_control(raw)
        remaining = deadline - loop.time()
        if remaining <= 0:
            return []
        await s.control_signal.wait(remaining, seen)
