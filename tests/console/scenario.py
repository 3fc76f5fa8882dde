"""A scripted queue for pictures: snapshot tests and `screenshots/make_screenshots.py`.

It runs on the memory backend with a frozen clock and seeded randomness, so every run
builds the same queue: a minute of history (the sparkline), dead letters with tracebacks,
running jobs part-way through, three workers, and 1,245 pending or scheduled jobs. It drives
the backend's transitions directly (claim, progress, finish, heartbeat), as workers would,
so nothing depends on timing.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any
from unittest import mock

from jobdeck.core import JobService
from jobdeck.core.backend.base import Finish, Outcome, ProgressUpdate, WorkerRecord
from jobdeck.core.backend.memory import clock as memory_clock
from jobdeck.core.codec import dumps

__all__ = ["T0", "Scenario", "frozen_clock", "settle"]

T0 = 1_767_258_000.0  # 2026-01-01 09:00:00 UTC: "now" in every picture
LEASE = 3600.0


async def settle(pilot: Any, *keys: str, detail: bool = False, timeout: float = 10.0) -> None:
    """Wait for the console's first reads, press `keys`, and wait until what they asked
    for is on screen (cursor blink off, so pictures are stable)."""
    from textual.widgets import Input

    app = pilot.app

    async def wait(check: Any) -> None:
        for _ in range(int(timeout / 0.02)):
            if check():
                return
            await pilot.pause(0.02)
        raise TimeoutError("the console did not settle")

    await wait(lambda: app.fetches >= 1 and app.state.workers_loaded)
    for key in keys:
        await pilot.press(key)
        await pilot.pause()
    tab = app.state.active
    await wait(lambda: app.state.views[tab].loaded and app.table(tab).loaded)
    await wait(lambda: not app.painter.due)
    if detail:
        await wait(lambda: getattr(app.screen, "job", None) is not None)
    for field in app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause(0.1)


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def ms(self) -> int:
        return round(self.now * 1000)


@contextlib.contextmanager
def frozen_clock(now: float = T0) -> Iterator[_Clock]:
    """The memory backend's clock, under the script's control."""
    clock = _Clock(now)
    with mock.patch.object(memory_clock, "now_ms", clock.ms):
        yield clock


_TRACE = """Traceback (most recent call last):
  File "/srv/app/jobdeck/core/worker/pool.py", line 304, in _attempt
    result = await self._call(handler, job.args, job.kwargs, job.timeout, ctx)
  File "/srv/app/shop/tasks.py", line {line}, in {name}
    {code}
  File "/srv/app/shop/clients.py", line 88, in {call}
    raise {kind}({message!r})
{kind}: {message}
"""

_FAILURES = (
    ("charge_card", "RuntimeError", "payment gateway timeout for order 4411", "gateway.charge"),
    ("sync_inventory", "ConnectionRefusedError", "warehouse API refused the connection", "post"),
    ("charge_card", "RuntimeError", "card declined: insufficient funds", "gateway.charge"),
    ("export_csv", "PermissionError", "[Errno 13] Permission denied: '/exports/q4.csv'", "open"),
    ("send_email", "SMTPRecipientsRefused", "user4471@example.com: mailbox unavailable", "send"),
    ("sync_inventory", "TimeoutError", "timed out after 30s", "post"),
    ("build_report", "KeyError", "'region'", "lookup"),
)
_QUICK = ("send_email", "send_email", "send_email", "crunch", "export_csv", "charge_card")
_RESULTS = {
    "send_email": lambda rng: {"status": "sent", "id": f"<{rng.randint(10**6, 10**7)}@mx>"},
    "crunch": lambda rng: rng.randint(10**9, 10**10),
    "export_csv": lambda rng: f"exports/orders-{rng.randint(100, 999)}.csv",
    "charge_card": lambda rng: f"charged {rng.uniform(5, 500):.2f} EUR",
}
_RUNNING = (
    ("resize_image", ["uploads/img_7731.png"], 0.82, "size 4/5"),
    ("build_report", ["2025-12"], 0.35, "page 21 of 60"),
    ("resize_image", ["uploads/img_7734.png"], 0.12, "size 1/5"),
    ("crunch", [], 0.64, "crunching"),
    ("build_report", ["2025-11"], 0.91, "page 55 of 60"),
    ("export_csv", ["orders", "q4"], 0.47, "row 47,112 of 100,000"),
)
_WORKERS = (
    ("web-1-4821-5f2c1a", "web-1", 4821, 4),
    ("web-2-5307-c03e9b", "web-2", 5307, 4),
    ("batch-1-7714-e1d480", "batch-1", 7714, 0),
)


class Scenario:
    """Builds the queue into `service` (a memory-backend service) under `clock`."""

    def __init__(self, service: JobService, clock: _Clock, seed: int = 7) -> None:
        self.service, self.backend, self.clock = service, service.backend, clock
        self.rng = random.Random(seed)
        self.ids: dict[str, str] = {}

    def new_id(self) -> str:
        """An id shaped like jobdeck's own (models.new_id), from the seeded generator."""
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(20))

    async def build(self) -> dict[str, str]:
        await self._history()
        await self._running()
        await self._pending()
        await self._workers()
        self.clock.now = T0
        return self.ids

    async def _run_one(
        self, worker: str, spec: dict[str, Any], at: float, runtime: float, **how: Any
    ) -> str:
        self.clock.now = at
        job_id = spec.setdefault("job_id", self.new_id())
        await self.service.submit_jobs([spec])
        self.clock.now = at + self.rng.uniform(0.01, 0.3)
        batch = await self.backend.claim(worker, 1, LEASE)
        claimed = batch.jobs[0]
        self.clock.now += runtime
        outcome = how.get("outcome", Outcome.COMPLETED)
        if outcome == Outcome.COMPLETED:
            payload, data = dumps(how.get("result")), {"runtime": round(runtime, 3)}
        elif outcome == Outcome.FAILED:
            error = how["error"]
            payload = dumps(error)
            data = {"will_retry": False, "error_type": error["type"], "error": error["message"]}
            data.update(attempt=1, runtime=round(runtime, 3))
        else:
            payload, data = b"", {"reason": "cancelled while running", "runtime": runtime}
        finish = Finish(job_id, claimed.token, outcome, payload, event_data=dumps(data))
        await self.backend.finish(worker, [finish])
        return job_id

    async def _history(self) -> None:
        """A minute of completions at a varying rate, with failures and cancellations."""
        failures = iter(_FAILURES)
        for second in range(60):
            start = T0 - 61 + second
            rate = 4 + 3 * math.sin(second / 5) + (6 if 38 <= second <= 42 else 0)
            for n in range(max(1, round(rate))):
                name = self.rng.choice(_QUICK)
                spec = {"name": name, "args": [f"user{self.rng.randint(1000, 9999)}@example.com"]}
                at = start + n / (rate + 1)
                runtime = self.rng.uniform(0.02, 0.9)
                worker = _WORKERS[n % 2][0]
                result = _RESULTS[name](self.rng)
                await self._run_one(worker, spec, at, runtime, result=result)
            if second % 8 == 3:
                name, kind, message, call = next(failures, _FAILURES[0])
                trace = _TRACE.format(
                    line=40 + second,
                    name=name,
                    code=f"await client.{call}(payload)",
                    call=call,
                    kind=kind,
                    message=message,
                )
                error = {"type": kind, "message": message, "traceback": trace}
                spec = {"name": name, "args": [self.rng.randint(1000, 9999)], "priority": "high"}
                job_id = await self._run_one(
                    _WORKERS[1][0], spec, start + 0.5, 1.2, outcome=Outcome.FAILED, error=error
                )
                self.ids.setdefault("dead", job_id)
            if second in (20, 45):
                spec = {"name": "build_report", "args": ["2025-10"], "priority": "low"}
                await self._run_one(
                    _WORKERS[0][0], spec, start + 0.2, 3.0, outcome=Outcome.CANCELLED
                )

    async def _running(self) -> None:
        for n, (name, args, fraction, message) in enumerate(_RUNNING):
            worker = _WORKERS[n % 2][0]
            self.clock.now = T0 - 40 + n * 5
            job_id = self.new_id()
            await self.service.submit_jobs([{"name": name, "args": args, "job_id": job_id}])
            self.clock.now += 0.2
            claimed = (await self.backend.claim(worker, 1, LEASE)).jobs[0]
            self.clock.now = T0 - 0.5
            update = ProgressUpdate(job_id, claimed.token, fraction, message)
            await self.backend.progress([update])
            self.ids.setdefault("running", job_id)

    async def _pending(self) -> None:
        names = ("send_email", "resize_image", "crunch", "charge_card", "export_csv")
        priorities = ("low", "normal", "high", "critical")
        for chunk in range(24):
            self.clock.now = T0 - 95 + chunk * 3.7
            specs = []
            for _ in range(50 if chunk < 23 else 90):
                name = self.rng.choice(names)
                arg: Any = self.rng.randint(1, 500)
                if name == "send_email":
                    arg = f"user{self.rng.randint(1000, 9999)}@example.com"
                priority = self.rng.choices(priorities, weights=(30, 60, 8, 1))[0]
                specs.append(
                    {"name": name, "args": [arg], "priority": priority, "job_id": self.new_id()}
                )
            await self.service.submit_jobs(specs)
        self.clock.now = T0 - 5
        delayed = [
            {"name": "send_reminder", "args": [n], "delay": 30.0 * (n + 1), "job_id": self.new_id()}
            for n in range(5)
        ]
        await self.service.submit_jobs(delayed)

    async def _workers(self) -> None:
        jobs = await self.service.list_jobs("running", limit=100)
        running = Counter(job.worker for job in jobs)
        for n, (worker_id, host, pid, slots) in enumerate(_WORKERS):
            self.clock.now = T0 - 0.4 - n * 1.1
            record = WorkerRecord(
                id=worker_id,
                host=host,
                pid=pid,
                queue=self.service.queue,
                concurrency=slots,
                running=running.get(worker_id, 0),
                started_at=T0 - 3600 * (n + 1),
                last_heartbeat=self.clock.now,
                processed=1200 + 337 * n,
                failed=3 + n,
                handlers=_HANDLERS[: 4 - n],
                handler_count=4 - n,
            )
            await self.backend.heartbeat(record, [], LEASE)


_HANDLERS = ["generate_report", "resize_image", "send_email", "send_reminder"]


async def open_past(pilot: Any, key: str, timeout: float = 10.0) -> None:
    """Press `t` or `m` and wait for its screen: the first time, the console reads the event
    log first (it keeps none of it until the past is asked for)."""
    app = pilot.app
    await pilot.press(key)
    for _ in range(int(timeout / 0.02)):
        if not app.on_main:
            await pilot.pause(0.05)
            return
        await pilot.pause(0.02)
    raise TimeoutError(f"{key}: no screen of the past")
