"""Running the app under uvicorn for `jobdeck serve`: the listening socket, a deadline for a
request's headers, and the access log.

The socket is bound here, before uvicorn starts, so a busy port or an address that is not
this machine's is one clear sentence, not uvicorn's traceback. uvicorn bounds how long an
idle keep-alive connection stays open, but not how long a client may take to send its
request line and headers: a client that trickles them a byte at a time would hold its
connection forever. `HeaderDeadline` closes a connection whose request headers are not
complete within `header_timeout` seconds of its first byte (or of the connection, for the
first request); the gate (`gate.py`) bounds the body the same way.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HeaderDeadline", "ListenError", "bind", "uvicorn_config"]

HEADER_TIMEOUT = 10.0
MAX_CONNECTIONS = 1024
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 36\r\n\r\nthe request headers came too slowly\n"
)


class ListenError(Exception):
    """The address cannot be listened on; the message says why, in a sentence."""


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on `host:port` (port 0: any free one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"--host {host}: no such address ({exc.strerror})") from None
    # IPv4 first: "localhost" resolves to ::1 first on some machines, and clients try 127.0.0.1
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"port {port} on {host} is in use (another jobdeck serve?): stop it, or "
                "choose another with --port"
            ) from None
        if exc.errno == errno.EACCES:
            raise ListenError(
                f"port {port} on {host} needs privileges this user lacks: use a port above 1023"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ListenError(f"--host {host}: not an address of this machine") from None
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


class HeaderDeadline(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, with a deadline for each request's headers."""

    header_timeout = HEADER_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


def uvicorn_config(
    app: Any,
    *,
    access_log: bool,
    header_timeout: float = HEADER_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> Any:
    """uvicorn's configuration for `app` (the socket is passed to `Server.serve`). Past
    `max_connections` open connections (or requests in progress), a request is answered
    503 at once: the process's connections have a bound."""
    import uvicorn

    protocol = type("JobdeckHTTP", (HeaderDeadline,), {"header_timeout": header_timeout})
    config = uvicorn.Config(
        app,
        http=protocol,
        log_level="warning",
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=5,
        limit_concurrency=max_connections,
    )
    if access_log:
        # uvicorn sets its loggers to log_level: warning would silence every access line.
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    return config
