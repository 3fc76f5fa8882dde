"""`jobdeck serve` and `jobdeck api-key` as a person runs them: real processes, real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys

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
    args += ["--app", "tests.apps.tasks:service", "--queue", "apps", "--workers", "2"]
    with ServeProcess(*args, env={"JOBDECK_API_KEYS": "", "JOBDECK_TEST_URL": redis_url}) as srv:
        assert "2 worker slots" in srv.banner
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
