"""Fixtures for the dashboard: keys, a served app over a private Redis with a real worker
process, and one headless Chromium shared by the browser tests of a module."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from jobdeck.core import JobService
from jobdeck.web import create_app
from jobdeck.web.auth import ApiKeys, Auth, parse_key_lines

from ..browser import browser_available, chromium
from ..redis_server import RedisServer
from ..worker_process import ROOT, WorkerProcess
from . import field_reads
from .served import ServedApp

OPERATE_KEY = "operate-key-0123456789-dashboard"
READ_KEY = "read-key-0123456789abc-dashboard"
QUEUE = "dash"


def keyed_auth() -> Auth:
    entries = parse_key_lines([f"operate:{OPERATE_KEY}", f"read:{READ_KEY}"], "test")
    return Auth.with_keys(ApiKeys(entries))


class LogLines(logging.Handler):
    """Every line the server logged (to check no key was ever written)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Queue:
    """The served app, its worker process, and a way to submit from another process."""

    def __init__(self, redis_url: str, prefix: str, served: ServedApp, worker: WorkerProcess):
        self.redis_url, self.prefix, self.served, self.worker = redis_url, prefix, served, worker

    @property
    def service(self) -> JobService:
        assert self.served.service is not None
        return self.served.service

    def submit_from_process(self, name: str, args: str = "[]", *extra: str) -> str:
        """`jobdeck submit` in its own process; returns the job id it prints."""
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "jobdeck.core.cli",
                "submit",
                name,
                "--args",
                args,
                "--url",
                self.redis_url,
                "--queue",
                QUEUE,
                "--prefix",
                self.prefix,
                *extra,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return out.stdout.strip().split()[-1]


@pytest.fixture(scope="module")
def dash_queue(redis_server: RedisServer) -> Iterator[Queue]:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    log = LogLines()
    served = ServedApp(
        lambda: JobService(redis_server.url, queue=QUEUE, prefix=prefix),
        lambda service: create_app(service, auth=keyed_auth()),
        log=log,
    ).start()
    served.log_lines = log.lines  # type: ignore[attr-defined]
    worker = WorkerProcess(
        "tests.apps.dashboard_tasks:service",
        redis_server.url,
        queue=QUEUE,
        prefix=prefix,
        concurrency=2,
        env={"JOBDECK_TEST_URL": redis_server.url},
    ).start()
    try:
        yield Queue(redis_server.url, prefix, served, worker)
    finally:
        worker.stop()
        served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not browser_available():
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install them)")
    with chromium(1280, 800) as driver:
        field_reads.install(driver)
        yield driver


@pytest.fixture(autouse=True)
def no_console_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every browser test: nothing in the page's console but expected HTTP statuses."""
    yield
    if "browser" not in request.fixturenames:
        return
    errors = [
        entry
        for entry in request.getfixturevalue("browser").get_log("browser")
        if entry["level"] == "SEVERE" and entry.get("source") != "network"
    ]
    assert errors == []
