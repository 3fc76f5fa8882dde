"""Harness for the fault-injection suite (issue 6).

Every test gets a private `redis-server` it may kill or restart, real `jobdeck worker`
subprocesses running `apps/faultapp.py`, and a ledger file the handlers append to. Each test
records the figure it reached with `figure(...)`; the table is printed at the end of the run
and written to `tests/faults/results.md` (not committed).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from jobdeck.core import JobService
from jobdeck.core.events import Event

from ..redis_server import RedisServer
from ..worker_process import WorkerProcess

APP = "tests.faults.apps.faultapp:service"
LEASE = 2.0
SWEEP = min(5.0, LEASE / 3)  # the worker CLI's heartbeat interval for this lease
QUEUE = "default"
TERMINAL = {"completed", "failed", "cancelled"}
RESULTS_PATH = Path(__file__).with_name("results.md")
_results: list[tuple[str, str, str, str]] = []


# -- the results table ------------------------------------------------------------------------
@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str, str, str, str], None]:
    """`figure(scenario, reached, asked, size)`: one row of the closing table."""

    def add(scenario: str, reached: str, asked: str, size: str) -> None:
        _results.append((scenario, reached, asked, size))
        print(f"\n[{request.node.name}] {scenario}: {reached} (asked: {asked}; size: {size})")

    return add


def _scenario_order(row: tuple[str, ...]) -> tuple[int, str]:
    number, _, rest = row[0].partition(" ")
    return (int(number) if number.isdigit() else 99, rest)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _results:
        return
    lines = [
        "| scenario | figure reached | figure asked | size used |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in sorted(_results, key=_scenario_order)),
    ]
    terminalreporter.write_sep("-", "fault-injection figures")
    for line in lines:
        terminalreporter.write_line(line)
    with contextlib.suppress(OSError):
        RESULTS_PATH.write_text(
            "# Fault-injection figures (last run)\n\n" + "\n".join(lines) + "\n"
        )


# -- a Redis the test may kill ----------------------------------------------------------------
class FaultRedis(RedisServer):
    """Records when the server first answered anything (maybe `-LOADING`) and when it
    answered PONG, so tests can time recovery from the moment Redis is back. `extra` are
    more `redis-server` arguments (e.g. a per-key load delay, for a real LOADING phase)."""

    answered_at: float | None = None
    ready_at: float | None = None
    loading_seen = False

    def start(self) -> FaultRedis:
        super().start()
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        self.answered_at = self.ready_at = None
        self.loading_seen = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
            ):
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
                if reply and self.answered_at is None:
                    self.answered_at = time.time()
                if reply.startswith(b"-LOADING"):
                    self.loading_seen = True
                if reply.startswith(b"+PONG"):
                    self.ready_at = time.time()
                    return
            time.sleep(0.01)
        raise RuntimeError(f"redis-server on port {self.port} did not start")


# -- the ledger ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Entry:
    job_id: str
    attempt: int
    event: str
    t: float
    pid: int
    extra: tuple[str, ...]


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()

    def entries(self, event: str | None = None) -> list[Entry]:
        out = []
        for line in self.path.read_text().splitlines():
            parts = line.split()
            entry = Entry(
                parts[0], int(parts[1]), parts[2], float(parts[3]), int(parts[4]), tuple(parts[5:])
            )
            if event is None or entry.event == event:
                out.append(entry)
        return out

    def count(self, event: str = "start") -> Counter[str]:
        return Counter(e.job_id for e in self.entries(event))


# -- the harness ----------------------------------------------------------------------------------
class Harness:
    def __init__(self, server: FaultRedis, tmp: Path) -> None:
        self.server = server
        self.tmp = tmp
        self.url = server.url
        self.prefix = "jobdeck"
        self.ledger = Ledger(tmp / "ledger.txt")
        self.workers: list[WorkerProcess] = []
        self._client: redis.Redis | None = None

    # keys and clients
    def key(self, name: str) -> str:
        return f"{self.prefix}:{{{QUEUE}}}:{name}"

    def pending(self) -> int:
        """Jobs waiting, over the four priority lists the pending queue is kept in."""
        return sum(int(self.r.llen(self.key(f"pending:{p}"))) for p in range(4))

    @property
    def r(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(self.url, socket_timeout=10)
        return self._client

    def service(self, **kwargs: Any) -> JobService:
        return JobService(self.url, QUEUE, self.prefix, **kwargs)

    # workers
    def worker(
        self,
        concurrency: int = 8,
        *,
        lease: float = LEASE,
        worker_id: str | None = None,
        env: dict[str, str] | None = None,
        start: bool = True,
        wait: bool = True,
        app: str = APP,
    ) -> WorkerProcess:
        proc = WorkerProcess(
            app,
            self.url,
            queue=QUEUE,
            prefix=self.prefix,
            concurrency=concurrency,
            lease=lease,
            shutdown_timeout=5.0,
            worker_id=worker_id or f"w-{uuid.uuid4().hex[:8]}",
            env={"JOBDECK_LEDGER": str(self.ledger.path), **(env or {})},
            log_dir=self.tmp,
        )
        self.workers.append(proc)
        if start:
            proc.start(wait=wait)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {w.worker_id}\n{w.log()[-3000:]}" for w in self.workers)

    # state
    def statuses(self, ids: Iterable[str]) -> dict[str, str | None]:
        ids = list(ids)
        out: dict[str, str | None] = {}
        for start in range(0, len(ids), 2000):
            chunk = ids[start : start + 2000]
            pipe = self.r.pipeline(transaction=False)
            for job_id in chunk:
                pipe.hget(self.key("job:" + job_id), "status")
            for job_id, status in zip(chunk, pipe.execute(), strict=True):
                out[job_id] = status.decode() if status is not None else None
        return out

    def outcomes(self, ids: Iterable[str]) -> dict[str, str | None]:
        """Like `statuses`, but a job whose record was trimmed from the bounded history
        (`history_max` completed jobs) is read from its terminal event instead."""
        out = self.statuses(ids)
        gone = {j for j, s in out.items() if s is None}
        if gone:
            final = {"JOB_COMPLETED": "completed", "JOB_CANCELLED": "cancelled"}
            for _, f in self.events():
                if f["j"] in gone and (f["t"] in final or f["s"] == "failed"):
                    out[f["j"]] = final.get(f["t"], "failed")
        return out

    def wait_terminal(self, ids: Iterable[str], timeout: float) -> float:
        """Until every id is completed, failed or cancelled; returns that moment (time.time)."""
        ids = list(ids)
        deadline = time.monotonic() + timeout
        left = ids
        while True:
            statuses = self.outcomes(left)
            left = [j for j in left if statuses[j] not in TERMINAL]
            if not left:
                return time.time()
            if time.monotonic() > deadline:
                sample = {j: statuses[j] for j in left[:5]}
                raise AssertionError(
                    f"{len(left)} of {len(ids)} jobs not terminal after {timeout}s: {sample}"
                    f"\n{self.logs()}"
                )
            time.sleep(0.1)

    def events(self) -> list[tuple[str, dict[str, str]]]:
        out: list[tuple[str, dict[str, str]]] = []
        last = "-"
        while True:
            batch = self.r.xrange(self.key("events"), min=last, count=10_000)
            if last != "-":
                batch = batch[1:]
            if not batch:
                return out
            for eid, fields in batch:
                raw = {k.decode(): v.decode(errors="replace") for k, v in fields.items()}
                # The log stores short type codes and leaves implied statuses out: read the
                # entry as jobdeck does, so the scenarios name types and statuses in full.
                event = Event.from_fields(eid.decode(), raw)
                raw.update(t=str(event.type), s=event.status or "")
                out.append((eid.decode(), raw))
            last = batch[-1][0].decode()

    def event_counts(self, event_type: str) -> Counter[str]:
        return Counter(f["j"] for _, f in self.events() if f["t"] == event_type)

    def record(self, job_id: str) -> dict[str, str]:
        raw = self.r.hgetall(self.key("job:" + job_id))
        return {k.decode(): v.decode(errors="replace") for k, v in raw.items()}

    @contextlib.contextmanager
    def monitor(self) -> Iterator[list[str]]:
        """Every command the server runs meanwhile (MONITOR), as redis-py prints them."""
        seen: list[str] = []
        client = redis.Redis.from_url(self.url)
        ready = threading.Event()

        def follow() -> None:
            try:
                with client.monitor() as m:
                    ready.set()
                    for command in m.listen():
                        seen.append(command["command"])
            except Exception:  # the connection is closed to stop it
                return

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        ready.wait(5)
        time.sleep(0.05)
        try:
            yield seen
        finally:
            with contextlib.suppress(Exception):
                client.connection_pool.disconnect()
            thread.join(5)

    def close(self) -> None:
        for proc in self.workers:
            if proc.alive():
                proc.kill()
        if self._client is not None:
            self._client.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    server = FaultRedis().start()
    h = Harness(server, tmp_path)
    try:
        yield h
    finally:
        h.close()
        server.stop()


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    """A harness on a Redis started with other options (`appendonly`, `extra`)."""
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        server = FaultRedis(**options).start()
        home = tmp_path / f"harness-{len(made)}"
        home.mkdir()
        made.append(Harness(server, home))
        return made[-1]

    try:
        yield make
    finally:
        for h in made:
            h.close()
            h.server.stop()


# -- small statistics ------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def group_by(entries: Iterable[Entry], key: Callable[[Entry], Any]) -> dict[Any, list[Entry]]:
    out: dict[Any, list[Entry]] = defaultdict(list)
    for entry in entries:
        out[key(entry)].append(entry)
    return out
