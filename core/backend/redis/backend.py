"""`RedisBackend`: the `Backend` contract over Redis, every method in this one class.

A method that is one script call builds its arguments, calls through the `RedisConnection`
(`connection.py`: connections, retries, cluster routing) and reads the reply with one
function of `replies.py`. A method that is more (several calls, each bounded; a pipeline; a
registration first) hands the connection to the function of its concern, named as the
memory engine's: `jobs`, `flow`, `leases`, `workers`, `schedules`, and `server` for the
configuration checks. The scripts themselves are `core/backend/lua/<name>.lua`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...codec import dumps
from ...events import Event
from ...keys import STATUS_KEYS
from ..fold import fold
from ..records import (
    BackendSettings,
    ClaimBatch,
    DueSchedules,
    Finish,
    JobEmit,
    NewJob,
    ParentResult,
    ProgressUpdate,
    RawHistory,
    RawLimits,
    RawMetrics,
    RawSchedule,
    Relatives,
    ScheduleFire,
    WorkerRecord,
)
from . import flow, jobs, leases, replies, schedules, server, workers
from .combine import SubmitCombiner
from .connection import RedisConnection, request_id
from .jobs import submit_args
from .registry import QueueRegistry
from .replies import pairs, submitted, text

# submit_args (jobs.py) and submitted (replies.py): importable from here, where they were
__all__ = ["RedisBackend", "submit_args", "submitted"]

_UNBLOCK_REFUSED = (ResponseError, RedisConnectionError, RedisTimeoutError)
_NOT_A_HASH = {
    b"name": b"<malformed>",
    b"error": dumps({"type": "MalformedRecord", "message": "job record is not a hash"}),
}


class RedisBackend:
    """Jobs in Redis, shared by every process and machine that opens the same URL."""

    def __init__(
        self,
        url: str,
        queue: str = "default",
        prefix: str = "jobdeck",
        settings: BackendSettings | None = None,
    ) -> None:
        self._conn = RedisConnection(url, queue, prefix, settings)
        self.settings = self._conn.settings
        self.queue, self.prefix = queue, prefix
        self._queues = QueueRegistry(self._conn)  # the prefix's queue names
        self._submits = SubmitCombiner(self._submit)
        self._claims = 0  # claims sent, for their ids (`_claim_id`)
        self._claim_prefix = uuid.uuid4().hex[:8]

    @property
    def url(self) -> str:
        return self._conn.url

    @property
    def description(self) -> str:
        return self._conn.description

    @property
    def is_cluster(self) -> bool:
        return self._conn.is_cluster

    @property
    def node_url(self) -> str:
        """Where this queue's keys live: the server, or the master of the queue's slot."""
        return self._conn.node_url

    @property
    def connection(self) -> RedisConnection:
        """The transport (benchmarks and tests reach the raw script calls through it)."""
        return self._conn

    @property
    def client(self) -> Any:
        """redis-py's client on this queue's server, for reads no script covers."""
        return self._conn.client

    async def initialize(self) -> None:
        await self._conn.initialize()

    async def close(self) -> None:
        await self._conn.close()

    async def list_queues(self) -> list[str]:
        return await self._queues.list_queues()

    # -- producers (submit.lua, cancel.lua, retry_dead.lua, purge.lua, pause.lua) ------------
    async def submit(self, jobs: Sequence[NewJob]) -> list[bool | str]:
        """Concurrent calls share script calls (`combine.py`); one alone goes at once."""
        return await self._submits.submit(jobs)

    async def _submit(self, batch: Sequence[NewJob]) -> list[bool | str]:
        return await jobs.submit(self._conn, self._queues, batch)

    def sync_submitter(self, fallback: Any) -> Any:
        """The path for submits from synchronous code (`SyncJobService`): a `SyncSubmitter`
        sending from the calling thread, or None where every submit must go through the loop
        (submits that wait for replicas share one WAIT there)."""
        if self.settings.submit_replicas:
            return None
        from .sync_submit import SyncSubmitter

        return SyncSubmitter(self._conn, fallback)

    async def cancel(self, job_id: str) -> str | None:
        history = self.settings.history_max
        was = await self._conn.run("cancel", job_id, history, request_id())
        return text(was) if was else None

    async def retry_dead(self, job_ids: Sequence[str] | None) -> int:
        if job_ids is None:
            return await jobs.retry_all_dead(self._conn)
        if not job_ids:
            return 0
        return int(await self._conn.run("retry_dead", request_id(), "ids", *job_ids))

    async def purge(self, status: str) -> int:
        return await jobs.purge(self._conn, status)

    async def run_now(self, job_id: str) -> bool:
        return bool(await self._conn.run("run_now", job_id))

    async def delete(self, job_id: str, status: str | None = None) -> str | None:
        was = await self._conn.run("delete", job_id, status or "")
        return text(was) if was else None

    async def set_paused(self, paused: bool) -> None:
        await self._conn.run("pause", "1" if paused else "0")

    # -- web sign-ins (session.lua, session_check.lua) -------------------------------------
    async def open_session(self, digest: str, lifetime_ms: int, cap: int) -> int:
        return int(await self._conn.run("session", "open", digest, lifetime_ms, cap))

    async def session_open(self, digest: str) -> bool:
        return bool(await self._conn.run("session_check", digest))

    async def close_session(self, digest: str) -> bool:
        return bool(await self._conn.run("session", "close", digest))

    # -- reading (peek.lua, list.lua, search.lua, metrics.lua, the event stream) ------------
    async def get(self, job_id: str, max_field: int = 0) -> Mapping[Any, Any] | None:
        # peek.lua on the pipelined connection, not redis-py's HGETALL: a quarter of the
        # client CPU per read, and a thousand reads at once share one socket instead of
        # asking redis-py's pool for a thousand connections. With a cap, values over it
        # stay on the server (see capped_hash).
        flat = await self._conn.run("peek", job_id, max(0, max_field))
        if flat is None:
            return None
        return pairs(flat) if flat else _NOT_A_HASH

    async def list_jobs(
        self, status: str, limit: int, offset: int, newest_first: bool, max_field: int = 0
    ) -> list[tuple[str, Mapping[Any, Any]]]:
        return await jobs.list_jobs(self._conn, status, limit, offset, newest_first, max_field)

    async def search(
        self,
        status: str,
        needle: str,
        offset: int,
        budget: int,
        limit: int,
        newest_first: bool,
        max_field: int = 0,
    ) -> tuple[list[tuple[str, Mapping[Any, Any]]], int, bool]:
        next_offset, ended, flat = await self._conn.run(
            "search",
            STATUS_KEYS[status],
            offset,
            budget,
            limit,
            "1" if newest_first else "0",
            fold(needle),
            max_field,
        )
        return replies.rows(flat), int(next_offset), bool(int(ended))

    # -- limits (limit_set.lua, limit_wake.lua, limits.lua) ------------------------------
    async def set_limit(self, key: str, value: str, event: Mapping[str, Any]) -> int:
        return await flow.set_limit(self._conn, key, value, event)

    async def limits(self) -> RawLimits:
        return replies.limits(await self._conn.run("limits"))

    async def metrics(self, window: int) -> RawMetrics:
        return replies.metrics(await self._conn.run("metrics", window))

    async def history(self, minutes: bool, count: int) -> RawHistory:
        return replies.history(
            await self._conn.run("history", "minute" if minutes else "hour", count)
        )

    async def read_events(self, after: str | None, count: int, block: float) -> list[Event]:
        reply = await self._conn.blocking(
            "XREAD",
            "COUNT",
            count,
            "BLOCK",
            max(1, int(block * 1000)),
            "STREAMS",
            self._conn.key("events"),
            after or "$",
        )
        events: list[Event] = []
        for _stream, entries in reply or ():
            events.extend(Event.from_fields(text(eid), pairs(fields)) for eid, fields in entries)
        return events

    async def last_event_id(self) -> str:
        last = await self._conn.client.xrevrange(self._conn.key("events"), count=1)
        return text(last[0][0]) if last else "0-0"

    async def trimmed_through(self) -> str:
        try:
            info = await self._conn.client.xinfo_stream(self._conn.key("events"))
        except ResponseError:  # no stream yet
            return "0-0"
        return replies.trimmed_through(info)

    async def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        await self._conn.run("emit", event_type, dumps(dict(data)))

    # -- workers' transitions (claim.lua, finish.lua, job_event.lua, progress.lua) ----------
    async def claim(
        self,
        worker_id: str,
        count: int,
        lease: float,
        handlers: Collection[str] | None = None,
        *,
        request: str | None = None,
    ) -> ClaimBatch:
        args = self._claim_args(worker_id, count, lease, request or self._claim_id(), handlers)
        return await leases.claim(self._conn, args)

    def _claim_id(self) -> str:
        """A claim's id: the script keeps the last one's jobs per worker, so the same claim
        sent again after a lost reply gets those jobs back instead of leasing more."""
        self._claims += 1
        return f"{self._claim_prefix}{self._claims}"

    def _claim_args(
        self,
        worker_id: str,
        count: int,
        lease: float,
        request: str,
        handlers: Collection[str] | None,
    ) -> list[Any]:
        return leases.claim_args(self.settings, worker_id, count, lease, request, handlers)

    async def wait_and_claim(
        self,
        worker_id: str,
        count: int,
        lease: float,
        timeout: float,
        handlers: Collection[str] | None = None,
    ) -> ClaimBatch:
        args = self._claim_args(worker_id, count, lease, self._claim_id(), handlers)
        return await leases.wait_and_claim(self._conn, timeout, args)

    async def finish(self, worker_id: str, items: Sequence[Finish]) -> list[bool]:
        return await leases.finish(self._conn, worker_id, items)

    async def job_events(self, items: Sequence[JobEmit]) -> int:
        return await leases.job_events(self._conn, items)

    async def progress(self, items: Sequence[ProgressUpdate]) -> None:
        await leases.progress(self._conn, items)

    # -- workflows (parents.lua, family.lua) -------------------------------------------------
    async def parent_results(
        self, job_id: str, offset: int, count: int
    ) -> tuple[list[ParentResult], int]:
        reply = await self._conn.run("parents", job_id, offset or 1, count)
        return replies.parent_results(reply)

    async def relatives(self, job_id: str, limit: int) -> Relatives:
        return replies.relatives(await self._conn.run("family", job_id, limit))

    # -- the worker registry, wake-ups and control (heartbeat.lua, workers.lua, ...) --------
    async def list_workers(self) -> list[WorkerRecord]:
        ttl_ms = int(self.settings.worker_ttl * 1000)
        return replies.workers(await self._conn.run("workers", ttl_ms))

    async def heartbeat(
        self, worker: WorkerRecord, leases: Sequence[tuple[str, str]], lease: float
    ) -> tuple[list[str], list[str]]:
        return await workers.heartbeat(self._conn, self._queues, worker, leases, lease)

    async def unregister_worker(self, worker_id: str) -> None:
        await self._conn.run("unregister", worker_id)

    async def wait_for_work(self, timeout: float) -> None:
        conn = self._conn
        await conn.waiting().execute("BLPOP", conn.key("wake"), f"{max(0.01, timeout):.3f}")

    async def interrupt_wait(self) -> None:
        with contextlib.suppress(*_UNBLOCK_REFUSED):  # a managed server may refuse it
            await self._conn.unblock_waiter()

    async def send_control(self, message: Mapping[str, Any], worker_id: str | None) -> int:
        ttl_ms = int(self.settings.worker_ttl * 1000)
        target = worker_id or "*"
        message_json = dumps(dict(message))
        return int(await self._conn.run("control", target, message_json, ttl_ms, request_id()))

    async def next_control(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        return await workers.next_control(self._conn, worker_id, timeout)

    async def now_ms(self) -> int:
        seconds, micros = await self._conn.execute("TIME")  # on a cluster: the queue's master
        return int(seconds) * 1000 + int(micros) // 1000

    async def server_warnings(self) -> list[str]:
        # on a cluster: the master that holds this queue
        return await server.server_warnings(self._conn.execute)

    # -- schedules (sched_*.lua) -------------------------------------------------------------
    async def put_schedule(
        self, name: str, definition: bytes, timing: str, first_ms: int, job_name: str
    ) -> int:
        put = int(await self._conn.run("sched_put", name, definition, timing, first_ms, job_name))
        if not self._queues.registered:  # a queue with only schedules is a queue to list too
            await self._queues.register()
        return put

    async def due_schedules(self, limit: int) -> DueSchedules:
        return replies.due_schedules(await self._conn.run("sched_due", limit))

    async def fire_schedules(self, items: Sequence[ScheduleFire]) -> list[bool]:
        return await schedules.fire_schedules(self._conn, items)

    async def list_schedules(self, name: str | None = None) -> list[RawSchedule]:
        return replies.schedules(await self._conn.run("sched_list", name or ""))

    async def set_schedule_paused(self, name: str, paused: bool, next_ms: int) -> int:
        return int(await self._conn.run("sched_pause", name, "1" if paused else "0", next_ms))

    async def remove_schedule(self, name: str) -> bool:
        return bool(await self._conn.run("sched_remove", name))
