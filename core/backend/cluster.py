"""Redis Cluster support for `RedisBackend`: where a queue's slot lives, kept current.

Every key of a queue shares the hash tag `{queue}`, so one backend (one queue) talks to one
slot, served by one master. The fast connections simply connect to that master; this module
finds it (`CLUSTER SLOTS`), reads the `MOVED` / `ASK` redirections Redis answers with when
the slot has moved (resharding, failover), and asks the cluster again after a lost
connection. On a single server none of this runs: the hot path is the same socket calls.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .fastpath import FastConnection

__all__ = ["SlotRoute", "cluster_mode", "is_cluster", "redirection", "with_node"]

_REDIRECT = re.compile(r"^(MOVED|ASK) (\d+) (\S+):(\d+)")
_MODES = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}


def cluster_mode(url: str) -> tuple[str, bool | None]:
    """The URL without jobdeck's own `cluster=yes|no` option, and that option (None: find
    out from the server). redis-py would refuse an option it does not know."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    forced: bool | None = None
    rest = []
    for name, value in query:
        if name == "cluster":
            if value.lower() not in _MODES:
                raise ValueError(f"url: cluster must be yes or no, got {value!r}")
            forced = _MODES[value.lower()]
        else:
            rest.append((name, value))
    if forced is None and len(rest) == len(query):
        return url, None
    return urlunsplit(parts._replace(query=urlencode(rest))), forced


async def is_cluster(conn: FastConnection) -> bool:
    """`cluster_enabled:1` in `INFO cluster` (one round trip, at start only)."""
    try:
        info = await conn.execute("INFO", "cluster")
    except ResponseError:  # INFO refused (an ACL without it): not a cluster we can see
        return False
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_enabled:1" in text


def with_node(url: str, host: str, port: int) -> str:
    """`url` pointed at another node: same scheme, credentials, database and options."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{address}" if userinfo else address))


def redirection(exc: BaseException) -> tuple[str, int, str, int] | None:
    """("MOVED"|"ASK", slot, host, port) for a redirection error, else None."""
    if not isinstance(exc, ResponseError):
        return None
    match = _REDIRECT.match(str(exc))
    if match is None:
        return None
    kind, slot, host, port = match.groups()
    return kind, int(slot), host, int(port)


class SlotRoute:
    """The master serving one key's slot, and every node the cluster has told us about (to
    ask again when the master is gone)."""

    def __init__(self, url: str, key: str) -> None:
        self.seed_url = url
        self.slot = key_slot(key.encode())
        parts = urlsplit(url)
        self.node: tuple[str, int] = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.known: list[tuple[str, int]] = [self.node]

    @property
    def url(self) -> str:
        return with_node(self.seed_url, *self.node)

    def moved(self, host: str, port: int) -> bool:
        """Take a MOVED answer for our slot; True if the master changed."""
        changed = (host, port) != self.node
        self.node = (host, port)
        if self.node not in self.known:
            self.known.append(self.node)
        return changed

    async def refresh(self, timeout: float = 1.0) -> bool:
        """Ask the known nodes, current master first, who serves the slot now. True if the
        master changed. A node that does not answer in `timeout` is skipped."""
        for node in [self.node, *(n for n in self.known if n != self.node)]:
            conn = FastConnection(
                with_node(self.seed_url, *node), connect_timeout=timeout, reply_timeout=timeout
            )
            try:
                reply = await conn.execute("CLUSTER", "SLOTS")
            except (RedisConnectionError, RedisTimeoutError, ResponseError, OSError):
                continue
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()
            owner = self._owner(reply)
            if owner is None:
                continue  # this node does not know yet (a failover under way)
            for entry in reply:
                for address in entry[2:]:
                    peer = (_text(address[0]) or node[0], int(address[1]))
                    if peer not in self.known:
                        self.known.append(peer)
            changed = owner != self.node
            self.node = owner
            return changed
        return False

    def _owner(self, reply: Any) -> tuple[str, int] | None:
        for entry in reply or ():
            low, high, master = int(entry[0]), int(entry[1]), entry[2]
            if low <= self.slot <= high:
                host = _text(master[0]) or self.node[0]
                return host, int(master[1])
        return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
