"""jobdeck mounted in a real Flask application (Werkzeug's threaded server, a subprocess) at
/jobdeck, with a real worker process, spoken to with the standard library's HTTP client:
the same keys and gate as `jobdeck serve`, the job runs, the dashboard and its sign-in live
under the prefix, and the host's own routes are untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from ..worker_process import ROOT, WorkerProcess

pytest.importorskip("flask")
pytest.importorskip("a2wsgi")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

KEY = "operate-key-0123456789-flask"


@pytest.fixture
def host(redis_url: str, prefix: str) -> Iterator[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JOBDECK_URL": redis_url,
        "JOBDECK_QUEUE": "apps",
        "JOBDECK_PREFIX": prefix,
        "JOBDECK_API_KEYS": f"operate:{KEY}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.apps.flask_host"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on "), line
    worker = WorkerProcess(
        "tests.apps.tasks:service",
        redis_url,
        queue="apps",
        prefix=prefix,
        concurrency=2,
        env={"JOBDECK_TEST_URL": redis_url},
    ).start()
    try:
        yield line.split()[-1]
    finally:
        worker.stop()
        process.terminate()
        process.wait(10)


def call(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, bytes]:
    """Status, headers (looked up in any case) and body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_flask_mounts_the_api_and_dashboard_with_the_same_auth(host: str) -> None:
    api, keyed = f"{host}/jobdeck/api/v1", {"Authorization": f"Bearer {KEY}"}
    assert call("GET", f"{host}/")[2] == b"the host application"
    status, headers, body = call("GET", f"{api}/jobs")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert call("POST", f"{api}/jobs", {"name": "add", "args": [2, 3]})[0] == 401
    status, headers, body = call("POST", f"{api}/jobs", {"name": "add", "args": [2, 3]}, keyed)
    assert status == 201, body
    assert headers["Location"].startswith("/jobdeck/api/v1/jobs/")
    job_id = json.loads(body)["id"]
    deadline = time.monotonic() + 20
    while True:
        job = json.loads(call("GET", f"{api}/jobs/{job_id}?wait=5", headers=keyed)[2])
        if job["status"] == "completed" or time.monotonic() > deadline:
            break
    assert job["status"] == "completed" and job["result"]["sum"] == 5
    assert call("GET", f"{host}/healthz")[0] == 404  # the host app has none: only under /jobdeck
    assert call("GET", f"{host}/jobdeck/healthz")[2] == b'{"status":"ok"}'
    assert call("GET", f"{api}/jobs", headers={"X-API-Key": "wrong-key-0123456789"})[0] == 401


def test_flask_serves_the_dashboard_and_its_sign_in_under_the_prefix(host: str) -> None:
    status, headers, page = call("GET", f"{host}/jobdeck/")
    assert status == 200 and b'id="login-form"' in page
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    status, headers, _body = call("POST", f"{host}/jobdeck/api/v1/session", {"key": KEY})
    assert status == 200 and "Path=/jobdeck/;" in headers["Set-Cookie"]
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    assert call("GET", f"{host}/jobdeck/api/v1/jobs", headers={"Cookie": cookie})[0] == 200
    pause = call("POST", f"{host}/jobdeck/api/v1/queue/pause", {}, {"Cookie": cookie})
    assert pause[0] == 403  # no CSRF token: refused here as by `jobdeck serve`


def test_flask_reads_no_body_before_the_key(host: str) -> None:
    """An unauthenticated upload is answered 401 at once, without waiting for its body."""
    import socket

    address = host.removeprefix("http://")
    name, port = address.rsplit(":", 1)
    with socket.create_connection((name, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /jobdeck/api/v1/jobs/batch HTTP/1.1\r\nHost: " + address.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 16000000\r\n\r\n{"
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 401"), reply[:200]


def test_flask_streams_live_events(host: str) -> None:
    api, keyed = f"{host}/jobdeck/api/v1", {"Authorization": f"Bearer {KEY}"}
    request = urllib.request.Request(f"{api}/events?types=JOB_COMPLETED", headers=keyed)
    with urllib.request.urlopen(request, timeout=20) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        job_id = json.loads(call("POST", f"{api}/jobs", {"name": "add", "args": [1, 1]}, keyed)[2])
        seen = b""
        while b"event: JOB_COMPLETED" not in seen:  # after `retry:` and keep-alives
            seen += stream.readline()
        seen += stream.readline()  # its data: line
    assert job_id["id"].encode() in seen


def test_a_stream_ends_when_its_wsgi_client_goes() -> None:
    """The host closes the response when a write to a gone client fails (PEP 3333); the
    bridge then ends the request on jobdeck's loop, so no stream waits forever to write."""
    import socket
    import threading

    from werkzeug.serving import make_server

    from jobdeck.core import JobService
    from jobdeck.web import Auth
    from jobdeck.web.wsgi import JobdeckWSGI

    bridge = JobdeckWSGI(lambda: JobService("memory://wsgi-close"), auth=Auth.open(), heartbeat=0.1)
    server = make_server("127.0.0.1", 0, bridge, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
            sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            hub = bridge._app.state.event_hub
            assert len(hub.clients) == 1
        deadline = time.monotonic() + 10
        while hub.clients and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not hub.clients, "the stream of a gone client still runs"
    finally:
        server.shutdown()
        bridge.close()
