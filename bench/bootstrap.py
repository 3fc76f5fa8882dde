"""Create and fill bench/.venv-peers (stdlib only: this runs before the venv exists).

The peers live in their own venv so the benchmark never touches the interpreter jobdeck is
developed with, and so their pinned dependencies cannot clash with jobdeck's test tooling.
jobdeck itself is installed into the same venv (editable, from the repo root) so the peers and
jobdeck share one redis-py/hiredis and one interpreter.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv-peers"
REQUIREMENTS = BENCH / "requirements-peers.txt"
PEERS_STAMP = VENV / ".bench-peers-stamp"
JOBDECK_STAMP = VENV / ".bench-jobdeck-stamp"


def venv_python() -> Path:
    return VENV / "bin" / "python"


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()


def _stamped(stamp: Path, digest: str) -> bool:
    return stamp.exists() and stamp.read_text().strip() == digest


def _pip(*args: str) -> int:
    cmd = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", *args]
    print("bootstrap:", " ".join(cmd), flush=True)
    return subprocess.call(cmd)


def ensure_venv(with_jobdeck: bool = True) -> None:
    """Make the venv, install the peers when requirements-peers.txt changed, and (re)install
    jobdeck when pyproject.toml changed. A failed jobdeck install is reported, not fatal: the
    harness then skips the jobdeck row and still measures the peers."""
    if not venv_python().exists():
        print(f"bootstrap: creating {VENV}", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    peers_digest = _digest(REQUIREMENTS)
    if not _stamped(PEERS_STAMP, peers_digest):
        if _pip("-q", "-r", str(REQUIREMENTS)) != 0:
            raise SystemExit("bootstrap: installing the peers failed (see pip output above)")
        PEERS_STAMP.write_text(peers_digest + "\n")
    if not with_jobdeck:
        return
    jobdeck_digest = _digest(ROOT / "pyproject.toml")
    if not _stamped(JOBDECK_STAMP, jobdeck_digest):
        if _pip("-q", "-e", str(ROOT)) == 0:
            JOBDECK_STAMP.write_text(jobdeck_digest + "\n")
        else:
            print("bootstrap: WARNING: `pip install -e` of jobdeck failed; the jobdeck row "
                  "will be skipped (peers still run). Retried on the next run.", flush=True)
