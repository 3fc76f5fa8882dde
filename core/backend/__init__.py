"""Storage engines behind `JobService`, chosen by URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..keys import key_prefix
from .base import Backend, BackendSettings

__all__ = ["Backend", "BackendSettings", "open_backend"]

_REDIS_SCHEMES = ("redis", "rediss", "unix", "valkey", "valkeys")


def open_backend(
    url: str, queue: str, prefix: str, settings: BackendSettings | None = None
) -> Backend:
    """`memory://[name]` for the in-process engine, `redis://…` (or rediss, unix, valkey)
    for Redis. A URL of any other shape is refused with the forms that are accepted."""
    if not isinstance(url, str) or "://" not in url:
        shown = _redacted(url) if isinstance(url, str) else url
        raise ValueError(
            "url: expected redis://host:port/db, rediss://…, unix://path or memory://, "
            f"got {shown!r}"
        )
    scheme = urlsplit(url).scheme.lower()
    key_prefix(prefix, queue)  # the same names on every engine: a memory:// app moves to Redis
    if scheme == "memory":
        from .memory import MemoryBackend

        name = url.split("://", 1)[1].strip("/") or "default"
        return MemoryBackend.shared(f"{name}/{prefix}/{queue}", settings or BackendSettings())
    if scheme in _REDIS_SCHEMES:
        from .redis import RedisBackend

        if scheme.startswith("valkey"):
            url = "redis" + url[len("valkey") :]
        parts = urlsplit(url)
        if scheme != "unix" and not parts.hostname:
            raise ValueError(f"url: no host in {_redacted(url)!r}")
        try:
            parts.port  # noqa: B018 - validates the port
        except ValueError:
            raise ValueError(f"url: bad port in {_redacted(url)!r}") from None
        _check_redis_url(url, parts.path if scheme != "unix" else "")
        return RedisBackend(url, queue=queue, prefix=prefix, settings=settings)
    raise ValueError(
        f"url: unsupported scheme {scheme!r}; use redis://, rediss://, unix:// or memory://"
    )


def _check_redis_url(url: str, path: str) -> None:
    """Refuse what would otherwise fail later, deep inside a connection: a database that is
    not a number, a query option redis-py cannot parse."""
    from redis.asyncio.connection import parse_url

    from .cluster import cluster_mode
    from .redis import redact_url
    from .tls import check_tls_options

    url, _cluster = cluster_mode(url)  # raises for a bad cluster=...
    check_tls_options(url)
    database = path.strip("/")
    if database and not database.isdigit():
        raise ValueError(f"url: the database must be a number, got {database!r}")
    try:
        parse_url(url)
    except ValueError as exc:
        raise ValueError(f"url: {exc} ({redact_url(url)})") from None


def _redacted(url: str) -> str:
    """A URL fit to quote in an error: its password replaced."""
    from .redis import redact_url

    return redact_url(url)
