"""What the console sends down the line: bytes a second through a pseudo-terminal.

    python bench/console_bytes.py [--scenario idle|load|demo|all] [--seconds 20]
        [--size 120x40] [--refresh SECONDS] [--json out.json]
    python bench/console_bytes.py --command 'htop -d 10' --label htop
    python bench/console_bytes.py --command 'celery -b {url} events' --label 'celery events'

An operator over SSH pays for every byte the console writes to its terminal. This runs the
real program (`jobdeck console`, `jobdeck demo`, or any `--command`) in a pseudo-terminal of
`--size`, reads everything it writes with the time it arrived, and reports:

- *first paint*: the bytes written in the first 1.5 s after the first one: what it costs to
  open the console (its start-up frames and first page; on a busy queue a frame or two
  more);
- *steady*: bytes a second over `--seconds`, after a settling pause of `--settle` seconds;
- *CPU*: the program's user+sys time over the same window (/proc), as % of one core;
- *keys*: for jobdeck, `--keys` presses of `2` and `1` in turn (the Running and the Pending
  tab) after the window, each timed from the write to the pty until the tab bar's new label
  arrives.

Scenarios (each on a private redis-server; `--url` takes another):
- `idle`: `jobdeck console` on an empty queue nobody uses (the Pending tab);
- `load`: 100 jobs a second (`--rate`), each running `--job-seconds` and reporting its
  progress `--steps` times, on a pool in another process (bench/console/load.py); measured
  on the Running tab, where the progress bars are;
- `demo`: `jobdeck demo` (its own memory queue; the Pending tab).
`--command` runs any other terminal program the same way (`{url}` becomes the server's URL):
a reference point for what a terminal dashboard sends.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import shlex
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402

JOBDECK = [sys.executable, "-c", "from jobdeck.core.cli import main; main()"]
TICKS = os.sysconf("SC_CLK_TCK")


class PtyProgram:
    """A program on the slave side of a pseudo-terminal; every chunk it writes is kept with
    its arrival time, so any window of the run can be counted afterwards."""

    def __init__(self, argv: list[str], size: tuple[int, int], env: dict[str, str]) -> None:
        self.argv, self.size, self.env = argv, size, env
        self.chunks: list[tuple[float, bytes]] = []
        self.data = bytearray()
        self.pid = 0
        self.fd = -1
        self.started = 0.0

    def start(self) -> PtyProgram:
        master, slave = pty.openpty()
        columns, rows = self.size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=self.env,
            start_new_session=True,  # the pty becomes its controlling terminal
            close_fds=True,
        )
        os.close(slave)
        self.fd, self.pid = master, self.proc.pid
        return self

    def pump(self, until: float) -> None:
        """Read what the program writes until `until` (monotonic)."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the program closed its side
                    time.sleep(left)
                    return
                self.chunks.append((time.monotonic(), chunk))
                self.data += chunk

    def pump_for(self, seconds: float) -> None:
        self.pump(time.monotonic() + seconds)

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait_for(self, marker: bytes, timeout: float = 5.0) -> float:
        """Seconds from now until `marker` appears in output written after now."""
        start_len, start = len(self.data), time.monotonic()
        while marker not in self.data[start_len - len(marker) :]:
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{marker!r} did not appear within {timeout} s")
            self.pump(time.monotonic() + 0.005)
        return time.monotonic() - start

    def first_paint(self, window: float = 1.5, cap: float = 10.0) -> int:
        """Bytes written in the first `window` seconds after the first one: the start-up
        frames and the first page of data (and, on a busy queue, a frame or two of news)."""
        deadline = self.started + cap
        while not self.chunks and time.monotonic() < deadline:
            self.pump(time.monotonic() + 0.05)
        if not self.chunks:
            return 0
        end = self.chunks[0][0] + window
        self.pump(end)
        return sum(len(chunk) for at, chunk in self.chunks if at <= end)

    def bytes_between(self, start: float, end: float) -> int:
        return sum(len(chunk) for at, chunk in self.chunks if start <= at < end)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def environment(colors: str = "truecolor") -> dict[str, str]:
    """A terminal's environment: 24-bit colour (the costliest: each colour change is ~36
    bytes) unless `colors` is "256", what an SSH session gets when COLORTERM is not sent."""
    env = dict(os.environ)
    env.update(TERM="xterm-256color", LANG="C.UTF-8")
    for name in ("TEXTUAL", "TEXTUAL_DRIVER", "NO_COLOR", "COLORTERM"):
        env.pop(name, None)  # nothing from the caller's own terminal
    if colors == "truecolor":
        env["COLORTERM"] = "truecolor"
    return env


def measure(
    argv: list[str],
    args: argparse.Namespace,
    *,
    label: str,
    keys: bool,
    setup_keys: str = "",
) -> dict[str, Any]:
    size = tuple(int(part) for part in args.size.split("x"))
    program = PtyProgram(argv, (size[0], size[1]), environment(args.colors)).start()
    try:
        first_bytes = program.first_paint()
        if setup_keys:
            for key in setup_keys:
                program.send(key)
                program.pump_for(0.3)
        program.pump_for(args.settle)
        cpu_before, start = program.cpu_seconds(), time.monotonic()
        program.pump_for(args.seconds)
        end, cpu_after = time.monotonic(), program.cpu_seconds()
        window = end - start
        result: dict[str, Any] = {
            "label": label,
            "first_paint_bytes": first_bytes,
            "bytes_per_second": round(program.bytes_between(start, end) / window),
            "cpu_percent": round(100 * (cpu_after - cpu_before) / window, 1),
            "rss_mb": round(program.rss_kb() / 1024, 1),
        }
        if keys and args.keys:
            latencies = []
            presses = [("2", b"[2 Running]"), ("1", b"[1 Pending]")]
            if setup_keys.endswith("2"):  # on Running already: a key that changes nothing
                presses.reverse()  # sends nothing, so start with the other tab
            for _ in range(args.keys):
                for key, marker in presses:
                    program.pump_for(0.25)
                    program.send(key)
                    latencies.append(1000 * program.wait_for(marker))
            result["key_ms_median"] = round(median(latencies), 1)
            result["key_ms_max"] = round(max(latencies), 1)
        if program.proc.poll() is not None:
            tail = bytes(program.data[-400:]).decode(errors="replace")
            raise RuntimeError(f"{label} exited early ({program.proc.returncode}): {tail}")
        return result
    finally:
        program.stop()


def console_argv(url: str, queue: str, args: argparse.Namespace) -> list[str]:
    argv = [*JOBDECK, "console", "--url", url, "--queue", queue]
    if args.refresh is not None:
        argv += ["--refresh", str(args.refresh)]
    return argv


def start_load(url: str, queue: str, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    load = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "console" / "load.py"),
            "--url",
            url,
            "--queue",
            queue,
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.job_seconds),
            "--steps",
            str(args.steps),
            "--slots",
            str(int(args.rate * args.job_seconds * 1.5) + 10),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert load.stdout is not None
    load.stdout.readline()  # its first report: it is submitting and running
    return load


def run_scenario(name: str, args: argparse.Namespace, url: str | None) -> dict[str, Any]:
    if name == "demo":
        argv = [*JOBDECK, "demo"]
        if args.refresh is not None:
            argv += ["--refresh", str(args.refresh)]
        return measure(argv, args, label="jobdeck demo", keys=True)
    with contextlib.ExitStack() as stack:
        if url is None:
            url = stack.enter_context(RedisServer("console-bytes")).url
        queue = f"bytes-{name}-{os.getpid()}"
        if name == "idle":
            return measure(console_argv(url, queue, args), args, label="console, idle", keys=True)
        load = start_load(url, queue, args)
        stack.callback(load.wait)
        stack.callback(load.terminate)
        label = f"console, {args.rate:g} jobs/s (Running tab)"
        return measure(console_argv(url, queue, args), args, label=label, keys=True, setup_keys="2")


def run_command(args: argparse.Namespace, url: str | None) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        if url is None and "{url}" in args.command:
            url = stack.enter_context(RedisServer("console-bytes")).url
        argv = shlex.split(args.command.replace("{url}", url or ""))
        return measure(argv, args, label=args.label or argv[0], keys=False)


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| | bytes/s | first paint | CPU | keys (median / max) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        keys = (
            f"{r['key_ms_median']:.0f} / {r['key_ms_max']:.0f} ms" if "key_ms_median" in r else "—"
        )
        lines.append(
            f"| {r['label']} | {r['bytes_per_second']:,} | {r['first_paint_bytes'] / 1000:,.1f} KB"
            f" | {r['cpu_percent']:.1f} % | {keys} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("idle", "load", "demo", "all"), default="all")
    parser.add_argument("--command", help="measure this program instead ({url}: the server)")
    parser.add_argument("--label", help="its name in the table")
    parser.add_argument("--url", help="a Redis server to use instead of a private one")
    parser.add_argument("--size", default="120x40", help="COLUMNSxROWS")
    parser.add_argument("--seconds", type=float, default=20.0, help="the measured window")
    parser.add_argument("--settle", type=float, default=3.0, help="pause before the window")
    parser.add_argument("--refresh", type=float, help="jobdeck's --refresh SECONDS")
    parser.add_argument("--colors", choices=("truecolor", "256"), default="truecolor")
    parser.add_argument("--rate", type=float, default=100.0, help="load: jobs a second")
    parser.add_argument("--job-seconds", type=float, default=2.0, help="load: run time")
    parser.add_argument("--steps", type=int, default=8, help="load: progress reports per job")
    parser.add_argument("--keys", type=int, default=10, help="presses of 2 then 1 timed")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    if args.command:
        results = [run_command(args, args.url)]
    else:
        names = ("idle", "load", "demo") if args.scenario == "all" else (args.scenario,)
        results = []
        for name in names:
            results.append(run_scenario(name, args, args.url))
            print(json.dumps(results[-1]), flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
