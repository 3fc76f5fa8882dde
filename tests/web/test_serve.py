"""`jobdeck serve` and `jobdeck api-key` as a person runs them: real processes, real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from .serve_process import ROOT, ServeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def jobdeck(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobdeck.core.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_api_key_new_and_serve_with_keys(redis_url: str, prefix: str, tmp_path) -> None:
    made = jobdeck("api-key", "new", "--scope", "read")
    assert made.returncode == 0, made.stderr
    lines = dict(line.split(":", 1) for line in made.stdout.splitlines())
    key = lines["key"].strip()
    (tmp_path / "keys").write_text(f"# readers\n{lines['file'].strip()}\n")
    env = {"JOBDECK_API_KEYS": "operate:operate-key-0123456789"}
    args = ["--url", redis_url, "--prefix", prefix, "--api-keys-file", str(tmp_path / "keys")]
    with ServeProcess(*args, env=env) as server:
        assert "1 operate, 1 read" in server.banner and key not in server.banner
        with httpx.Client(base_url=server.base_url) as http:
            submitted = http.post(
                "/api/v1/jobs",
                json={"name": "x"},
                headers={"Authorization": "Bearer operate-key-0123456789"},
            )
            assert submitted.status_code == 201
            read = http.get(submitted.headers["location"], headers={"X-API-Key": key})
            assert read.status_code == 200 and read.json()["name"] == "x"
            assert http.post("/api/v1/jobs", headers={"X-API-Key": key}).status_code == 403
            assert http.get("/api/v1/jobs").status_code == 401
    assert server.process is not None and server.process.returncode == 0


def test_serve_refuses_open_non_loopback_and_bad_keys(tmp_path) -> None:
    refused = jobdeck(
        "serve", "--host", "0.0.0.0", "--url", "memory://", env={"JOBDECK_API_KEYS": ""}
    )
    assert refused.returncode == 2 and "--no-auth" in refused.stderr
    assert "Traceback" not in refused.stderr
    (tmp_path / "keys").write_text("admin:whatever-secret-123\n")
    bad = jobdeck("serve", "--api-keys-file", str(tmp_path / "keys"), "--url", "memory://")
    assert bad.returncode == 2 and "entry 1" in bad.stderr and "whatever" not in bad.stderr
    missing = jobdeck("serve", "--api-keys-file", str(tmp_path / "none"), "--url", "memory://")
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_serve_no_auth_warns_and_embedded_workers(redis_url: str, prefix: str) -> None:
    args = ["--no-auth", "--host", "127.0.0.1", "--url", redis_url, "--prefix", prefix]
    args += ["--app", "tests.apps.tasks:service", "--queue", "apps", "-c", "2"]
    with ServeProcess(*args, env={"JOBDECK_API_KEYS": "", "JOBDECK_TEST_URL": redis_url}) as srv:
        assert "embedded workers at concurrency 2" in srv.banner
        with httpx.Client(base_url=srv.base_url) as http:
            job_id = http.post("/api/v1/jobs", json={"name": "add", "args": [2, 3]}).json()["id"]
            for _ in range(200):
                job = http.get(f"/api/v1/jobs/{job_id}").json()
                if job["status"] == "completed":
                    break
                import time

                time.sleep(0.05)
            assert job["result"]["sum"] == 5
        assert srv.process is not None and srv.process.stderr is not None
    assert srv.process.returncode == 0


def test_banner_names_the_dashboard_and_each_credential_source(tmp_path) -> None:
    key = "operate-key-that-is-secret-0123"
    (tmp_path / "keys").write_text("read:read-key-that-is-secret-012\n")
    env = {"JOBDECK_API_KEYS": f"operate:{key}", "JOBDECK_SESSION_SECRET": "s3cret-session-0123"}
    args = ["--url", "memory://", "--api-keys-file", str(tmp_path / "keys")]
    with ServeProcess(*args, env=env) as server:
        banner = server.banner
        assert f"dashboard  {server.base_url}/" in banner
        assert "1 operate, 1 read (JOBDECK_API_KEYS, keys file" in banner
        assert "signed with JOBDECK_SESSION_SECRET" in banner
        assert "/healthz" in banner and "/metrics needs a key" in banner
        for secret in (key, "read-key-that-is-secret", "s3cret-session"):
            assert secret not in banner
        with httpx.Client(base_url=server.base_url) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            assert http.get("/readyz").json() == {"status": "ready"}
            assert http.get("/metrics").status_code == 401


def test_keys_sources_that_hold_no_key_refuse_to_start(tmp_path) -> None:
    (tmp_path / "empty").write_text("")
    (tmp_path / "comments").write_text("# operate:old-key-0123456789\n\n   # nobody\n")
    # variants: blank lines only, and comments after a byte-order mark (Windows editors)
    (tmp_path / "blank").write_text(" \t\n\r\n\n")
    (tmp_path / "bom").write_text("\ufeff# operate:old-key-0123456789\n")
    for name in ("empty", "comments", "blank", "bom"):
        refused = jobdeck(
            "serve",
            "--url",
            "memory://",
            "--api-keys-file",
            str(tmp_path / name),
            env={"JOBDECK_API_KEYS": ""},
        )
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.count("\n") == 1 and "holds no key" in refused.stderr
        assert "old-key" not in refused.stderr
    (tmp_path / "bom-key").write_text("\ufeffoperate:bom-key-0123456789abcdef\n")
    with socket.socket() as taken:  # the keys are read, then the busy port stops it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        after_bom = jobdeck(
            "serve", "--url", "memory://", "--api-keys-file", str(tmp_path / "bom-key"),
            "--port", str(taken.getsockname()[1]), env={"JOBDECK_API_KEYS": ""},
        )  # fmt: skip
    assert "is in use" in after_bom.stderr, after_bom.stderr  # its key was read
    commas = jobdeck("serve", "--url", "memory://", env={"JOBDECK_API_KEYS": " , "})
    assert commas.returncode == 2 and "JOBDECK_API_KEYS is set but holds no key" in commas.stderr


def test_a_busy_port_or_a_foreign_address_is_one_line(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = jobdeck("serve", "--url", "memory://", "--port", port)
    assert busy.returncode == 1 and busy.stderr.count("\n") == 1, busy.stderr
    assert f"port {port} on 127.0.0.1 is in use" in busy.stderr
    foreign = jobdeck("serve", "--url", "memory://", "--host", "192.0.2.1", "--no-auth")
    assert foreign.returncode == 1 and "Traceback" not in foreign.stderr
    assert "not an address of this machine" in foreign.stderr


def test_access_log_and_slow_headers(tmp_path) -> None:
    log = tmp_path / "access.log"
    args = ["--url", "memory://", "--access-log", "--header-timeout", "0.5"]
    with ServeProcess(*args, env={"JOBDECK_API_KEYS": ""}, stdout=log) as server:
        with httpx.Client(base_url=server.base_url) as http:
            assert http.get("/healthz?probe=1").status_code == 200
        host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            started = time.monotonic()
            reply = slow.recv(1024)
            assert reply.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 3
            assert slow.recv(1024) == b""  # closed
        with socket.create_connection((host, int(port)), timeout=5) as idle:
            assert idle.recv(1024).startswith(b"HTTP/1.1 408")  # not one byte sent
    text = log.read_text()
    assert "GET /healthz?probe=1 HTTP/1.1" in text and "200" in text, text


def test_connections_past_the_bound_get_503() -> None:
    args = ["--url", "memory://", "--max-connections", "2"]
    with ServeProcess(*args, env={"JOBDECK_API_KEYS": ""}) as server:
        host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
        held = [socket.create_connection((host, int(port)), timeout=5) for _ in range(2)]
        try:
            with socket.create_connection((host, int(port)), timeout=5) as third:
                third.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert third.recv(1024).startswith(b"HTTP/1.1 503")
        finally:
            for sock in held:
                sock.close()
        with httpx.Client(base_url=server.base_url) as http:
            assert http.get("/healthz").status_code == 200  # the bound frees as they go


def test_serve_says_concurrency_and_keeps_w_as_a_hidden_alias() -> None:
    """One word for how many jobs run at once (issue 26): `-c/--concurrency`; `-w/--workers`,
    which meant the same, still works for a release but is no longer offered."""
    shown = jobdeck("serve", "--help")
    assert shown.returncode == 0 and "-c, --concurrency" in shown.stdout
    assert "slots" not in shown.stdout and "--workers" not in shown.stdout
    for flag in ("-c", "-w", "--workers"):
        alone = jobdeck("serve", flag, "2", "--url", "memory://")
        assert alone.returncode != 0 and "--concurrency needs --app" in alone.stderr, alone
