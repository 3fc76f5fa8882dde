"""The contract every peer driver implements, and the client process that drives it.

Why a separate client process per run: each library has import-time side effects (event loop
policies, signal handlers, global brokers, monkeypatching). Running every peer's submitting code
in a fresh process keeps them from influencing one another and from influencing the harness.

The harness talks to that process over stdin/stdout with one JSON object per line; replies carry
a prefix so a library printing to stdout cannot corrupt the protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

#: The job kinds every peer's tasks module defines, under these names ("rt": a job whose body
#: makes one Redis round trip, see completion.round_trip).
JOB_KINDS: tuple[str, ...] = ("noop", "sleep", "probe", "rt")
#: How long a "sleep" job sleeps (asyncio.sleep or time.sleep, per the peer's execution model).
SLEEP_SECONDS = 0.05
#: Reply lines from the client process start with this, everything else on stdout is ignored.
REPLY_PREFIX = "@@bench "

ENV_REDIS_URL = "BENCH_REDIS_URL"
ENV_CONTROL_URL = "BENCH_CONTROL_URL"
ENV_CONCURRENCY = "BENCH_CONCURRENCY"
ENV_VARIANT = "BENCH_VARIANT"


def env_concurrency(default: int = 10) -> int:
    """Worker concurrency the harness asked for (tasks modules read it at import time)."""
    return int(os.environ.get(ENV_CONCURRENCY, default))


def env_variant() -> str:
    return os.environ.get(ENV_VARIANT, "default")


def env_redis_url() -> str:
    return os.environ.get(ENV_REDIS_URL, "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class WorkerSpec:
    """What the harness needs to start a peer's own worker CLI."""

    bin_dir: str  # the venv's bin/, where each library's console script lives
    redis_url: str
    concurrency: int
    variant: str

    def exe(self, name: str) -> str:
        return os.path.join(self.bin_dir, name)


class PeerAdapter(ABC):
    """One job queue under test. Subclass AsyncPeer or SyncPeer, not this.

    Class attributes describe the peer for the report; `worker_argv` must not import the
    library (the harness calls it in its own process); everything else runs in the client
    process, which imports the library lazily in `connect`.
    """

    name: ClassVar[str]
    #: Python module that must be importable for this peer to run.
    requires: ClassVar[str]
    #: "default" is the documented defaults; "tuned" flips the peer's obvious knob.
    variants: ClassVar[tuple[str, ...]] = ("default",)
    #: One line per variant for the report: how the worker is started.
    notes: ClassVar[dict[str, str]] = {}
    #: Whether the library has a documented bulk-submit call (used by the enqueue-bulk scenario).
    supports_bulk: ClassVar[bool] = False
    #: Whether the client API is asyncio (else it is a plain blocking client).
    is_async: ClassVar[bool]
    #: A second client of a queue already in the table (jobdeck's SyncJobService): its row
    #: runs only the scenarios that time the client (enqueue); the worker is the other row's.
    client_only: ClassVar[bool] = False

    def __init__(self, redis_url: str, variant: str = "default") -> None:
        self.redis_url = redis_url
        self.variant = variant

    @classmethod
    def unavailable_reason(cls, bin_dir: str) -> str | None:
        """None if this peer can run here, else a one-line reason (shown in the report)."""
        if importlib.util.find_spec(cls.requires.split(".")[0]) is None:
            return f"python module {cls.requires!r} is not installed in the peers venv"
        try:
            if importlib.util.find_spec(cls.requires) is None:
                return f"python module {cls.requires!r} is not installed in the peers venv"
        except ImportError as exc:
            return f"cannot import {cls.requires!r}: {exc}"
        return None

    @classmethod
    @abstractmethod
    def worker_argv(cls, spec: WorkerSpec) -> list[str]:
        """The peer's own worker command line, as its docs tell a user to run it."""

    @staticmethod
    def kind_args(kind: str, index: int) -> tuple[Any, ...]:
        """Positional args of a job of `kind`: only the latency probe takes one (its index)."""
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        return (index,) if kind == "probe" else ()


class AsyncPeer(PeerAdapter):
    """A peer whose client API is asyncio; submits are awaited one at a time in a loop."""

    is_async = True

    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def submit(self, kind: str, index: int) -> None: ...

    async def submit_bulk(self, kind: str, indices: Sequence[int]) -> None:
        raise NotImplementedError(f"{self.name} has no bulk submit")

    @abstractmethod
    async def close(self) -> None: ...


class SyncPeer(PeerAdapter):
    """A peer whose client API is blocking (RQ, Dramatiq, Celery): no event loop involved."""

    is_async = False

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def submit(self, kind: str, index: int) -> None: ...

    def submit_bulk(self, kind: str, indices: Sequence[int]) -> None:
        raise NotImplementedError(f"{self.name} has no bulk submit")

    @abstractmethod
    def close(self) -> None: ...


# --- client process ---------------------------------------------------------------------------


def _reply(obj: dict[str, Any]) -> None:
    sys.stdout.write(REPLY_PREFIX + json.dumps(obj) + "\n")
    sys.stdout.flush()


def _requests() -> Iterator[dict[str, Any]]:
    """Harness requests, one JSON object per stdin line, until "quit" or EOF."""
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "quit":
            return
        yield request


def _error(exc: Exception) -> dict[str, Any]:
    return {"ok": False, "error": f"{type(exc).__name__}: {exc}",
            "trace": traceback.format_exc(limit=8)}


def _pace(t0: float, k: int, interval: float) -> float:
    """Seconds to wait before the k-th paced submit (fixed schedule, so no drift)."""
    return t0 + k * interval - time.monotonic()


def _shares(start: int, n: int, producers: int) -> list[tuple[int, int]]:
    """n job indices from `start` split into `producers` runs (first index, count)."""
    out, first = [], start
    for k in range(producers):
        count = n // producers + (1 if k < n % producers else 0)
        out.append((first, count))
        first += count
    return out


async def _submit_share(peer: AsyncPeer, kind: str, first: int, count: int) -> None:
    """One of many producers sharing one client: its submits awaited one at a time."""
    for index in range(first, first + count):
        await peer.submit(kind, index)


_thread_errors: list[str] = []


def _submit_share_sync(peer: SyncPeer, kind: str, first: int, count: int) -> None:
    """One of many threads sharing one client: its submits made one at a time."""
    try:
        for index in range(first, first + count):
            peer.submit(kind, index)
    except Exception as exc:
        _thread_errors.append(f"{type(exc).__name__}: {exc}")


async def _fill_async(peer: AsyncPeer, kind: str, start: int, n: int) -> None:
    """Queue jobs as fast as the client allows, for scenarios that only need a full queue
    (drain, sleep): the bulk call if the library has one, else 50 submits in flight at once."""
    if peer.supports_bulk:
        await peer.submit_bulk(kind, range(start, start + n))
        return
    end = start + n
    for chunk in range(start, end, 50):
        await asyncio.gather(*(peer.submit(kind, i) for i in range(chunk, min(chunk + 50, end))))


async def _serve_async(peer: AsyncPeer) -> None:
    """Serve an asyncio client: submits are awaited one at a time in a plain loop."""
    loop = asyncio.get_running_loop()
    await peer.connect()
    _reply({"ready": True})
    requests = _requests()
    while True:
        request = await loop.run_in_executor(None, next, requests, None)
        if request is None:
            break
        kind, start, n = request["kind"], request["start"], request["n"]
        try:
            if request["op"] == "submit":
                t0 = time.perf_counter()
                for index in range(start, start + n):
                    await peer.submit(kind, index)
                result: dict[str, Any] = {"elapsed": time.perf_counter() - t0}
            elif request["op"] == "submit_bulk":
                t0 = time.perf_counter()
                await peer.submit_bulk(kind, range(start, start + n))
                result = {"elapsed": time.perf_counter() - t0}
            elif request["op"] == "fill":
                t0 = time.perf_counter()
                await _fill_async(peer, kind, start, n)
                result = {"elapsed": time.perf_counter() - t0}
            elif request["op"] == "concurrent":
                t0 = time.perf_counter()
                await asyncio.gather(*(
                    _submit_share(peer, kind, first, count)
                    for first, count in _shares(start, n, request["producers"])
                ))
                result = {"elapsed": time.perf_counter() - t0}
            elif request["op"] == "paced":
                submits: dict[str, float] = {}
                t0 = time.monotonic()
                for k in range(n):
                    delay = _pace(t0, k, request["interval"])
                    if delay > 0:
                        await asyncio.sleep(delay)
                    submits[str(start + k)] = time.time()
                    await peer.submit(kind, start + k)
                result = {"submits": submits}
            else:
                raise ValueError(f"unknown op {request['op']!r}")
            _reply({"ok": True, **result})
        except Exception as exc:
            _reply(_error(exc))
    await peer.close()


def _serve_sync(peer: SyncPeer) -> None:
    """Serve a blocking client: no event loop anywhere, as a user of RQ/Celery/Dramatiq would."""
    peer.connect()
    _reply({"ready": True})
    for request in _requests():
        kind, start, n = request["kind"], request["start"], request["n"]
        try:
            if request["op"] == "submit":
                t0 = time.perf_counter()
                for index in range(start, start + n):
                    peer.submit(kind, index)
                result: dict[str, Any] = {"elapsed": time.perf_counter() - t0}
            elif request["op"] == "submit_bulk":
                t0 = time.perf_counter()
                peer.submit_bulk(kind, range(start, start + n))
                result = {"elapsed": time.perf_counter() - t0}
            elif request["op"] == "fill":  # untimed prefill: bulk if there is one
                t0 = time.perf_counter()
                if peer.supports_bulk:
                    peer.submit_bulk(kind, range(start, start + n))
                else:
                    for index in range(start, start + n):
                        peer.submit(kind, index)
                result = {"elapsed": time.perf_counter() - t0}
            elif request["op"] == "concurrent":
                threads = [
                    threading.Thread(target=_submit_share_sync, args=(peer, kind, first, count))
                    for first, count in _shares(start, n, request["producers"])
                ]
                t0 = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                result = {"elapsed": time.perf_counter() - t0}
                if _thread_errors:
                    raise RuntimeError(f"{len(_thread_errors)} thread(s) failed: "
                                       f"{_thread_errors.pop()}")
            elif request["op"] == "paced":
                submits: dict[str, float] = {}
                t0 = time.monotonic()
                for k in range(n):
                    delay = _pace(t0, k, request["interval"])
                    if delay > 0:
                        time.sleep(delay)
                    submits[str(start + k)] = time.time()
                    peer.submit(kind, start + k)
                result = {"submits": submits}
            else:
                raise ValueError(f"unknown op {request['op']!r}")
            _reply({"ok": True, **result})
        except Exception as exc:
            _reply(_error(exc))
    peer.close()


def client_main(adapter: type[PeerAdapter], argv: list[str] | None = None) -> None:
    """Entry point of `python -m bench.peers.<name>_peer client --url ... --variant ...`."""
    parser = argparse.ArgumentParser(prog=f"bench.peers.{adapter.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    client = sub.add_parser("client", help="serve submit requests from the harness on stdin")
    client.add_argument("--url", default=env_redis_url())
    client.add_argument("--variant", default=env_variant())
    show = sub.add_parser("worker-argv", help="print the worker command line and exit")
    show.add_argument("--url", default=env_redis_url())
    show.add_argument("--variant", default=env_variant())
    show.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args(argv)
    if args.command == "worker-argv":
        spec = WorkerSpec(os.path.dirname(sys.executable), args.url, args.concurrency, args.variant)
        print(" ".join(adapter.worker_argv(spec)))
        return
    peer = adapter(args.url, args.variant)
    if isinstance(peer, AsyncPeer):
        asyncio.run(_serve_async(peer))
    else:
        assert isinstance(peer, SyncPeer)
        _serve_sync(peer)
