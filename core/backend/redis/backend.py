"""`RedisBackend`: the `Backend` contract over Redis, every method in this one class.

Each method builds its script's arguments, makes one call through the `RedisConnection`
(`connection.py`: connections, retries, cluster routing) and reads the reply with one
function of `replies.py`. The scripts themselves are `core/backend/lua/<name>.lua`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...codec import decode_control, dumps
from ...events import Event
from ...keys import STATUS_KEYS
from ..cluster import redirection
from ..fold import fold
from ..records import (
    MAX_LIMITS,
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
from . import replies
from .combine import SubmitCombiner
from .connection import RedisConnection
from .replies import flow_spec, pairs, text

__all__ = ["RedisBackend", "submit_args", "submitted"]


def _request_id() -> str:
    """A call's id, for the scripts that give a call sent again its first reply (`replayed`
    in _lib.lua): `RedisConnection.run` sends a call whose reply was lost again, as it was."""
    return uuid.uuid4().hex[:16]


PAGE_ROWS = 200  # rows one list.lua call reads at most
RETRY_STEP = 500  # dead letters one retry_dead.lua call of a pass moves (the script's own)
PURGE_STEP = 200  # jobs one purge.lua call deletes: freeing a 200 KB record costs ~12 us
# One finish.lua call stores at most this many outcomes, and this many bytes of them.
FINISH_ITEMS, FINISH_BYTES = 1000, 524_288
_UNBLOCK_REFUSED = (ResponseError, RedisConnectionError, RedisTimeoutError)
_NOT_A_HASH = {
    b"name": b"<malformed>",
    b"error": dumps({"type": "MalformedRecord", "message": "job record is not a hash"}),
}


def submit_args(jobs: Sequence[NewJob]) -> list[Any]:
    """submit.lua's ARGV after the common head: the count, then per job the job and its
    record's pairs. One place, for the loop's and the calling thread's submits alike."""
    args: list[Any] = [len(jobs)]
    for job in jobs:
        fields = job.fields
        args += (job.id, job.name, job.priority, job.delay_ms, job.unique_key)
        args += (job.unique_window_ms, fields.get("group") or "")
        # (workflows) its expiry and parents, for submit_flow.lua; '' for a plain job
        args += (flow_spec(job) if job.after or job.expires_ms else "", len(fields) * 2)
        for pair in fields.items():
            args += pair
    return args


def submitted(reply: list[Any]) -> list[bool | str]:
    """submit.lua's reply per job: True (queued), False (the id existed) or the id of the
    job holding its unique key."""
    return [text(flag) if isinstance(flag, bytes) else bool(flag) for flag in reply]


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
        self._submits = SubmitCombiner(self._submit)
        self._claims = 0  # claims sent, for their ids (`_claim_id`)
        self._claim_prefix = uuid.uuid4().hex[:8]

    def _bounds(self) -> list[int]:
        """The history bounds scripts that end jobs are given (`bounds_at` in _lib.lua)."""
        s = self.settings
        return [s.history_max, s.dead_max, int(s.dead_ttl * 1000)]

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
        return await self._conn.list_queues()

    # -- producers (submit.lua, cancel.lua, retry_dead.lua, purge.lua, pause.lua) ------------
    async def submit(self, jobs: Sequence[NewJob]) -> list[bool | str]:
        """Concurrent calls share script calls (`combine.py`); one alone goes at once."""
        return await self._submits.submit(jobs)

    async def _submit(self, jobs: Sequence[NewJob]) -> list[bool | str]:
        args = submit_args(jobs)
        # (workflows) a batch with a job that has parents or an expiry: the script that
        # checks and links them (a plain batch's script carries none of it)
        script = "submit_flow" if any(job.after or job.expires_ms for job in jobs) else "submit"
        conn = self._conn
        if self.settings.submit_replicas:
            created = await conn.run_replicated(script, *args)
        else:
            created = await conn.run(script, *args)
        if not conn.registered:
            await conn.register_queue()
        if created and created[0] == b"!after":
            raise replies.unknown_parent(created, len(jobs), self.queue)
        return submitted(created)

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
        was = await self._conn.run("cancel", job_id, history, _request_id())
        return text(was) if was else None

    async def retry_dead(self, job_ids: Sequence[str] | None) -> int:
        run = self._conn.run
        if job_ids is not None:
            return int(await run("retry_dead", _request_id(), "ids", *job_ids)) if job_ids else 0
        # One pass over what was dead when the first call ran, 1000 at a time: each call
        # hands back the pass's cutoff and how many of it stayed dead (unique key held).
        total, cutoff, taken, kept = 0, b"", RETRY_STEP, 0
        while taken == RETRY_STEP:
            moved, cutoff, taken, kept = await run("retry_dead", _request_id(), "all", cutoff, kept)
            total += int(moved)
        return total

    async def purge(self, status: str) -> int:
        total = 0
        while True:
            removed, taken = await self._conn.run(
                "purge", STATUS_KEYS[status], PURGE_STEP, total
            )
            total += int(removed)
            if int(taken) < PURGE_STEP:
                return total

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
        order, rows = "1" if newest_first else "0", []
        for first in range(offset, offset + limit, PAGE_ROWS):  # list.lua reads at most that
            count = min(PAGE_ROWS, offset + limit - first)
            flat = await self._conn.run("list", STATUS_KEYS[status], first, count, order, max_field)
            rows += replies.rows(flat)
        return rows

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
        conn = self._conn
        reply = await conn.run("limit_set", key, value, MAX_LIMITS, dumps(dict(event)))
        existed = int(reply[0])
        if existed < 0:
            return -1
        woken, last = int(reply[1]), text(reply[2])
        while woken >= 1000:  # a template over more held keys than one call wakes
            woken, last = await conn.run("limit_wake", key, last)
            woken, last = int(woken), text(last)
        return existed

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
        return replies.claim_batch(await self._conn.run("claim", *args))

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
        lease_ms, stalls = int(lease * 1000), self.settings.max_stalls
        if handlers is None:  # a worker that runs any job name
            return [worker_id, count, lease_ms, stalls, *self._bounds(), request, ""]
        return [worker_id, count, lease_ms, stalls, *self._bounds(), request, "1", *handlers]

    async def wait_and_claim(
        self,
        worker_id: str,
        count: int,
        lease: float,
        timeout: float,
        handlers: Collection[str] | None = None,
    ) -> ClaimBatch:
        # BLPOP and the claim script go out in one write: Redis runs the claim the moment the
        # wake-up arrives, so an idle worker starts a new job one round trip after its submit.
        conn, request = self._conn, self._claim_id()
        claim = conn.script_command(
            "claim", *self._claim_args(worker_id, count, lease, request, handlers)
        )
        try:
            _woken, reply = await conn.waiting().pipeline(
                ("BLPOP", conn.key("wake"), f"{max(0.01, timeout):.3f}"), claim
            )
        except NoScriptError:  # a restarted server: run() loads the script again
            return await self.claim(worker_id, count, lease, handlers, request=request)
        except (ResponseError, RedisConnectionError, RedisTimeoutError) as exc:
            # a cluster's slot moved or failed over: run() finds the new master. The same
            # request: if the lost reply had leased jobs, the claim returns those.
            if await conn.rerouted(exc) or redirection(exc) is not None:
                return await self.claim(worker_id, count, lease, handlers, request=request)
            raise
        return replies.claim_batch(reply)

    async def finish(self, worker_id: str, items: Sequence[Finish]) -> list[bool]:
        """In calls of at most FINISH_BYTES of results and errors (and FINISH_ITEMS items):
        the script stores each one, so its time follows their bytes; a single item larger
        than that goes alone."""
        head = [worker_id, *self._bounds(), int(self.settings.result_ttl * 1000)]
        accepted: list[bool] = []
        args: list[Any] = []
        count = size = 0
        for item in items:
            grows = len(item.payload) + len(item.event_data)
            if count and (count == FINISH_ITEMS or size + grows > FINISH_BYTES):
                accepted += await self._finish(head, count, args)
                args, count, size = [], 0, 0
            args += [
                item.job_id,
                item.token,
                item.outcome,
                item.payload,
                int(item.delay * 1000),
                item.event_data,
            ]
            count, size = count + 1, size + grows
        if count:
            accepted += await self._finish(head, count, args)
        return accepted

    async def _finish(self, head: list[Any], count: int, items: list[Any]) -> list[bool]:
        return [bool(flag) for flag in await self._conn.run("finish", *head, count, *items)]

    async def job_events(self, items: Sequence[JobEmit]) -> int:
        args: list[Any] = [len(items)]
        for item in items:
            args += [item.job_id, item.token, item.event_type, item.data]
        return int(await self._conn.run("job_event", *args))

    async def progress(self, items: Sequence[ProgressUpdate]) -> None:
        args: list[Any] = [len(items)]
        for item in items:
            args += [
                item.job_id,
                item.token,
                dumps([item.fraction, item.message]),
                dumps({"fraction": item.fraction, "message": item.message}),
            ]
        await self._conn.run("progress", *args)

    # -- the worker registry, wake-ups and control (heartbeat.lua, workers.lua, ...) --------
    # -- workflows (parents.lua, family.lua) -------------------------------------------------
    async def parent_results(
        self, job_id: str, offset: int, count: int
    ) -> tuple[list[ParentResult], int]:
        reply = await self._conn.run("parents", job_id, offset or 1, count)
        return replies.parent_results(reply)

    async def relatives(self, job_id: str, limit: int) -> Relatives:
        return replies.relatives(await self._conn.run("family", job_id, limit))

    async def list_workers(self) -> list[WorkerRecord]:
        ttl_ms = int(self.settings.worker_ttl * 1000)
        return replies.workers(await self._conn.run("workers", ttl_ms))

    async def heartbeat(
        self, worker: WorkerRecord, leases: Sequence[tuple[str, str]], lease: float
    ) -> tuple[list[str], list[str]]:
        conn, settings = self._conn, self.settings
        if not conn.registered:
            await conn.register_queue()
        args: list[Any] = [
            worker.id,
            dumps(worker.to_dict()),
            int(settings.worker_ttl * 1000),
            int(lease * 1000),
            settings.max_stalls,
            *self._bounds(),
            len(leases),
        ]
        for job_id, token in leases:
            args += [job_id, token]
        lost, cancel = await conn.run("heartbeat", *args)
        return [text(x) for x in lost], [text(x) for x in cancel]

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
        return int(await self._conn.run("control", target, message_json, ttl_ms, _request_id()))

    async def next_control(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        key = self._conn.key("control:" + worker_id)
        first = await self._conn.blocking("BLPOP", key, f"{max(0.01, timeout):.3f}")
        if first is None:
            return []
        raw = [first[1]]
        raw += await self._conn.client.lpop(key, 100) or []
        return decode_control(raw)

    async def now_ms(self) -> int:
        seconds, micros = await self._conn.execute("TIME")  # on a cluster: the queue's master
        return int(seconds) * 1000 + int(micros) // 1000

    async def server_warnings(self) -> list[str]:
        warnings: list[str] = []
        execute = self._conn.execute  # on a cluster: the master that holds this queue
        try:
            config = pairs(await execute("CONFIG", "GET", "maxmemory-policy"))
            policy = text(config.get("maxmemory-policy", b"noeviction"))
            if policy != "noeviction":
                warnings.append(
                    f"Redis maxmemory-policy is {policy!r}: under memory pressure Redis may "
                    "evict job records and queues. Set it to 'noeviction'."
                )
            memory = replies.memory_warning(text(await execute("INFO", "memory")))
            if memory:
                warnings.append(memory)
            persistence = pairs(await execute("CONFIG", "GET", "appendonly"))
            save = pairs(await execute("CONFIG", "GET", "save"))
            if text(persistence.get("appendonly", b"no")) != "yes" and not text(
                save.get("save", b"")
            ):
                warnings.append(
                    "Redis persistence is off (no AOF, no RDB snapshots): a Redis restart "
                    "loses every queued job. Enable 'appendonly yes' for durable queues."
                )
        except ResponseError:
            pass  # CONFIG is disabled on many managed services (or by an ACL); nothing to check
        return warnings

    # -- schedules (sched_*.lua) -------------------------------------------------------------
    async def put_schedule(
        self, name: str, definition: bytes, timing: str, first_ms: int, job_name: str
    ) -> int:
        return int(await self._conn.run("sched_put", name, definition, timing, first_ms, job_name))

    async def due_schedules(self, limit: int) -> DueSchedules:
        return replies.due_schedules(await self._conn.run("sched_due", limit))

    async def fire_schedules(self, items: Sequence[ScheduleFire]) -> list[bool]:
        args: list[Any] = [len(items)]
        for item in items:
            args += [
                item.name,
                "" if item.expected_ms is None else item.expected_ms,
                item.next_ms,
                item.tick_ms,
                item.job_id,
                item.job_name,
                item.priority,
                item.missed,
                len(item.fields) * 2,
            ]
            for key, value in item.fields.items():
                args += [key, value]
        return [bool(flag) for flag in await self._conn.run("sched_fire", *args)]

    async def list_schedules(self, name: str | None = None) -> list[RawSchedule]:
        return replies.schedules(await self._conn.run("sched_list", name or ""))

    async def set_schedule_paused(self, name: str, paused: bool, next_ms: int) -> int:
        return int(await self._conn.run("sched_pause", name, "1" if paused else "0", next_ms))

    async def remove_schedule(self, name: str) -> bool:
        return bool(await self._conn.run("sched_remove", name))
