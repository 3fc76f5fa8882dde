"""Backup, restore and prune: plain functions, usable without jobdeck.

- `backup(source, dest)` writes `dest/<name>.tar.gz`: every regular file, directory and
  symlink under `source` (symlinks are stored as links, never followed), and `MANIFEST.json`
  with each file's size, mode and SHA-256. It writes to `<name>.tar.gz.partial` and renames
  it into place only when complete (after fsync), so a crash leaves no half-written archive
  under the final name, and the next attempt of the same backup replaces its own partial.
  A file that cannot be read (permissions, a FIFO or socket, gone mid-run) is not archived:
  it is listed under `skipped` in the manifest with the reason, and reported.
- `restore(archive, target)` checks every file against the manifest (size and SHA-256) and
  refuses a corrupt or tampered archive with `CorruptArchive` before writing anything; it
  then extracts into a temporary directory beside `target` and renames it into place.
- `prune(dest, keep)` keeps the newest `keep` archives and removes older ones, and partials
  left by crashed attempts more than an hour old.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

__all__ = ["BackupResult", "CorruptArchive", "backup", "prune", "restore"]

MANIFEST = "MANIFEST.json"
SUFFIX = ".tar.gz"
PARTIAL = ".partial"
_CHUNK = 1 << 18  # 256 KiB: the unit of reading, hashing and progress

Progress = Callable[[float, str], None]
Emit = Callable[[str, dict[str, Any]], None]


class CorruptArchive(ValueError):
    """The archive cannot be trusted: unreadable, incomplete, or its files do not match the
    manifest. Nothing was written."""


@dataclass
class BackupResult:
    archive: Path
    files: int
    bytes: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    sha256: str = ""


def _noop_progress(fraction: float, message: str) -> None: ...
def _noop_emit(event: str, data: dict[str, Any]) -> None: ...


class _Unreadable(Exception):
    """A file that cannot be opened: skipped and reported, not a failed backup."""


class _Hashing(io.RawIOBase):
    """A file read through SHA-256, for tarfile to copy from."""

    def __init__(self, raw: BinaryIO, tick: Callable[[int], None]) -> None:
        self.raw, self.digest, self.tick = raw, hashlib.sha256(), tick

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        self.tick(len(data))
        return len(data)


def backup(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    name: str | None = None,
    progress: Progress = _noop_progress,
    emit: Emit = _noop_emit,
    throttle: float = 0.0,
) -> BackupResult:
    """Archive `source` into `dest/<name>.tar.gz` (name defaults to `backup-<UTC time>`).
    `throttle` sleeps that many seconds per MiB (for demos and tests of a slow backup)."""
    src, out = Path(source), Path(dest)
    if not src.is_dir():
        raise ValueError(f"source: not a directory: {src}")
    out.mkdir(parents=True, exist_ok=True)
    name = name or time.strftime("backup-%Y%m%dT%H%M%SZ", time.gmtime())
    if "/" in name or name.startswith("."):
        raise ValueError(f"name: not a plain file name: {name!r}")
    final, partial = out / (name + SUFFIX), out / (name + SUFFIX + PARTIAL)
    entries = sorted(_walk(src))
    total = sum(size for _, kind, size in entries if kind == "file") or 1
    emit("backup.started", {"source": str(src), "files": len(entries), "bytes": total})
    done = 0
    manifest: dict[str, Any] = {"version": 1, "created_at": time.time(), "entries": []}
    skipped: list[dict[str, str]] = []

    def tick(n: int) -> None:  # per chunk read: progress within a big file too
        nonlocal done
        done += n
        progress(min(1.0, done / total), f"{done} of {total} bytes")
        if throttle:
            time.sleep(throttle * n / (1 << 20))

    partial.unlink(missing_ok=True)  # a previous attempt's leftovers: start afresh
    with open(partial, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
            for count, (rel, kind, _size) in enumerate(entries, 1):
                path = src / rel
                try:
                    entry = _add(tar, path, rel, kind, tick)
                except _Unreadable as exc:
                    reason = str(exc)
                    skipped.append({"path": rel, "reason": reason})
                    emit("backup.skipped", {"path": rel, "reason": reason})
                    continue
                if entry is None:
                    skipped.append({"path": rel, "reason": "not a regular file"})
                    emit("backup.skipped", {"path": rel, "reason": "not a regular file"})
                    continue
                manifest["entries"].append(entry)
                progress(min(1.0, done / total), f"{count}/{len(entries)} entries, {done} bytes")
            manifest["skipped"] = skipped
            body = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(body))
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, final)
    _fsync_dir(out)
    digest = _sha256_file(final)
    files = sum(1 for e in manifest["entries"] if e["type"] == "file")
    result = BackupResult(final, files, done, skipped, digest)
    emit(
        "backup.archived",
        {
            "archive": str(final),
            "files": files,
            "bytes": done,
            "sha256": digest,
            "skipped": len(skipped),
        },
    )
    return result


def _walk(src: Path) -> list[tuple[str, str, int]]:
    found = []
    for root, dirs, files in os.walk(src):
        for name in dirs + files:
            path = Path(root) / name
            rel = path.relative_to(src).as_posix()
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                found.append((rel, "link", 0))
                if name in dirs:
                    dirs.remove(name)  # never descend through a link
            elif stat.S_ISDIR(st.st_mode):
                found.append((rel, "dir", 0))
            elif stat.S_ISREG(st.st_mode):
                found.append((rel, "file", st.st_size))
            else:
                found.append((rel, "other", 0))
    return found


def _add(
    tar: tarfile.TarFile, path: Path, rel: str, kind: str, tick: Callable[[int], None]
) -> dict[str, Any] | None:
    if kind == "other":
        return None
    try:
        st = path.lstat()
    except OSError as exc:  # gone since the walk
        raise _Unreadable(exc.strerror or type(exc).__name__) from None
    info = tarfile.TarInfo(rel)
    info.mode, info.mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
    if kind == "dir":
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        return {"path": rel, "type": "dir", "mode": info.mode}
    if kind == "link":
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
        tar.addfile(info)
        return {"path": rel, "type": "link", "target": info.linkname}
    try:  # an unreadable file fails here, before anything of it is written
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _Unreadable(exc.strerror or type(exc).__name__) from None
    with raw:
        size = os.fstat(raw.fileno()).st_size
        info.size = size
        reader = _Hashing(raw, tick)
        tar.addfile(info, io.BufferedReader(reader, _CHUNK))
    return {
        "path": rel,
        "type": "file",
        "mode": info.mode,
        "size": size,
        "sha256": reader.digest.hexdigest(),
    }


def restore(archive: str | os.PathLike[str], target: str | os.PathLike[str]) -> int:
    """Restore `archive` into `target` (which must not exist or be empty). Every file is
    checked against the manifest first; a corrupt archive raises `CorruptArchive` and
    nothing is written. Returns the number of files restored."""
    archive, target = Path(archive), Path(target)
    if target.exists() and any(target.iterdir()):
        raise ValueError(f"target: not empty: {target}")
    manifest = verify(archive)
    staging = target.parent / f".{target.name}.restoring-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, members=_members(tar, manifest), filter="tar")
        for entry in manifest["entries"]:  # modes as backed up (extraction masks some)
            if entry["type"] in ("file", "dir"):
                os.chmod(staging / entry["path"], entry["mode"])
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sum(1 for e in manifest["entries"] if e["type"] == "file")


def _members(tar: tarfile.TarFile, manifest: dict[str, Any]) -> list[tarfile.TarInfo]:
    wanted = {e["path"] for e in manifest["entries"]}
    return [m for m in tar.getmembers() if m.name in wanted]


def verify(archive: str | os.PathLike[str]) -> dict[str, Any]:
    """The archive's manifest, after checking every member against it (paths, sizes,
    SHA-256, link targets). Raises `CorruptArchive` saying what is wrong."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers()}
            if MANIFEST not in members:
                raise CorruptArchive(f"{archive}: no {MANIFEST}: not a backup, or cut short")
            manifest = json.loads(tar.extractfile(members[MANIFEST]).read())  # type: ignore[union-attr]
            for entry in manifest["entries"]:
                _check(tar, members, entry)
            extra = set(members) - {e["path"] for e in manifest["entries"]} - {MANIFEST}
            if extra:
                raise CorruptArchive(f"{archive}: files not in the manifest: {sorted(extra)[:5]}")
            return manifest
    except CorruptArchive:
        raise
    except (tarfile.TarError, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        raise CorruptArchive(
            f"{archive}: unreadable archive ({type(exc).__name__}: {exc})"
        ) from None


def _check(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], entry: dict[str, Any]
) -> None:
    rel = entry["path"]
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts:
        raise CorruptArchive(f"unsafe path in archive: {rel!r}")
    member = members.get(rel)
    if member is None:
        raise CorruptArchive(f"{rel}: listed in the manifest but missing from the archive")
    if entry["type"] == "link":
        if not member.issym() or member.linkname != entry["target"]:
            raise CorruptArchive(f"{rel}: link does not match the manifest")
        return
    if entry["type"] == "dir":
        if not member.isdir():
            raise CorruptArchive(f"{rel}: not a directory as the manifest says")
        return
    if not member.isfile() or member.size != entry["size"]:
        raise CorruptArchive(f"{rel}: size does not match the manifest")
    digest = hashlib.sha256()
    stream = tar.extractfile(member)
    assert stream is not None
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    if digest.hexdigest() != entry["sha256"]:
        raise CorruptArchive(f"{rel}: checksum does not match the manifest")


def prune(dest: str | os.PathLike[str], keep: int) -> list[Path]:
    """Keep the newest `keep` archives in `dest`; remove the rest and stale partials."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep: expected an integer >= 1, got {keep!r}")
    out = Path(dest)
    archives = sorted(
        out.glob("*" + SUFFIX), key=lambda p: (p.stat().st_mtime, p.name), reverse=True
    )
    removed = archives[keep:]
    stale = [p for p in out.glob("*" + PARTIAL) if time.time() - p.stat().st_mtime > 3600]
    for path in removed + stale:
        path.unlink(missing_ok=True)
    return removed + stale


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        while chunk := raw.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
