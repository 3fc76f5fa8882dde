"""Secrets in connection URLs (issue 9, item 7): never shown, and honoured by both clients.

A password must not appear in any error, whichever form it takes (user:password@, a lone
secret@, ?password=) and wherever the URL comes from (code, --url, JOBDECK_URL). Every option
redis-py reads from a URL must work on the fast hiredis connection too: credentials in the
query (TLS options: tests/test_tls.py). A rediss:// URL pointed at a plain port fails at once,
saying TLS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobdeck.core import JobService
from jobdeck.core.backend.urls import redact, redact_url

from .redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-Pw"

BAD_URLS = [
    f"redis://:{SECRET}@127.0.0.1:notaport/0",
    f"redis://user:{SECRET}@/0",
    f"redis://{SECRET}@/0",
    f"127.0.0.1:6379/0?password={SECRET}",
    f":{SECRET}@127.0.0.1:6379/0",
    f"redis://:{SECRET}@[::1/0",
    f"redis://:{SECRET}@127.0.0.1:6379/notadb",
    f"redis://127.0.0.1:6379/0?password={SECRET}&socket_timeout=abc",
    f"redis://:{SECRET}@127.0.0.1:6379/0?cluster=maybe",
    f"rediss://:{SECRET}@127.0.0.1:6379/0?ssl_cert_reqs=bogus",
    f"rediss://:{SECRET}@127.0.0.1:6379/0?ssl_ca_certs=/nonexistent/ca.pem",
    f"ftp://:{SECRET}@127.0.0.1/",
]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw1@h:1/0", "redis://***@h:1/0"),
        ("redis://bob:pw1@h:1/0", "redis://bob:***@h:1/0"),
        ("redis://pw1@h/0", "redis://***@h/0"),
        ("redis://u:p@ss/w@h:1/0", "redis://u:***@h:1/0"),
        (
            "redis://h:1/0?db=1&password=pw1&ssl_password=kp",
            "redis://h:1/0?db=1&password=***&ssl_password=***",
        ),
        ("h:1/0?password=pw1", "h:1/0?password=***"),
        ("unix:///tmp/r.sock?password=pw1", "unix:///tmp/r.sock?password=***"),
        ("redis://h:1/0", "redis://h:1/0"),
        ("rediss://h:1/0?ssl_ca_certs=/ca.pem", "rediss://h:1/0?ssl_ca_certs=/ca.pem"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_removes_every_spelling_of_the_secret() -> None:
    url = "redis://:p%40ss@h/0"
    assert redact(f"AUTH p@ss failed for {url} (p%40ss)", url) == (
        "AUTH *** failed for redis://***@h/0 (***)"
    )


@pytest.mark.parametrize("url", BAD_URLS)
def test_job_service_errors_never_show_the_password(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        JobService(url)
    assert str(caught.value).startswith("url:")
    assert SECRET not in str(caught.value)


@pytest.mark.slow
def test_cli_errors_never_show_the_password() -> None:
    """--url and JOBDECK_URL alike (all runs at once: each is a Python start-up)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "jobdeck.core.cli"]
    runs = [
        subprocess.Popen(
            [*cli, "stats", "--url", BAD_URLS[0]], env=env, cwd=ROOT, stderr=subprocess.PIPE
        ),
        *(
            subprocess.Popen(
                [*cli, "stats"], env={**env, "JOBDECK_URL": url}, cwd=ROOT, stderr=subprocess.PIPE
            )
            for url in (BAD_URLS[1], BAD_URLS[3], f"redis://:{SECRET}@127.0.0.1:{free_port()}/0")
        ),
    ]
    for run in runs:
        _, err = run.communicate(timeout=60)
        text = err.decode()
        assert run.returncode != 0 and text.startswith("jobdeck: error: "), text
        assert SECRET not in text, text


# -- the fast connection honours what redis-py honours ---------------------------------------
@pytest.fixture(scope="module")
def password_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    server.cli("ACL", "SETUSER", "bob", "on", ">bobpw", "~*", "&*", "+@all")
    server.cli("CONFIG", "SET", "requirepass", SECRET)
    yield server
    server.stop()


async def _round_trip(url: str) -> None:
    service = JobService(url, queue="secrets")
    async with service:
        job_id = await service.submit_job("noop")  # the fast path (EVALSHA)
        job = await service.get_job(job_id)  # redis-py
        assert job is not None and job.name == "noop"


@pytest.mark.parametrize(
    "query", [f"password={SECRET}", "username=bob&password=bobpw"], ids=["password", "acl-user"]
)
async def test_credentials_in_the_query_work_on_the_fast_path(
    password_server: RedisServer, query: str
) -> None:
    await _round_trip(f"redis://127.0.0.1:{password_server.port}/0?{query}")


async def test_rediss_to_a_plain_port_fails_fast_saying_tls(redis_server: RedisServer) -> None:
    service = JobService(f"rediss://127.0.0.1:{redis_server.port}/0", queue="secrets")
    started = time.monotonic()
    with pytest.raises(Exception, match="TLS") as caught:
        await service.initialize()
    assert time.monotonic() - started < 2.5, caught.value
    await service.close()
