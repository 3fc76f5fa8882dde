"""A blocking Redis connection for a calling thread: one socket, hiredis packing and parsing.

`FastConnection` (fastpath.py) lives on an event loop; a thread that is not the loop's must hop
to it and back for every call (a wake-up of the loop thread, a future, a wake-up of the caller:
about a third of a synchronous submit's time). This one is used by the calling thread itself,
so a call is one `sendall` and one `recv`. It speaks the same URL options (`connect_options`:
TLS, user and password, database, unix sockets) and raises the same redis-py exceptions. It is
not thread-safe: its owner serializes calls (see `redis/sync_submit.py`).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
from typing import Any

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .fastpath import reply_error
from .tls import tls_failure
from .urls import connect_options

__all__ = ["BlockingConnection"]

_READ = 65536


class BlockingConnection:
    """One lazily connected socket; `execute` and `pipeline` raise redis-py's exceptions.

    A failure of the socket itself (refused, reset, closed, no reply within `reply_timeout`)
    drops it, so the next call connects afresh, and raises `RedisConnectionError` or
    `RedisTimeoutError`; an error reply from Redis leaves the connection in use."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 5.0,
        reply_timeout: float | None = 15.0,
        client_name: str | None = None,
    ) -> None:
        options = connect_options(url)
        self._options = options
        self._connect_timeout = options.connect_timeout or connect_timeout
        self._reply_timeout = reply_timeout
        self._client_name = client_name
        self._sock: socket.socket | None = None
        self._reader = hiredis.Reader()

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def execute(self, *args: Any) -> Any:
        """One command, one reply; an error reply is raised as redis-py's exception."""
        packed = hiredis.pack_command(args)  # an argument that cannot be encoded sends nothing
        sock = self._sock or self._connect()
        try:
            sock.sendall(packed)
            reply = self._read(sock)
        except BaseException as exc:
            raise self._failed(exc) from exc
        if isinstance(reply, hiredis.ReplyError):
            raise reply_error(reply)
        return reply

    def pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Several commands in one write; their replies in order, error replies as exception
        objects in the list (not raised), as every reply must be read to stay in step."""
        packed = b"".join([hiredis.pack_command(command) for command in commands])
        sock = self._sock or self._connect()
        try:
            sock.sendall(packed)
            replies = [self._read(sock) for _ in commands]
        except BaseException as exc:
            raise self._failed(exc) from exc
        return [
            reply_error(reply) if isinstance(reply, hiredis.ReplyError) else reply
            for reply in replies
        ]

    def _read(self, sock: socket.socket) -> Any:
        reader = self._reader
        while (reply := reader.gets()) is False:
            data = sock.recv(_READ)
            if not data:
                raise RedisConnectionError("connection to Redis lost: closed by server")
            reader.feed(data)
        return reply

    def _failed(self, exc: BaseException) -> BaseException:
        """Drop the socket (it may owe a reply) and say why in redis-py's terms."""
        self.close()
        if isinstance(exc, (TimeoutError, BlockingIOError)):  # socket.timeout, SO_RCVTIMEO
            return RedisTimeoutError(f"no reply from Redis in {self._reply_timeout:g}s")
        if isinstance(exc, ssl.SSLError):
            return RedisConnectionError(f"connection to Redis lost: {tls_failure(exc)}")
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc) or type(exc).__name__
            return RedisConnectionError(f"connection to Redis lost: {reason}")
        if isinstance(exc, hiredis.ProtocolError):
            return RedisConnectionError(f"protocol error from Redis: {exc}")
        return exc  # RedisConnectionError from _read, KeyboardInterrupt, ...

    def _connect(self) -> socket.socket:
        o = self._options
        try:
            if o.path is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self._connect_timeout)
                sock.connect(o.path)
            else:
                sock = socket.create_connection((o.host, o.port), self._connect_timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                if o.tls is not None:
                    sock = o.tls.wrap_socket(sock, server_hostname=o.host)
        except OSError as exc:  # refused, unknown host, TLS, a timeout (TimeoutError) ...
            raise RedisConnectionError(o.failure(exc, self._connect_timeout)) from exc
        _bound_replies(sock, self._reply_timeout)
        self._sock, self._reader = sock, hiredis.Reader()
        handshake = o.handshake(self._client_name)
        if handshake:
            try:
                replies = self.pipeline(*handshake)
            except BaseException:
                self.close()
                raise
            for reply in replies:
                if isinstance(reply, Exception):
                    self.close()
                    raise reply
        return sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


def _bound_replies(sock: socket.socket, timeout: float | None) -> None:
    """Bound each send and receive by `timeout`. A plain socket stays blocking and the kernel
    keeps the bound (SO_RCVTIMEO, SO_SNDTIMEO: a call past it fails with EAGAIN), where
    Python's own timeout would add a poll() to every call; a TLS socket takes Python's."""
    if timeout is None or isinstance(sock, ssl.SSLSocket):
        sock.settimeout(timeout)
        return
    seconds = int(timeout)
    bound = struct.pack("ll", seconds, int((timeout - seconds) * 1e6))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, bound)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, bound)
        sock.settimeout(None)
    except OSError:  # a platform without them, or another timeval layout
        sock.settimeout(timeout)
