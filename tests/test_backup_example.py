"""The backup example (examples/backup/) on a real directory tree: back up, restore
elsewhere and compare byte for byte; corrupt and tampered archives refused before anything
is written; retention; and a worker SIGKILLed mid-backup whose retry leaves one complete
archive and no half-written file."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.backup.archive import MANIFEST, CorruptArchive, backup, prune, restore
from jobdeck.core import JobCancelled, JobService
from jobdeck.core.events import Events

from .waiting import eventually, finished
from .worker_process import WorkerProcess

NOBODY = 65534


@pytest.fixture
def area() -> Iterator[Path]:
    """A directory others can traverse: when the suite runs as root, the backup runs as
    `nobody`, for whom an unreadable file really is unreadable."""
    path = Path(tempfile.mkdtemp(prefix="jobdeck-backup-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_tree(root: Path, big: int = 600_000) -> Path:
    src = root / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    (src / "empty-dir").mkdir()
    (src / "empty.txt").write_bytes(b"")
    (src / "small.txt").write_text("hello, backup\n" * 70)
    (src / "nested" / "deeper" / "medium.bin").write_bytes(os.urandom(150_000))
    (src / "nested" / "big.bin").write_bytes(os.urandom(big))
    (src / "nested" / "script.sh").write_text("#!/bin/sh\necho hi\n")
    (src / "nested" / "script.sh").chmod(0o755)
    (src / "link-to-big").symlink_to("nested/big.bin")
    (src / "link-to-dir").symlink_to("nested")
    (src / "secret.txt").write_text("not for the backup user")
    (src / "secret.txt").chmod(0o000)
    os.mkfifo(src / "a-fifo")
    for path in [src, *src.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    return src


def run_backup(src: Path, dest: Path, **options: object) -> dict:
    """The backup in a child process, as `nobody` when we are root (forked rather than
    exec'd: `nobody` may not be allowed to run this interpreter)."""
    dest.mkdir(mode=0o777, exist_ok=True)
    dest.chmod(0o777)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, back up, report, exit without cleanup
        code = 1
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            result = backup(src, dest, **options)  # type: ignore[arg-type]
            report = {"archive": str(result.archive), "files": result.files}
            os.write(write, json.dumps({**report, "skipped": result.skipped}).encode())
            code = 0
        except BaseException as exc:
            os.write(write, json.dumps({"error": repr(exc)}).encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        reply = json.loads(pipe.read() or b"{}")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, reply
    return reply


def assert_same_tree(src: Path, copy: Path, skipped: set[str]) -> None:
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).as_posix()
        twin = copy / rel
        if rel in skipped:
            assert not twin.exists() and not twin.is_symlink(), rel
            continue
        if path.is_symlink():
            assert twin.is_symlink() and os.readlink(twin) == os.readlink(path), rel
        elif path.is_dir():
            assert twin.is_dir() and not twin.is_symlink(), rel
        else:
            assert twin.read_bytes() == path.read_bytes(), rel
        if not path.is_symlink():
            assert twin.lstat().st_mode == path.lstat().st_mode, rel
    restored = {p.relative_to(copy).as_posix() for p in copy.rglob("*")}
    original = {p.relative_to(src).as_posix() for p in src.rglob("*")} - skipped
    assert restored == original


def test_backup_then_restore_is_byte_for_byte(area: Path) -> None:
    src = make_tree(area)
    result = run_backup(src, area / "dest", name="nightly")
    archive = Path(result["archive"])
    assert archive.name == "nightly.tar.gz" and archive.exists()
    reasons = {s["path"]: s["reason"] for s in result["skipped"]}
    assert reasons == {"secret.txt": "Permission denied", "a-fifo": "not a regular file"}
    assert result["files"] == 5  # empty, small, medium, big and script
    assert list((area / "dest").glob("*.partial")) == []

    files = restore(archive, area / "restored")
    assert files == 5
    assert_same_tree(src, area / "restored", set(reasons))
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
    assert manifest["skipped"] == result["skipped"]


def test_a_corrupt_archive_is_refused_before_anything_is_written(area: Path) -> None:
    src = make_tree(area)
    archive = Path(run_backup(src, area / "dest", name="good")["archive"])
    data = bytearray(archive.read_bytes())

    flipped = area / "flipped.tar.gz"
    data_copy = bytearray(data)
    for i in range(len(data) // 2, len(data) // 2 + 16):
        data_copy[i] ^= 0xFF
    flipped.write_bytes(bytes(data_copy))
    truncated = area / "truncated.tar.gz"
    truncated.write_bytes(bytes(data[: len(data) * 2 // 3]))
    tampered = area / "tampered.tar.gz"
    _retar(archive, tampered, "small.txt", b"changed after the backup\n")

    for bad, why in (
        (flipped, "unreadable archive|checksum"),
        (truncated, "unreadable archive|no MANIFEST"),
        (tampered, "small.txt: (size|checksum) does not match"),
    ):
        target = area / f"restore-{bad.stem}"
        with pytest.raises(CorruptArchive, match=why):
            restore(bad, target)
        assert not target.exists()
        assert [p.name for p in area.iterdir() if ".restoring" in p.name] == []


def _retar(archive: Path, out: Path, name: str, content: bytes) -> None:
    """The same archive and manifest, with one file's content swapped."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name == name:
                member.size, data = len(content), io.BytesIO(content)
            dst.addfile(member, data)


def test_prune_keeps_the_newest(area: Path) -> None:
    dest = area / "dest"
    dest.mkdir()
    for i in range(5):
        path = dest / f"backup-{i}.tar.gz"
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    stale = dest / "backup-9.tar.gz.partial"
    stale.write_bytes(b"half")
    os.utime(stale, (1_000_000, 1_000_000))
    removed = {p.name for p in prune(dest, keep=2)}
    assert removed == {"backup-0.tar.gz", "backup-1.tar.gz", "backup-2.tar.gz", stale.name}
    assert sorted(p.name for p in dest.iterdir()) == ["backup-3.tar.gz", "backup-4.tar.gz"]
    with pytest.raises(ValueError, match=r"^keep"):
        prune(dest, keep=0)


@pytest.mark.slow
async def test_a_worker_killed_mid_backup_is_retried_into_one_complete_archive(
    area: Path, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    src = make_tree(area, big=4_000_000)
    (src / "secret.txt").unlink()  # the worker runs as root here: keep the tree all readable
    (src / "a-fifo").unlink()
    dest = area / "dest"
    env = {"BACKUP_SOURCE": str(src), "BACKUP_DEST": str(dest)}

    def worker() -> WorkerProcess:
        return WorkerProcess(
            "examples.backup.jobs:service",
            redis_url,
            queue="backups",
            prefix=prefix,
            concurrency=1,
            lease=2.0,
            env=env,
            log_dir=tmp_path,
            worker_id=f"backup-{os.urandom(3).hex()}",
        ).start()

    service = JobService(redis_url, queue="backups", prefix=prefix)
    first = worker()
    try:
        job_id = await service.submit_job(
            "backup.run", [str(src), str(dest)], {"throttle": 0.6}, max_retries=1
        )

        async def half_way() -> bool:
            job = await service.get_job(job_id)
            return job is not None and 0.2 < job.progress.fraction < 0.9

        await eventually(half_way, timeout=20, what="the backup to be half way")
        first.signal(signal.SIGKILL)
        first.wait(10)
        assert [p.name for p in dest.iterdir()] == [f"backup-{job_id}.tar.gz.partial"]

        second = worker()
        try:
            job = await finished(service, job_id, timeout=40)
        finally:
            second.stop()
        assert job.status == "completed", job.error
        assert job.stalls == 1  # the killed attempt was recovered, not failed
        names = sorted(p.name for p in dest.iterdir())
        assert names == [f"backup-{job_id}.tar.gz"]  # one archive, no partial left
        restore(dest / names[0], area / "restored")
        assert_same_tree(src, area / "restored", set())
        events = await service.backend.read_events("0-0", 100_000, 0.01)
        archived = [e for e in events if e.type == "backup.archived" and e.job_id == job_id]
        assert len(archived) == 1 and archived[0].data["files"] == 5
        assert any(e.type == Events.JOB_PROGRESS and e.job_id == job_id for e in events)
    finally:
        first.stop()
        await service.close()


async def test_the_nightly_workflow_backs_up_verifies_then_prunes(area: Path) -> None:
    """backup (two sources, in parallel) -> verify (both archives) -> prune; then a night
    whose archive is corrupt: the verification fails and the prune is cancelled, the old
    archives kept."""
    from examples.backup import jobs

    first, second = make_tree(area / "one"), make_tree(area / "two")
    for src in (first, second):
        (src / "secret.txt").unlink()
        (src / "a-fifo").unlink()
    dest = area / "dest"
    service = jobs.service
    before = service.url
    service.configure(url=f"memory://backup-{os.urandom(4).hex()}")
    try:
        async with service:
            await service.start_workers(2)
            night = await jobs.nightly(service, [str(first), str(second)], str(dest), keep=1)
            summary = await service.result(night["prune"], timeout=30)
            verified = await service.result(night["verify"])
            assert len(verified["archives"]) == 2 and verified["files"] == 20
            assert len(summary["removed"]) == 1  # keep=1: the older of the two archives went
            assert len(list(dest.iterdir())) == 1

            [kept] = dest.iterdir()
            kept.write_bytes(kept.read_bytes()[:-500])  # the next night's verify finds it cut
            service.handlers["backup.run"] = lambda source, dest_: {"archive": str(kept)}
            night = await jobs.nightly(service, [str(first)], str(dest), keep=0)
            with pytest.raises(JobCancelled):
                await service.result(night["prune"], timeout=30)
            job = await service.get_job(night["verify"])
            assert job is not None and job.error is not None
            assert job.error.type == "CorruptArchive"
            assert kept.exists()  # the prune never ran
    finally:
        service.handlers["backup.run"] = jobs.run_backup
        service.configure(url=before)
