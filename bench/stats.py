"""Small statistics and Redis-accounting helpers shared by the scenarios and the report."""

from __future__ import annotations

import contextlib
import re
import statistics
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

#: commandstats entries the harness itself causes inside a measuring window.
HARNESS_COMMANDS = frozenset({"config|resetstat", "echo"})


def summary(values: Sequence[float]) -> dict[str, float]:
    """median / min / max of a few rounds (the report's three numbers)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: with 200 samples p99 is the 198th value)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def commandstats(client: Any) -> Counter[str]:
    """Calls per command since the last CONFIG RESETSTAT, minus the harness's own commands.
    Note: commands run inside Lua scripts are counted here too (Redis counts every call)."""
    raw = client.info("commandstats")
    counts: Counter[str] = Counter()
    for key, value in raw.items():
        name = key.removeprefix("cmdstat_")
        if name not in HARNESS_COMMANDS:
            counts[name] = int(value["calls"])
    return counts


class MonitorCounter:
    """Counts commands seen by MONITOR, split into sent-by-a-client and run-inside-Lua.

    commandstats cannot tell the two apart, and a Lua-heavy queue would look expensive if only
    executed commands were counted; round trips are what a client pays for, so both are
    reported. Windows are delimited by ECHO markers sent through the measured server, so the
    counts line up exactly with what the server saw in between.
    """

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._errors = redis.ConnectionError
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._by_name: Counter[str] = Counter()
        self._marks: dict[str, tuple[Counter[str], Counter[str]]] = {}
        self._seen = threading.Condition(self._lock)
        self._stop = False
        self._monitor = self._client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                entry = self._monitor.next_command()
            except (OSError, ConnectionError, self._errors):
                return
            except Exception:  # an unparsable line (binary payload): count it as a client one
                entry = {"command": "?", "client_type": "tcp"}
            command = str(entry.get("command", ""))
            with self._lock:
                if command[:16].upper() == "ECHO BENCH-MARK:":
                    token = command.split(":", 1)[1].strip()
                    self._marks[token] = (Counter(self._counts), Counter(self._by_name))
                    self._seen.notify_all()
                    continue
                source = "lua" if entry.get("client_type") == "lua" else "client"
                self._counts[source] += 1
                self._by_name[f"{source}:{command.split(' ', 1)[0].upper()}"] += 1

    def mark(self, sender: Any, timeout: float = 10.0) -> tuple[Counter[str], Counter[str]]:
        """Send a marker through `sender` (a client of the measured server) and return the
        cumulative counts at that point in the server's command stream."""
        token = uuid.uuid4().hex
        sender.echo(f"bench-mark:{token}")
        with self._lock:
            if not self._seen.wait_for(lambda: token in self._marks, timeout=timeout):
                raise TimeoutError("MONITOR did not see the marker")
            return self._marks.pop(token)

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(Exception):
            self._monitor.__exit__(None, None, None)
        self._client.close()


def commandstats_usec(client: Any) -> Counter[str]:
    """Microseconds Redis spent per command since the last CONFIG RESETSTAT (harness's own
    commands left out). Server time, not wall time: far less distorted by machine load than
    jobs/s, which is why the Redis-time-per-job figure is built from it."""
    raw = client.info("commandstats")
    out: Counter[str] = Counter()
    for key, value in raw.items():
        name = key.removeprefix("cmdstat_")
        if name not in HARNESS_COMMANDS:
            out[name] = int(value["usec"])
    return out


# jobdeck ids (20 of a-z2-7, between colons), hex and UUID runs, numbers.
_ID_RUNS = re.compile(rb"(?<=:)[a-z2-7]{20}(?=:|$)|[0-9a-fA-F-]{8,}|\d+")


def key_pattern(key: bytes) -> str:
    """A key with its ids and numbers replaced by `*`, so per-job keys group together."""
    return _ID_RUNS.sub(b"*", key).decode("utf-8", "replace")


def memory_by_pattern(client: Any) -> dict[str, dict[str, int]]:
    """MEMORY USAGE (all samples) summed per key pattern and type: where a queue's bytes go.
    One SCAN plus one pipelined MEMORY USAGE per key; fine for ~10,000 keys."""
    keys = list(client.scan_iter(count=1000))
    out: dict[str, dict[str, int]] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.type(key)
            pipe.memory_usage(key, samples=0)
        replies = pipe.execute()
        for i, key in enumerate(chunk):
            kind = replies[2 * i]
            kind = kind.decode() if isinstance(kind, bytes) else str(kind)
            entry = out.setdefault(f"{key_pattern(key)} ({kind})", {"keys": 0, "bytes": 0})
            entry["keys"] += 1
            entry["bytes"] += int(replies[2 * i + 1] or 0)
    return out


def delta(after: Counter[str], before: Counter[str]) -> Counter[str]:
    out = Counter(after)
    out.subtract(before)
    return +out
