"""Storage engines behind `JobService`, chosen by URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..keys import key_prefix
from .base import Backend, BackendSettings
from .urls import connect_options, redact_url

__all__ = ["Backend", "BackendSettings", "open_backend"]

_REDIS_SCHEMES = ("redis", "rediss", "unix", "valkey", "valkeys")


def open_backend(
    url: str, queue: str, prefix: str, settings: BackendSettings | None = None
) -> Backend:
    """`memory://[name]` for the in-process engine, `redis://…` (or rediss, unix, valkey)
    for Redis. A URL of any other shape is refused with the forms that are accepted."""
    if not isinstance(url, str) or "://" not in url:
        shown = redact_url(url) if isinstance(url, str) else url
        raise ValueError(
            "url: expected redis://host:port/db, rediss://…, unix://path or memory://, "
            f"got {shown!r}"
        )
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as exc:  # e.g. an unclosed [ in the host
        raise ValueError(f"url: {exc} in {redact_url(url)!r}") from None
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
            raise ValueError(f"url: no host in {redact_url(url)!r}")
        try:
            parts.port  # noqa: B018 - validates the port
        except ValueError:
            raise ValueError(f"url: bad port in {redact_url(url)!r}") from None
        _check_redis_url(url, parts.path if scheme != "unix" else "")
        return RedisBackend(url, queue=queue, prefix=prefix, settings=settings)
    raise ValueError(
        f"url: unsupported scheme {scheme!r}; use redis://, rediss://, unix:// or memory://"
    )


def _check_redis_url(url: str, path: str) -> None:
    """Refuse what would otherwise fail later, deep inside a connection: a database that is
    not a number, a query option redis-py cannot parse."""
    from .cluster import cluster_mode
    from .tls import check_tls_options

    url, _cluster = cluster_mode(url)  # raises for a bad cluster=...
    check_tls_options(url)
    database = path.strip("/")
    if database and not database.isdigit():
        raise ValueError(f"url: the database must be a number, got {database!r}")
    connect_options(url)  # what redis-py would refuse; its errors never quote a secret
