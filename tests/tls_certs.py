"""Certificates made by the tests with `openssl`: a CA, a server certificate for 127.0.0.1
and localhost, a client certificate, and a second CA that signed none of them."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certs:
    dir: Path

    def __getattr__(self, name: str) -> str:  # ca_crt -> <dir>/ca.crt
        stem, _, ext = name.rpartition("_")
        return str(self.dir / f"{stem}.{ext}")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _key(name: str, cwd: Path) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=cwd)


def make_certs(where: Path) -> Certs:
    for ca in ("ca", "other_ca"):
        _key(ca, where)
        _openssl(
            "req", "-x509", "-new", "-key", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
            "-subj", f"/CN=jobdeck test {ca}", cwd=where,
        )  # fmt: skip
    (where / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "san.ext"]), ("client", [])):
        _key(name, where)
        _openssl(
            "req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN=jobdeck test {name}", cwd=where,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", *ext, cwd=where,
        )  # fmt: skip
    return Certs(where)
