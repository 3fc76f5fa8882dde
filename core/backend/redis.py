"""The distributed engine: every transition is one Lua script, called by SHA.

Scripts live beside this module as `.lua` files, each prefixed with `_lib.lua` when loaded.
Blocking reads (new-work wake-ups, control messages, the event log) take their own
connections from the pool, so they never hold up the scripts a worker sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import socket
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, NoScriptError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..codec import decode_control, dumps, loads
from ..events import Event
from ..keys import key_prefix, validate_name
from ..models import JobDefinition
from .base import (
    BackendSettings,
    ClaimBatch,
    ClaimedJob,
    Finish,
    ProgressUpdate,
    RawMetrics,
    WorkerRecord,
)
from .fastpath import FastConnection

__all__ = ["RedisBackend", "redact_url"]

_SCRIPTS = (
    "submit",
    "claim",
    "finish",
    "progress",
    "heartbeat",
    "cancel",
    "retry_dead",
    "purge",
    "list",
    "metrics",
    "control",
    "workers",
    "pause",
    "emit",
    "unregister",
)
_RETRIES = 10
_UNBLOCK_REFUSED = (ResponseError, RedisConnectionError, RedisTimeoutError)
_STATUS_KEYS = {
    "pending": "pending",
    "scheduled": "scheduled",
    "running": "running",
    "completed": "completed",
    "failed": "dead",
    "cancelled": "cancelled",
}
_DEPTH_ORDER = ("pending", "scheduled", "running", "completed", "failed", "cancelled")


@cache
def _script_source(name: str) -> str:
    lua = files(__package__).joinpath("lua")
    body = lua.joinpath(f"{name}.lua").read_text()
    return _prelude_for(lua.joinpath("_lib.lua").read_text(), body) + "\n" + body


_FUNCTION = re.compile(r"^local function (\w+)\(")


def _prelude_for(lib: str, body: str) -> str:
    """The part of `_lib.lua` a script needs: its statements, and only the helper functions
    the script (or a helper it uses) calls. Redis builds every helper's closure on every
    call, so a script that carries all of them pays ~6 us more per call (measured)."""
    always: list[tuple[str | None, list[str]]] = []
    current: list[str] | None = None
    for line in lib.splitlines():
        match = _FUNCTION.match(line)
        if current is None and match:
            current = [line]
            always.append((match.group(1), current))
        elif current is not None:
            current.append(line)
            if line == "end":
                current = None
        else:
            always.append((None, [line]))
    functions = {fname: "\n".join(lines) for fname, lines in always if fname}
    needed: set[str] = set()
    pending = [body, "\n".join("\n".join(lines) for fname, lines in always if fname is None)]
    while pending:
        text = pending.pop()
        for fname, source in functions.items():
            if fname not in needed and re.search(rf"\b{fname}\(", text):
                needed.add(fname)
                pending.append(source)
    return "\n".join(
        "\n".join(lines) for fname, lines in always if fname is None or fname in needed
    )


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for a header or a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit(parts._replace(netloc=user + host))


def _s(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _pairs(flat: Sequence[Any]) -> dict[str, Any]:
    return {_s(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}


class RedisBackend:
    def __init__(
        self,
        url: str,
        queue: str = "default",
        prefix: str = "jobdeck",
        settings: BackendSettings | None = None,
    ) -> None:
        self.url = url
        self.queue = queue
        self.settings = settings or BackendSettings()
        self.prefix = prefix
        self._p = key_prefix(prefix, queue)
        self._route = self._p + "pending"
        self._redis: aioredis.Redis | None = None
        self._shas: dict[str, str] = {}
        self._fast: FastConnection | None = None
        self._waiter: FastConnection | None = None
        self._idle_blocking: list[FastConnection] = []
        self._base = [self._p, str(self.settings.events_maxlen)]

    @property
    def description(self) -> str:
        return redact_url(self.url)

    @property
    def client(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("backend is not initialized: call `await service.initialize()`")
        return self._redis

    async def initialize(self) -> None:
        if self._redis is not None:
            return
        # One quick PING without retries: a wrong or unreachable URL is reported at once.
        fast = FastConnection(self.url, client_name=f"jobdeck:{socket.gethostname()}:{os.getpid()}")
        try:
            await fast.execute("PING")
        except RedisConnectionError as exc:
            fast.abort()
            raise RedisConnectionError(f"cannot reach {self.description}: {exc}") from exc
        except BaseException:
            fast.abort()
            raise
        self._fast = fast
        retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8)
        # TCP only: redis-py's unix socket connections refuse a socket_keepalive argument.
        tcp = {} if urlsplit(self.url).scheme == "unix" else {"socket_keepalive": True}
        self._redis = aioredis.Redis.from_url(
            self.url,
            retry=retry,
            retry_on_error=[BusyLoadingError, RedisConnectionError, RedisTimeoutError],
            socket_connect_timeout=5.0,
            socket_timeout=15.0,
            health_check_interval=30,
            client_name=f"jobdeck:{socket.gethostname()}:{os.getpid()}",
            **tcp,
        )
        self._shas = {
            name: hashlib.sha1(_script_source(name).encode()).hexdigest() for name in _SCRIPTS
        }

    async def close(self) -> None:
        for conn in self._idle_blocking:
            conn.abort()
        self._idle_blocking.clear()
        if self._waiter is not None:
            await self._waiter.close()
            self._waiter = None
        if self._fast is not None:
            await self._fast.close()
            self._fast = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _run(self, name: str, *args: Any) -> Any:
        """One script call by SHA on the fast connection. Transient failures (connection
        lost, server loading its data) are retried with backoff; NOSCRIPT after a server
        restart reloads the script. Every script is safe to repeat: submit skips existing
        ids, finish refuses a spent token, and a repeated claim only leases jobs that the
        lease sweep hands back."""
        delay = 0.05
        for attempt in range(_RETRIES):
            try:
                return await self._fast.execute(
                    "EVALSHA", self._shas[name], 1, self._route, *self._base, *args
                )
            except NoScriptError:
                await self._fast.execute("SCRIPT", "LOAD", _script_source(name))
            except (RedisConnectionError, RedisTimeoutError, BusyLoadingError):
                if attempt == _RETRIES - 1:
                    raise
                await asyncio.sleep(delay)
                delay = min(1.0, delay * 2)
        raise RedisConnectionError(f"script {name} could not be run")

    # -- producers -----------------------------------------------------------------------
    async def submit(
        self, jobs: Sequence[tuple[JobDefinition, float]], fields: Sequence[Mapping[str, Any]]
    ) -> list[bool]:
        args: list[Any] = [len(jobs)]
        for (job, delay), record in zip(jobs, fields, strict=True):
            args += [job.id, job.name, int(job.priority), int(delay * 1000), len(record) * 2]
            for key, value in record.items():
                args += [key, value]
        created = await self._run("submit", *args)
        return [bool(flag) for flag in created]

    async def cancel(self, job_id: str) -> str | None:
        was = await self._run("cancel", job_id)
        return _s(was) if was else None

    async def retry_dead(self, job_ids: Sequence[str] | None) -> int:
        if job_ids is not None:
            return int(await self._run("retry_dead", "ids", *job_ids)) if job_ids else 0
        total = 0
        while moved := int(await self._run("retry_dead", "all")):
            total += moved
        return total

    async def purge(self, status: str) -> int:
        total = 0
        while True:
            removed = int(await self._run("purge", _STATUS_KEYS[status], 1000, total))
            total += removed
            if removed < 1000:
                return total

    async def set_paused(self, paused: bool) -> None:
        await self._run("pause", "1" if paused else "0")

    # -- reading -------------------------------------------------------------------------
    async def get(self, job_id: str) -> Mapping[Any, Any] | None:
        try:
            fields = await self.client.hgetall(self._p + "job:" + job_id)
        except ResponseError:  # not a hash: someone wrote garbage there
            return {
                b"name": b"<malformed>",
                b"error": dumps({"type": "MalformedRecord", "message": "job record is not a hash"}),
            }
        return fields or None

    async def list(
        self, status: str, limit: int, offset: int, newest_first: bool
    ) -> list[tuple[str, Mapping[Any, Any]]]:
        flat = await self._run(
            "list", _STATUS_KEYS[status], offset, limit, "1" if newest_first else "0"
        )
        return [(_s(flat[i]), _pairs(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def metrics(self, window: int) -> RawMetrics:
        now, depths, totals, buckets, paused = await self._run("metrics", window)
        return RawMetrics(
            now=float(now),
            depths=dict(zip(_DEPTH_ORDER, (int(d) for d in depths), strict=True)),
            totals={k: int(v) for k, v in _pairs(totals).items()},
            buckets=[{k: int(v) for k, v in _pairs(b).items()} for b in buckets],
            paused=bool(paused),
        )

    async def list_workers(self) -> list[WorkerRecord]:
        flat = await self._run("workers", int(self.settings.worker_ttl * 1000))
        workers = []
        for i in range(1, len(flat), 3):
            try:
                info = loads(flat[i + 1])
                info["last_heartbeat"] = float(flat[i + 2]) / 1000
                workers.append(WorkerRecord(**info))
            except (TypeError, ValueError):
                continue  # a record we cannot read is not a worker we can show
        return workers

    async def read_events(self, after: str | None, count: int, block: float) -> list[Event]:
        reply = await self._blocking(
            "XREAD",
            "COUNT",
            count,
            "BLOCK",
            max(1, int(block * 1000)),
            "STREAMS",
            self._p + "events",
            after or "$",
        )
        events: list[Event] = []
        for _stream, entries in reply or ():
            events.extend(Event.from_fields(_s(eid), _pairs(fields)) for eid, fields in entries)
        return events

    async def _blocking(self, *command: Any) -> Any:
        """A blocking read on a connection of its own, taken from a small idle list. A call
        that is cancelled or fails drops its connection, which may still owe a reply."""
        conn = (
            self._idle_blocking.pop()
            if self._idle_blocking
            else FastConnection(self.url, reply_timeout=60.0)
        )
        try:
            reply = await conn.execute(*command)
        except BaseException:
            conn.abort()
            raise
        self._idle_blocking.append(conn)
        return reply

    async def last_event_id(self) -> str:
        last = await self.client.xrevrange(self._p + "events", count=1)
        return _s(last[0][0]) if last else "0-0"

    async def list_queues(self) -> list[str]:
        """SCAN for event logs under the prefix (every used queue has one; on a cluster,
        every master is scanned). A slow call on a big keyspace (about 1 ms per 1,000 keys),
        meant for a console or an API listing, never for the hot path."""
        head = f"{self.prefix}:{{"
        names = set()
        async for key in self.client.scan_iter(
            match=f"{head}*}}:events", count=1000, _type="stream"
        ):
            name = _s(key)[len(head) : -len("}:events")]
            with contextlib.suppress(ValueError):  # a key of this shape jobdeck did not write
                names.add(validate_name("queue", name))
        return sorted(names)

    async def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        await self._run("emit", event_type, dumps(dict(data)))

    # -- workers -------------------------------------------------------------------------
    async def claim(self, worker_id: str, count: int, lease: float) -> ClaimBatch:
        return self._claim_batch(
            await self._run("claim", *self._claim_args(worker_id, count, lease))
        )

    def _claim_args(self, worker_id: str, count: int, lease: float) -> list[Any]:
        return [worker_id, count, int(lease * 1000), self.settings.max_stalls]

    def _claim_command(self, worker_id: str, count: int, lease: float) -> tuple[Any, ...]:
        return (
            "EVALSHA",
            self._shas["claim"],
            1,
            self._route,
            *self._base,
            *self._claim_args(worker_id, count, lease),
        )

    @staticmethod
    def _claim_batch(reply: Any) -> ClaimBatch:
        next_due = None if int(reply[1]) < 0 else int(reply[1]) / 1000
        jobs = [
            ClaimedJob(_s(reply[i]), _s(reply[i + 1]), _pairs(reply[i + 2]))
            for i in range(2, len(reply), 3)
        ]
        return ClaimBatch(jobs=jobs, paused=bool(reply[0]), next_due=next_due)

    async def finish(self, worker_id: str, items: Sequence[Finish]) -> list[bool]:
        args: list[Any] = [
            worker_id,
            self.settings.history_max,
            int(self.settings.result_ttl * 1000),
            len(items),
        ]
        for item in items:
            args += [
                item.job_id,
                item.token,
                item.outcome,
                item.payload,
                int(item.delay * 1000),
                item.event_data,
            ]
        return [bool(flag) for flag in await self._run("finish", *args)]

    async def progress(self, items: Sequence[ProgressUpdate]) -> None:
        args: list[Any] = [len(items)]
        for item in items:
            args += [
                item.job_id,
                item.token,
                dumps([item.fraction, item.message]),
                dumps({"fraction": item.fraction, "message": item.message}),
            ]
        await self._run("progress", *args)

    async def heartbeat(
        self, worker: WorkerRecord, leases: Sequence[tuple[str, str]], lease: float
    ) -> tuple[list[str], list[str]]:
        args: list[Any] = [
            worker.id,
            dumps(worker.to_dict()),
            int(self.settings.worker_ttl * 1000),
            int(lease * 1000),
            self.settings.max_stalls,
            len(leases),
        ]
        for job_id, token in leases:
            args += [job_id, token]
        lost, cancel = await self._run("heartbeat", *args)
        return [_s(x) for x in lost], [_s(x) for x in cancel]

    async def unregister_worker(self, worker_id: str) -> None:
        await self._run("unregister", worker_id)

    async def wait_for_work(self, timeout: float) -> None:
        await self._waiting().execute("BLPOP", self._p + "wake", f"{max(0.01, timeout):.3f}")

    async def wait_and_claim(
        self, worker_id: str, count: int, lease: float, timeout: float
    ) -> ClaimBatch:
        # BLPOP and the claim script go out in one write: Redis runs the claim the moment the
        # wake-up arrives, so an idle worker starts a new job one round trip after its submit.
        try:
            _woken, reply = await self._waiting().pipeline(
                ("BLPOP", self._p + "wake", f"{max(0.01, timeout):.3f}"),
                self._claim_command(worker_id, count, lease),
            )
        except NoScriptError:  # a restarted server: _run loads the script again
            return await self.claim(worker_id, count, lease)
        return self._claim_batch(reply)

    def _waiting(self) -> FastConnection:
        """Its own socket: a blocked BLPOP must not hold up the scripts pipelined on _fast."""
        if self._waiter is None:
            self._waiter = FastConnection(self.url, reply_timeout=30.0, track_id=True)
        return self._waiter

    async def interrupt_wait(self) -> None:
        # CLIENT UNBLOCK ends the BLPOP as a timeout would: the claim pipelined behind it
        # still runs and its reply is read, so nothing is stranded.
        client_id = None if self._waiter is None else self._waiter.client_id
        if client_id is not None:
            with contextlib.suppress(*_UNBLOCK_REFUSED):  # a managed server may refuse it
                await self.client.execute_command("CLIENT", "UNBLOCK", client_id)

    async def send_control(self, message: Mapping[str, Any], worker_id: str | None) -> int:
        return int(
            await self._run(
                "control",
                worker_id or "*",
                dumps(dict(message)),
                int(self.settings.worker_ttl * 1000),
            )
        )

    async def next_control(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        key = self._p + "control:" + worker_id
        first = await self._blocking("BLPOP", key, f"{max(0.01, timeout):.3f}")
        if first is None:
            return []
        raw = [first[1]]
        raw += await self.client.lpop(key, 100) or []
        return decode_control(raw)

    async def server_warnings(self) -> list[str]:
        warnings: list[str] = []
        try:
            config = await self.client.config_get("maxmemory-policy")
            policy = _s(config.get("maxmemory-policy", b"noeviction"))
            if policy != "noeviction":
                warnings.append(
                    f"Redis maxmemory-policy is {policy!r}: under memory pressure Redis may "
                    "evict job records and queues. Set it to 'noeviction'."
                )
            persistence = await self.client.config_get("appendonly")
            save = await self.client.config_get("save")
            if _s(persistence.get("appendonly", b"no")) != "yes" and not _s(save.get("save", b"")):
                warnings.append(
                    "Redis persistence is off (no AOF, no RDB snapshots): a Redis restart "
                    "loses every queued job. Enable 'appendonly yes' for durable queues."
                )
        except ResponseError:
            pass  # CONFIG is disabled on many managed services; nothing to check then
        return warnings
