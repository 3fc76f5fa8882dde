"""Real `jobdeck worker` subprocesses for tests: start, wait until registered, kill, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent


def sync_client(url: str) -> redis.Redis | redis.RedisCluster:
    """A plain client, or a cluster client when the server is a cluster node."""
    client = redis.Redis.from_url(url)
    if client.info("cluster").get("cluster_enabled"):
        client.close()
        return redis.RedisCluster.from_url(url)
    return client


class WorkerProcess:
    """`jobdeck worker APP` as its own process, logging to a file the test can read."""

    def __init__(
        self,
        app: str,
        url: str,
        *,
        queue: str = "default",
        queues: list[str] | None = None,
        prefix: str = "jobdeck",
        concurrency: int = 4,
        lease: float = 30.0,
        shutdown_timeout: float = 30.0,
        worker_id: str | None = None,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.app, self.url, self.queue, self.prefix = app, url, queue, prefix
        # several queues: "name" or "name=weight"; the first one's registration is waited on
        self.queues = queues or [queue]
        self.queue = self.queues[0].partition("=")[0]
        self.worker_id = worker_id or f"w{os.getpid()}-{time.monotonic_ns() % 10**9}"
        self.args = [
            sys.executable,
            "-m",
            "jobdeck.core.cli",
            "worker",
            app,
            "--url",
            url,
            *(arg for q in self.queues for arg in ("--queue", q)),
            "--prefix",
            prefix,
            "--concurrency",
            str(concurrency),
            "--lease",
            str(lease),
            "--shutdown-timeout",
            str(shutdown_timeout),
            "--worker-id",
            self.worker_id,
        ]
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.log_path = (log_dir or Path("/tmp")) / f"jobdeck-{self.worker_id}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True, timeout: float = 15.0) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        if wait:
            self.wait_registered(timeout)
        return self

    def wait_registered(self, timeout: float = 15.0) -> None:
        """Until the worker's heartbeat record is in Redis (it is then claiming)."""
        client = sync_client(self.url)
        keys = [
            f"{self.prefix}:{{{q.partition('=')[0]}}}:worker:{self.worker_id}" for q in self.queues
        ]
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"worker exited early:\n{self.log()}")
                if all(client.exists(key) for key in keys):
                    return
                time.sleep(0.02)
        finally:
            client.close()
        raise TimeoutError(f"worker {self.worker_id} did not register:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.alive():
            try:
                self.terminate(10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def spawned_workers(
    app: str, url: str, *, queue: str, prefix: str, log_dir: Path, lease: float
) -> Iterator[Callable[..., WorkerProcess]]:
    """`spawn(concurrency, **options)` starts a worker of `app` on `queue`; on exit every one
    started gets SIGTERM (killed if it has not stopped within 10 s) and its log is printed,
    so a failing test shows what its workers said."""
    started: list[WorkerProcess] = []

    def spawn(concurrency: int = 2, **options: Any) -> WorkerProcess:
        options.setdefault("lease", lease)
        options.setdefault("shutdown_timeout", 1.0)
        worker = WorkerProcess(
            app,
            url,
            queue=queue,
            prefix=prefix,
            concurrency=concurrency,
            env={"JOBDECK_TEST_URL": url},
            log_dir=log_dir,
            **options,
        )
        started.append(worker)
        return worker.start()

    try:
        yield spawn
    finally:
        for worker in started:
            worker.signal(signal.SIGTERM)
        for worker in started:
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
            print(f"--- log of worker {worker.worker_id} ---\n{worker.log()}")
