"""Redis URLs: what a connection needs from one, and how to show one without its secrets.

Two clients read the same URL: redis-py (reads, scans, the cluster client) and the fast
hiredis connection of the hot path (`fastpath.FastConnection`). Both must honour the same
options or the fast path quietly connects differently (no password from `?password=`, no
private CA from `?ssl_ca_certs=`); so the fast path takes its options from redis-py's own
parser here. And a URL is shown in error messages, logs and headers: `redact_url` hides every
credential form in it, even in a URL too broken to parse.
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["ConnectOptions", "connect_options", "redact", "redact_url"]

_HIDDEN = "***"
# Query options whose value is a secret.
_SECRET_OPTION = re.compile(
    r"(?P<name>(?:^|[?&;])[^=&;#]*(?:password|passwd|pwd|secret|token|credential)[^=&;#]*=)"
    r"(?P<value>[^&;#\s]*)",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """`url` with every credential replaced by `***`: the password of `user:password@`
    (a lone `secret@`, which redis-py may send as a password or a user name, too) and the value
    of any `password`-like query option. Never raises, whatever the input."""
    text = str(url)
    span = _userinfo_span(text)
    if span is not None:
        start, end = span
        user, sep, _password = text[start:end].partition(":")
        shown = f"{user}:{_HIDDEN}" if sep and user else _HIDDEN
        text = text[:start] + shown + text[end:]
    return _SECRET_OPTION.sub(lambda m: m.group("name") + _HIDDEN, text)


def _userinfo_span(text: str) -> tuple[int, int] | None:
    """Where `userinfo` is in `[scheme://]userinfo@host...`: up to the last `@` before the
    query (a password may hold an unencoded `/` or `@`), or None."""
    start = text.find("://")
    start = 0 if start < 0 else start + 3
    stop = len(text)
    for mark in "?#":
        found = text.find(mark, start)
        if found >= 0:
            stop = min(stop, found)
    at = text.rfind("@", start, stop)
    return None if at < 0 else (start, at)


def redact(text: str, url: str) -> str:
    """`text` (an error message, say) without the secrets of `url` in any spelling: the URL
    itself redacted, and each secret value removed wherever else it appears."""
    text = str(text).replace(url, redact_url(url))
    for secret in _secrets(url):
        text = text.replace(secret, _HIDDEN)
    return text


def _secrets(url: str) -> list[str]:
    from urllib.parse import unquote

    found: list[str] = []
    span = _userinfo_span(url)
    if span is not None:
        user, sep, password = url[span[0] : span[1]].partition(":")
        found.append(password if sep else user)
    found += [m.group("value") for m in _SECRET_OPTION.finditer(url)]
    spellings = {s for value in found if value for s in (value, unquote(value))}
    # Longest first, so a secret that contains another is replaced whole.
    return sorted((s for s in spellings if len(s) >= 3), key=len, reverse=True)


# -- what the fast connection needs ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """Where and how to connect, as redis-py would for the same URL."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None  # a unix socket
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None
    connect_timeout: float | None = None

    def handshake(self, client_name: str | None) -> list[tuple[Any, ...]]:
        """The commands a new connection sends before any other: AUTH, SELECT, its name."""
        commands: list[tuple[Any, ...]] = []
        if self.password is not None:
            auth = ("AUTH", self.password)
            commands.append(("AUTH", self.username, self.password) if self.username else auth)
        if self.db:
            commands.append(("SELECT", self.db))
        if client_name:
            commands.append(("CLIENT", "SETNAME", client_name))
        return commands

    def failure(self, exc: OSError, connect_timeout: float) -> str:
        """Why connecting failed, in one line (`exc` as connecting raised it, a timeout
        included), saying what to check."""
        from .tls import tls_failure

        if isinstance(exc, ssl.SSLError):
            return tls_failure(exc)
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, TimeoutError):
            hint = " (a TLS handshake: is this the server's TLS port?)" if self.tls else ""
            return f"no answer within {connect_timeout:g}s{hint}"
        if isinstance(exc, socket.gaierror):
            return f"unknown host {self.host!r}"
        return exc.strerror or str(exc) or type(exc).__name__


def connect_options(url: str) -> ConnectOptions:
    """Parse `url` with redis-py's own parser, so the fast connection honours every option
    redis-py does: credentials in the URL or in `?username=` / `?password=`, the database,
    `socket_connect_timeout`; for `rediss://` the TLS context comes from `tls.tls_context`
    (`ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`, `ssl_cert_reqs`, ...). Errors never quote
    a secret."""
    from redis.asyncio.connection import parse_url

    from .tls import tls_context

    try:
        options = cast(dict[str, Any], parse_url(url))
    except ValueError as exc:
        raise ValueError(f"url: {redact(str(exc), url)} ({redact_url(url)})") from None
    try:
        tls = tls_context(url)
    except (OSError, ValueError) as exc:  # a certificate or key file that cannot be read
        reason = redact(str(exc) or type(exc).__name__, url)
        raise ValueError(f"url: bad TLS options: {reason} ({redact_url(url)})") from None
    timeout = options.get("socket_connect_timeout")
    return ConnectOptions(
        host=options.get("host") or "127.0.0.1",
        port=int(options.get("port") or 6379),
        path=options.get("path"),
        db=int(options.get("db") or 0),
        username=options.get("username") or None,
        password=options.get("password"),
        tls=tls,
        connect_timeout=float(timeout) if timeout else None,
    )
