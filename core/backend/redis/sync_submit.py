"""Submits from synchronous code, sent by the calling thread itself, many threads' at once in
one script call.

`SyncJobService` runs everything else on its loop thread; a submit, the call a Flask or Django
view makes on every request, goes here instead: the job is prepared and checked in the calling
thread (`submission.prepare`, as always) and `submit.lua` is called over a blocking socket
(`BlockingConnection`), with no hop to the loop thread and back.

Threads that submit at the same time share that socket by *combining*: each puts its job in a
queue; the first finds nobody sending and becomes the sender, takes every job queued (up to a
submit chunk: 1,000 jobs or 512 KB of values), sends them in one script call, hands each
caller its own reply and, if more jobs were queued meanwhile, wakes their first caller to send
the next batch. Sixteen threads so pay for one round trip and one script call per batch instead
of one each. A job in a batch gets exactly what it would alone: submit.lua treats each job of
a call on its own (an existing id is skipped, a held unique key answers with its holder).

What the blocking path does not handle itself goes to the loop, as the whole submit used to:
a lost or refused connection, a server still loading, a cluster slot that moved (MOVED, ASK,
TRYAGAIN, CLUSTERDOWN). `RedisConnection.run` there retries with backoff and follows the slot,
and sending the same jobs again is safe (submit.lua skips ids that exist). Redis being full
and ACL refusals raise the same errors as the loop's path (`script_refusal`).
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable, Sequence

from redis.exceptions import BusyLoadingError, NoScriptError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..blocking import BlockingConnection
from ..records import SUBMIT_CHUNK, SUBMIT_CHUNK_BYTES, NewJob
from .connection import RedisConnection, script_refusal
from .jobs import submit_args
from .replies import submitted
from .scripts import script_source

__all__ = ["SyncSubmitter"]

#: The longest a reply is waited for on the calling thread's socket before the jobs go to the
#: loop's path (as the loop's own connection gives up on a reply after 15 s and retries).
REPLY_TIMEOUT = 15.0

#: `fallback(jobs, timeout)`: the same jobs through the loop's path, blocking the caller.
Fallback = Callable[[Sequence[NewJob], float | None], list[bool | str]]


class _Slot:
    """One caller's job in the queue, and what came of it. `done` is held until then."""

    __slots__ = ("done", "error", "flag", "job", "lead", "size")

    def __init__(self, job: NewJob) -> None:
        self.job = job
        fields = job.fields
        self.size = len(fields.get("args", b"")) + len(fields.get("kwargs", b""))
        self.done = threading.Lock()
        self.done.acquire()
        self.flag: bool | str = False
        self.error: BaseException | None = None
        self.lead = False  # woken to send the next batch, not with an answer


class SyncSubmitter:
    """The submit path of one process's `SyncJobService` over Redis (see the module)."""

    def __init__(self, conn: RedisConnection, fallback: Fallback) -> None:
        self._conn = conn
        self._fallback = fallback
        self.pid = os.getpid()  # a forked child makes its own (locks and socket are ours)
        self._mutex = threading.Lock()
        self._queue: list[_Slot] = []
        self._busy = False  # a caller is sending a batch
        self._link: BlockingConnection | None = None
        self._node = ""

    def submit(self, job: NewJob, timeout: float | None) -> bool | str:
        """Store one prepared job, alone or with other threads' (submit.lua's flag for it).
        A job of a workflow (parents, an expiry) goes the loop's way, alone: a parent that
        does not exist refuses the whole call, which must not be other threads' jobs."""
        if job.after or job.expires_ms:
            return self._fallback([job], timeout)[0]
        slot = _Slot(job)
        with self._mutex:
            self._queue.append(slot)
            lead = not self._busy
            self._busy = True
        if not lead:
            slot.done.acquire()  # released with an answer, or to send the next batch
            if not slot.lead:
                if slot.error is not None:
                    raise slot.error
                return slot.flag
        self._lead(slot, timeout)
        if slot.error is not None:
            raise slot.error
        return slot.flag

    def _lead(self, mine: _Slot, timeout: float | None) -> None:
        """Send the batch that starts with `mine`, answer its callers, pass the turn on."""
        with self._mutex:
            queue = self._queue
            count = size = 0
            for slot in queue:  # a submit chunk at most, as a bulk submit's
                if count and (count == SUBMIT_CHUNK or size + slot.size > SUBMIT_CHUNK_BYTES):
                    break
                count += 1
                size += slot.size
            batch, self._queue = queue[:count], queue[count:]
        answered = batch
        try:
            flags = self._store([slot.job for slot in batch], timeout)
        except Exception as exc:
            for slot in batch:
                slot.error = exc if slot is mine else _copy(exc)
        except BaseException:
            # The sender was interrupted (Ctrl-C in its thread): its own call ends with it;
            # the other callers' jobs go in the next batch (sending them twice is safe).
            answered = [mine]
            with self._mutex:
                self._queue[:0] = [slot for slot in batch if slot is not mine]
            raise
        else:
            for slot, flag in zip(batch, flags, strict=True):
                slot.flag = flag
        finally:
            for slot in answered:
                if slot is not mine:
                    slot.done.release()
            with self._mutex:
                if self._queue:
                    following = self._queue[0]
                    following.lead = True
                    following.done.release()
                else:
                    self._busy = False

    def _store(self, jobs: Sequence[NewJob], timeout: float | None) -> list[bool | str]:
        started = time.monotonic()
        conn = self._conn
        command = conn.script_command("submit", *submit_args(jobs))
        link = self._connection(timeout)
        try:
            try:
                reply = link.execute(*command)
            except NoScriptError:  # a restarted or flushed server
                link.execute("SCRIPT", "LOAD", script_source("submit"))
                reply = link.execute(*command)
        except (RedisConnectionError, RedisTimeoutError, BusyLoadingError):
            return self._elsewhere(jobs, timeout, started)
        except ResponseError as exc:
            refusal = script_refusal("submit", exc)
            if refusal is not None:
                raise refusal from None
            if conn.is_cluster:  # the slot moved, is moving or has no master for a moment
                return self._elsewhere(jobs, timeout, started)
            raise
        return submitted(reply)

    def _elsewhere(
        self, jobs: Sequence[NewJob], timeout: float | None, started: float
    ) -> list[bool | str]:
        """The loop's path, for what the blocking one does not handle; the socket is dropped
        so the next call connects to wherever the loop's connection found the queue."""
        self.close()
        left = None if timeout is None else timeout - (time.monotonic() - started)
        if left is not None and left <= 0:
            raise TimeoutError(f"no reply from Redis in {timeout:g}s")
        return self._fallback(jobs, left)

    def _connection(self, timeout: float | None) -> BlockingConnection:
        node = self._conn.node_url  # on a cluster, the master of the queue's slot
        link = self._link
        if link is None or node != self._node:
            if link is not None:
                link.close()
            reply_timeout = REPLY_TIMEOUT if timeout is None else min(timeout, REPLY_TIMEOUT)
            link = BlockingConnection(
                node, reply_timeout=reply_timeout, client_name=self._conn.client_name
            )
            self._link, self._node = link, node
        return link

    def close(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()


def _copy(exc: BaseException) -> BaseException:
    """The batch's error for another caller: its own object, so tracebacks added as each
    caller raises it do not pile up on one shared exception."""
    try:
        return copy.copy(exc)
    except Exception:
        return exc
