"""A lean pipelined Redis connection for the hot path: script calls by SHA.

redis-py's asyncio client spends most of a round trip in stream plumbing, pool checkout and
retry wrappers; submit, claim and finish are one EVALSHA each and dominate a queue's cost. This
connection is an `asyncio.Protocol` with hiredis doing the packing and parsing: replies arrive
in order, so any number of coroutines share one socket and their calls pipeline for free.

Errors map to redis-py's exception classes so callers handle both clients alike. A watchdog
aborts the socket if a reply is overdue, so a silent network partition cannot hang a worker.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import ssl
import time
from typing import Any

import hiredis
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    NoPermissionError,
    NoScriptError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .tls import tls_failure
from .urls import connect_options

__all__ = ["FastConnection", "reply_error"]

# A TLS handshake not done by then is checked for a server that speaks plain Redis instead.
_TLS_PROBE_AFTER = 0.3


def reply_error(reply: hiredis.ReplyError) -> Exception:
    """The redis-py exception for an error reply (NOSCRIPT, LOADING, NOAUTH, NOPERM, ...)."""
    text = str(reply)
    if text.startswith("NOSCRIPT"):
        return NoScriptError(text)
    if text.startswith("LOADING"):
        return BusyLoadingError(text)
    if text.startswith(("NOAUTH", "WRONGPASS")):
        return AuthenticationError(text)
    if "NOPERM" in text:  # also from inside a script
        return NoPermissionError(text)
    return ResponseError(text)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: Exception | None = None
        self.tls = False
        self.answered = False  # any reply yet: a TLS session closed before one was refused

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.answered = True
        self.reader.feed(data)
        waiting = self.waiting
        try:
            while (reply := self.reader.gets()) is not False:
                future = waiting.popleft()[0]
                if future.done():
                    continue
                if isinstance(reply, hiredis.ReplyError):
                    future.set_exception(reply_error(reply))
                else:
                    future.set_result(reply)
        except hiredis.ProtocolError as exc:
            self.abort(RedisConnectionError(f"protocol error from Redis: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc
        self._fail_all(RedisConnectionError(f"connection to Redis lost: {self.why_lost()}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def why_lost(self) -> str:
        if isinstance(self.lost, ssl.SSLError):
            return tls_failure(self.lost)
        if self.tls and not self.answered and self.lost is None:
            return (
                "TLS: the server closed the session before answering; does it ask for a "
                "client certificate (ssl_certfile, ssl_keyfile)?"
            )
        if self.tls and not self.answered and isinstance(self.lost, ConnectionResetError):
            # TLS 1.3 sends the server's "certificate required" alert after the handshake;
            # when the server closes with our first command unread, a reset overtakes it.
            return (
                f"TLS: the server reset the session before answering ({self.lost}); does it "
                "ask for a client certificate (ssl_certfile, ssl_keyfile)?"
            )
        return str(self.lost or "closed by server")

    def abort(self, exc: Exception) -> None:
        self._fail_all(exc)
        if self.transport is not None:
            self.transport.abort()

    def _fail_all(self, exc: Exception) -> None:
        while self.waiting:
            future = self.waiting.popleft()[0]
            if not future.done():
                future.set_exception(exc)

    def send(self, *commands: tuple[Any, ...]) -> list[asyncio.Future[Any]]:
        """Write `commands` at once; one future per reply. Every command is encoded before
        anything is queued: one that cannot be (a lone surrogate in an argument raises
        `UnicodeEncodeError`) sends nothing, so replies never shift onto the wrong calls."""
        if self.transport is None or self.transport.is_closing():
            raise RedisConnectionError(f"connection to Redis is closed: {self.why_lost()}")
        packed = b"".join([hiredis.pack_command(args) for args in commands])
        loop, now = asyncio.get_running_loop(), time.monotonic()
        futures = [loop.create_future() for _ in commands]
        self.waiting.extend((future, now) for future in futures)
        self.transport.write(packed)
        return futures

    def send_one(self, command: tuple[Any, ...]) -> asyncio.Future[Any]:
        """`send` for a single command, the common case (every script call): no lists to
        build and join. The same guarantee: nothing is queued if the command cannot be
        encoded."""
        if self.transport is None or self.transport.is_closing():
            raise RedisConnectionError(f"connection to Redis is closed: {self.why_lost()}")
        packed = hiredis.pack_command(command)
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((future, time.monotonic()))
        self.transport.write(packed)
        return future


class FastConnection:
    """One lazily (re)connected socket. `execute` raises redis-py's exceptions."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 5.0,
        reply_timeout: float = 15.0,
        client_name: str | None = None,
        track_id: bool = False,
    ) -> None:
        # The same options redis-py reads from the URL (credentials in the URL or its query,
        # database, connect timeout, TLS files).
        options = self._options = connect_options(url)
        self._host, self._port, self._path = options.host, options.port, options.path
        self._tls = options.tls
        self._connect_timeout = options.connect_timeout or connect_timeout
        self._reply_timeout = reply_timeout
        self._client_name = client_name
        self._track_id = track_id
        self.client_id: int | None = None  # the server's CLIENT ID, with `track_id`
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    async def execute(self, *args: Any) -> Any:
        protocol = self._protocol
        if protocol is None or protocol.transport is None or protocol.transport.is_closing():
            protocol = await self._connect()
        return await protocol.send_one(args)

    async def pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Send several commands in one write; Redis runs them back to back on this
        connection (a blocking command first holds the rest until it returns)."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None or protocol.transport.is_closing():
            protocol = await self._connect()
        futures = protocol.send(*commands)
        replies = await asyncio.gather(*futures, return_exceptions=True)
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        return list(replies)

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            current = self._protocol
            if current is not None and current.transport and not current.transport.is_closing():
                return current
            loop = asyncio.get_running_loop()
            try:
                if self._path is not None:
                    connect = loop.create_unix_connection(_Protocol, self._path)
                else:
                    connect = loop.create_connection(
                        _Protocol, self._host, self._port, ssl=self._tls
                    )
                if self._tls is None:
                    _transport, protocol = await asyncio.wait_for(connect, self._connect_timeout)
                else:
                    _transport, protocol = await self._connect_tls(connect)
                protocol.tls = self._tls is not None
            except OSError as exc:  # refused, unknown host, TLS, a timeout (TimeoutError) ...
                reason = self._options.failure(exc, self._connect_timeout)
                raise RedisConnectionError(reason) from exc
            with contextlib.suppress(OSError, AttributeError):
                sock = _transport.get_extra_info("socket")
                if sock is not None and self._path is None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            try:
                for command in self._options.handshake(self._client_name):
                    await protocol.send(command)[0]
                if self._track_id:
                    self.client_id = int(await protocol.send(("CLIENT", "ID"))[0])
            except BaseException:
                protocol.abort(RedisConnectionError("handshake failed"))
                raise
            self._protocol = protocol
            self._arm_watchdog()
            return protocol

    async def _connect_tls(self, connect: Any) -> tuple[Any, _Protocol]:
        """A TLS connection; if the handshake hangs, ask the port in plain text whether it is
        a Redis without TLS (it answers PING at once, where a TLS server never answers a plain
        PING) and say so at once instead of waiting out the connect timeout."""
        attempt = asyncio.ensure_future(asyncio.wait_for(connect, self._connect_timeout))
        done, _ = await asyncio.wait({attempt}, timeout=_TLS_PROBE_AFTER)
        if not done and await self._speaks_plain_redis():
            attempt.cancel()
            with contextlib.suppress(BaseException):
                await attempt
            raise RedisConnectionError(
                f"TLS: {self._host}:{self._port} answers without TLS; rediss:// needs the "
                "server's TLS port (use redis:// for a plain one)"
            )
        connected: tuple[Any, _Protocol] = await attempt
        return connected

    async def _speaks_plain_redis(self) -> bool:
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), 1.0
            )
            writer.write(b"PING\r\n")
            reply = await asyncio.wait_for(reader.read(16), 1.0)
            return reply[:1] in (b"+", b"-")  # +PONG, or -NOAUTH / -ERR from a plain server
        except (OSError, TimeoutError):
            return False
        finally:
            if writer is not None:
                writer.close()

    def _arm_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().call_later(1.0, self._check_overdue)

    def _check_overdue(self) -> None:
        self._watchdog = None
        protocol = self._protocol
        if protocol is None:
            return
        if protocol.waiting and time.monotonic() - protocol.waiting[0][1] > self._reply_timeout:
            protocol.abort(RedisTimeoutError(f"no reply from Redis in {self._reply_timeout:g}s"))
        if protocol.transport is not None and not protocol.transport.is_closing():
            self._arm_watchdog()

    def abort(self) -> None:
        """Drop the socket at once (a cancelled blocking call leaves it mid-reply)."""
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.abort(RedisConnectionError("connection aborted"))

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(protocol.closed), 1.0)
