"""The Redis engine's transport: connections, script calls by SHA with retries, blocking
reads, and the routing that follows a queue's slot around a cluster.

`RedisBackend` holds one `RedisConnection` and speaks to Redis only through it: a script by
name (`run`), a blocking read on a connection of its own (`blocking`, `waiting`), or a plain
command on the fast connection (`execute`). Nothing here knows what a job is.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    BusyLoadingError,
    NoPermissionError,
    NoScriptError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...errors import SubmitNotReplicated, is_out_of_memory, out_of_memory
from ...keys import key_prefix
from ..cluster import SlotRoute, cluster_mode, is_cluster, redirection, with_node
from ..fastpath import FastConnection
from ..records import BackendSettings
from ..urls import redact_url
from .scripts import READ_ONLY, SCRIPTS, script_source

__all__ = ["RedisConnection", "request_id", "script_refusal"]

_RETRIES = 10
_BUSY_SLOT = ("TRYAGAIN", "CLUSTERDOWN")  # a slot mid-migration, or a failover under way


def request_id() -> str:
    """A call's id, for the scripts that give a call sent again its first reply (`replayed`
    in _lib.lua): `RedisConnection.run` sends a call whose reply was lost again, as it was."""
    return uuid.uuid4().hex[:16]


def script_refusal(name: str, exc: ResponseError) -> Exception | None:
    """What a script call's error reply means to its caller, for the two refusals every path
    reports alike: Redis is full (`OutOfMemory`), or the ACL forbids a command the script
    runs (`NoPermissionError`); None for any other error."""
    if is_out_of_memory(exc):
        return out_of_memory(f"jobdeck's {name!r} call")
    if "can't run this command" in str(exc):  # an ACL, inside the script
        return NoPermissionError(
            f"NOPERM the ACL user may not run a command of jobdeck's {name!r} script ({exc})"
        )
    return None


class RedisConnection:
    """One process's connections to the server (or the cluster master) holding a queue."""

    def __init__(
        self,
        url: str,
        queue: str = "default",
        prefix: str = "jobdeck",
        settings: BackendSettings | None = None,
    ) -> None:
        # `?cluster=yes|no` forces the client; without it, the server says (INFO cluster).
        self.url, self._cluster = cluster_mode(url)
        self.queue = queue
        self.settings = settings or BackendSettings()
        self.prefix = prefix
        self._p = key_prefix(prefix, queue)
        self._route = self._p + "pending"
        self._redis: aioredis.Redis | aioredis.RedisCluster | None = None
        self._slots: SlotRoute | None = None  # on a cluster: the master of this queue's slot
        self._refreshed = 0.0
        self._name = "jobdeck"
        self._shas: dict[str, str] = {}
        self._verbs = {name: "EVALSHA_RO" if name in READ_ONLY else "EVALSHA" for name in SCRIPTS}
        self._fast: FastConnection | None = None
        self._waiter: FastConnection | None = None
        self._idle_blocking: list[FastConnection] = []
        self._replicated: FastConnection | None = None  # submits that WAIT for replicas
        self._waiting_replicas: asyncio.Future[Any] | None = None  # the WAIT they share
        self._base = [self._p, str(self.settings.events_maxlen)]

    def key(self, name: str) -> str:
        """The full name of this queue's key `name` (`pending`, `job:<id>`, `events`, ...)."""
        return self._p + name

    @property
    def description(self) -> str:
        return redact_url(self.url)

    @property
    def is_cluster(self) -> bool:
        return self._slots is not None

    @property
    def client_name(self) -> str:
        """The name this process's connections give Redis (CLIENT SETNAME)."""
        return self._name

    @property
    def node_url(self) -> str:
        """Where this queue's keys live: the server, or the master of the queue's slot."""
        return self.url if self._slots is None else self._slots.url

    @property
    def client(self) -> aioredis.Redis | aioredis.RedisCluster:
        if self._redis is None:
            raise RuntimeError("backend is not initialized: call `await service.initialize()`")
        return self._redis

    async def initialize(self) -> None:
        if self._redis is not None:
            return
        # One quick PING without retries: a wrong or unreachable URL is reported at once.
        self._name = name = f"jobdeck:{socket.gethostname()}:{os.getpid()}"
        fast = FastConnection(self.url, client_name=name)
        try:
            await fast.execute("PING")
            cluster = await is_cluster(fast) if self._cluster is None else self._cluster
            if cluster:
                self._slots = SlotRoute(self.url, self._route)
                if await self._slots.refresh():
                    fast.abort()
                    fast = FastConnection(self._slots.url, client_name=name)
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
        if self._slots is not None:
            # The slow path (reads, scans) on redis-py's cluster client, which follows
            # redirections and failovers by itself.
            self._redis = aioredis.RedisCluster.from_url(
                self.url,
                retry=retry,
                socket_connect_timeout=5.0,
                socket_timeout=15.0,
                client_name=name,
            )
            await self._redis.initialize()
        else:
            self._redis = aioredis.Redis.from_url(
                self.url,
                retry=retry,
                retry_on_error=[BusyLoadingError, RedisConnectionError, RedisTimeoutError],
                socket_connect_timeout=5.0,
                socket_timeout=15.0,
                health_check_interval=30,
                client_name=name,
                **tcp,
            )
        self._shas = {
            name: hashlib.sha1(script_source(name).encode()).hexdigest() for name in SCRIPTS
        }

    async def close(self) -> None:
        for conn in self._idle_blocking:
            conn.abort()
        self._idle_blocking.clear()
        for spare in (self._waiter, self._replicated):
            if spare is not None:
                await spare.close()
        self._waiter = self._replicated = None
        if self._fast is not None:
            await self._fast.close()
            self._fast = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def run(
        self, name: str, *args: Any, via: Callable[[], FastConnection] | None = None
    ) -> Any:
        """One script call by SHA on the fast connection. Transient failures (connection
        lost, server loading its data) are retried with backoff; NOSCRIPT after a server
        restart reloads the script. Every script is safe to send again after a lost reply:
        submit skips existing ids, finish refuses a spent token, and cancel, retry_dead,
        control and claim carry a request id under which the script keeps its first reply
        (claim: the jobs it leased), so a call sent again answers as the first did instead
        of acting twice (`replayed` in _lib.lua)."""
        command = (self._verbs[name], self._shas[name], 1, self._route, *self._base, *args)
        delay = 0.05
        for attempt in range(_RETRIES):
            conn = via() if via else self._fast_conn()
            try:
                return await conn.execute(*command)
            except NoScriptError:
                await conn.execute("SCRIPT", "LOAD", script_source(name))
            except (RedisConnectionError, RedisTimeoutError, BusyLoadingError):
                if attempt == _RETRIES - 1:
                    raise
                await asyncio.sleep(delay)
                delay = min(1.0, delay * 2)
                await self._find_master()
            except ResponseError as exc:
                refusal = script_refusal(name, exc)
                if refusal is not None:
                    raise refusal from None
                if command[0] == "EVALSHA_RO" and "unknown command" in str(exc).lower():
                    # Redis before 7 has no read-only script calls: EVALSHA for everything
                    self._verbs = dict.fromkeys(self._verbs, "EVALSHA")
                    command = ("EVALSHA", *command[1:])
                    continue
                # On a cluster: the slot moved (MOVED), is moving (ASK), or has no master
                # for a moment (a failover); elsewhere, an error of the script's own.
                if self._slots is None:
                    raise
                where = redirection(exc)
                if where is not None and where[0] == "ASK":
                    return await self._ask(where[2], where[3], command, name)
                if where is not None:
                    self._moved(where[2], where[3])
                elif attempt == _RETRIES - 1 or not str(exc).startswith(_BUSY_SLOT):
                    raise
                else:
                    await asyncio.sleep(delay)
                    delay = min(1.0, delay * 2)
                    await self._find_master()
        raise RedisConnectionError(f"script {name} could not be run")

    async def blocking(self, *command: Any) -> Any:
        """A blocking read on a connection of its own, taken from a small idle list. A call
        that is cancelled or fails drops its connection, which may still owe a reply."""
        for attempt in range(2):
            conn = (
                self._idle_blocking.pop()
                if self._idle_blocking
                else FastConnection(self.node_url, reply_timeout=60.0)
            )
            try:
                reply = await conn.execute(*command)
            except BaseException as exc:
                conn.abort()
                if attempt == 0 and await self.rerouted(exc):
                    continue
                raise
            self._idle_blocking.append(conn)
            return reply
        raise AssertionError("unreachable")

    def script_command(self, name: str, *args: Any) -> tuple[Any, ...]:
        """The EVALSHA of script `name` with `args`, to pipeline behind another command."""
        return ("EVALSHA", self._shas[name], 1, self._route, *self._base, *args)

    async def execute(self, *command: Any) -> Any:
        """A plain command on the fast connection (on a cluster: the master of this queue)."""
        return await self._fast_conn().execute(*command)

    def _fast_conn(self) -> FastConnection:
        if self._fast is None:
            raise RuntimeError("backend is not initialized: call `await service.initialize()`")
        return self._fast

    async def unblock_waiter(self) -> None:
        """End the BLPOP in progress on `waiting()` as a timeout would (CLIENT UNBLOCK): a
        claim pipelined behind it still runs and its reply is read, so nothing is stranded."""
        client_id = None if self._waiter is None else self._waiter.client_id
        if client_id is not None and self._fast is not None:
            # on the fast connection: the waiter's own node, on a cluster too
            await self._fast.execute("CLIENT", "UNBLOCK", client_id)

    async def run_replicated(self, name: str, *args: Any) -> Any:
        """Script `name` on a connection of its own (WAIT blocks its connection, which must
        not hold up a worker's scripts), then a WAIT that concurrent calls share.

        Replies come in order: a WAIT still unanswered when a call's reply arrives was sent
        after that call, so it covers it; a call joins the WAIT in flight, or sends one.
        Many concurrent submits so pay for one replication round trip together."""
        wanted = self.settings.submit_replicas
        reply = await self.run(name, *args, via=self._replicated_conn)
        waiting = self._waiting_replicas
        if waiting is None or waiting.done():
            conn = self._replicated_conn()
            wait = ("WAIT", wanted, int(self.settings.submit_replica_timeout * 1000))
            waiting = self._waiting_replicas = asyncio.ensure_future(conn.execute(*wait))
        acked = await asyncio.shield(waiting)
        if int(acked) < wanted:
            raise SubmitNotReplicated(
                f"{int(acked)} of {wanted} replicas confirmed the submit within "
                f"{self.settings.submit_replica_timeout:g}s: a failover now could lose it "
                "(submitting again with the same job id is safe)"
            )
        return reply

    def _replicated_conn(self) -> FastConnection:
        if self._replicated is None:
            self._replicated = FastConnection(self.node_url, client_name=self._name)
        return self._replicated

    def waiting(self) -> FastConnection:
        """Its own socket: a blocked BLPOP must not hold up the scripts pipelined on _fast."""
        if self._waiter is None:
            self._waiter = FastConnection(self.node_url, reply_timeout=30.0, track_id=True)
        return self._waiter

    # -- cluster routing -------------------------------------------------------------------
    def _moved(self, host: str, port: int) -> None:
        """Our slot is served elsewhere now: every connection goes there from here on."""
        if self._slots is not None and self._slots.moved(host, port):
            self._reconnect()

    async def _find_master(self) -> None:
        """After a lost connection on a cluster, ask who serves our slot (at most every
        0.2 s however many calls failed): a failover gave it to a replica."""
        if self._slots is None or time.monotonic() - self._refreshed < 0.2:
            return
        self._refreshed = time.monotonic()
        if await self._slots.refresh():
            self._reconnect()

    async def rerouted(self, exc: BaseException) -> bool:
        """On a cluster, after a failed call: True if the slot was found elsewhere (MOVED,
        or a new master after a lost connection), so the call may go again there. An ASK
        (a slot mid-migration) moves nothing: the caller tries again later."""
        if self._slots is None:
            return False
        before = self._slots.node
        where = redirection(exc)
        if where is not None and where[0] == "MOVED":
            self._moved(where[2], where[3])
        elif isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
            await self._find_master()
        return self._slots.node != before

    def _reconnect(self) -> None:
        old, self._fast = self._fast, FastConnection(self.node_url, client_name=self._name)
        if old is not None:
            old.abort()
        for spare in (self._waiter, self._replicated):
            if spare is not None:
                spare.abort()
        self._waiter = self._replicated = None
        for conn in self._idle_blocking:
            conn.abort()
        self._idle_blocking.clear()

    async def _ask(self, host: str, port: int, command: tuple[Any, ...], name: str) -> Any:
        """One call on the node the slot is being migrated to, as ASK asks: ASKING first."""
        conn = FastConnection(with_node(self.url, host, port))
        try:
            try:
                return (await conn.pipeline(("ASKING",), command))[1]
            except NoScriptError:
                await conn.execute("SCRIPT", "LOAD", script_source(name))
                return (await conn.pipeline(("ASKING",), command))[1]
        finally:
            await conn.close()
