"""Flow control: named limits on how many jobs run at once and how often they start, and the
names a job carries to be under one (`limit=`) or to take turns with other tenants (`group=`).

A limit is stored per queue under a *key* (`"stripe"`), a *template* (`"user:*"`: a prefix
ending in `:` and then `*`) or `"*"`. A job submitted with `limit="user:42"` is under the
most specific one that matches: the key itself, else the longest template whose prefix it
starts with (`"user:42:x"` tries `"user:42:*"`, then `"user:*"`), else `"*"`. A template
applies to each key it matches separately (`set_limit("user:*", concurrency=1)`: one job at
once per user). Matching looks up a handful of names per job, never the list of limits.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .backend.records import MAX_LIMITS

if TYPE_CHECKING:
    from .backend.base import Backend

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_FLOW_NAME",
    "MAX_PER",
    "MAX_RATE",
    "Limit",
    "check_flow_name",
    "check_limit_key",
    "decode_limit",
    "encode_limit",
    "list_limits",
    "remove_limit",
    "set_limit",
    "with_flow",
]

MAX_FLOW_NAME = 128
MAX_CONCURRENCY = 1_000_000
#: Starts remembered per key to enforce a rate (~10 bytes each in Redis while in the window).
MAX_RATE = 100_000
MAX_PER = 86_400.0  # a day
MIN_PER = 0.001  # Redis keeps whole milliseconds

_CHARS = "letters, digits, '_', '.', ':', '-', '@' or '+'"
_NAME = re.compile(r"[A-Za-z0-9_.:@+-]{1,128}")


def check_flow_name(field: str, value: Any) -> str:
    """A job's `limit` key or `group` name: 1-128 of `_CHARS`, no '*' (a job names a key, a
    limit may be a template)."""
    if not isinstance(value, str):
        raise TypeError(f"{field}: expected str, got {type(value).__name__}")
    if not _NAME.fullmatch(value):
        raise ValueError(f"{field}: 1-{MAX_FLOW_NAME} characters of {_CHARS}, got {value!r}")
    return value


def with_flow(
    record: dict[str, str | bytes], limit: Any, group: Any
) -> dict[str, str | bytes]:
    """`record` (a new job's, changed in place) carrying the job's limit key and group,
    stored only when given."""
    if limit is not None:
        record["limit"] = check_flow_name("limit", limit)
    if group is not None:
        record["group"] = check_flow_name("group", group)
    return record


def check_limit_key(key: Any) -> str:
    """A limit's key: a key as a job names it, a template ('user:*') or '*'."""
    if isinstance(key, str) and key.endswith("*"):
        prefix = key[:-1]
        if prefix and not (prefix.endswith(":") and _NAME.fullmatch(prefix)):
            raise ValueError(
                f"key: a template is a prefix ending in ':' then '*' (like 'user:*'), or '*' "
                f"alone; {key!r} would match no key a job can name"
            )
        return key
    return check_flow_name("key", key)


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit and what is under it now. `concurrency`: jobs running at once under each key
    it covers (0: none start, the key is paused; None: no bound); `rate` starts per `per`
    seconds under each key, in any window of that length (None: no bound)."""

    key: str
    concurrency: int | None = None
    rate: int | None = None
    per: float = 1.0
    in_use: int = 0  # jobs running under it now (under all its keys, for a template)
    throttled: int = 0  # jobs waiting for it to have room

    @property
    def is_template(self) -> bool:
        return self.key.endswith("*")

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "concurrency": self.concurrency,
            "rate": self.rate,
            "per": self.per,
            "in_use": self.in_use,
            "throttled": self.throttled,
            "template": self.is_template,
        }


def encode_limit(concurrency: Any, rate: Any, per: Any) -> tuple[str, dict[str, Any]]:
    """Check a limit's figures, naming the field at fault; return its stored form
    ('concurrency rate per_ms', -1 and 0 for none) and the figures as an event carries them."""
    if concurrency is None and rate is None:
        raise ValueError("concurrency: give concurrency, rate or both (0 pauses the key)")
    if concurrency is not None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise TypeError(f"concurrency: expected an int, got {type(concurrency).__name__}")
        if not 0 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(
                f"concurrency: 0-{MAX_CONCURRENCY} jobs at once (0 pauses the key), "
                f"got {concurrency}"
            )
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, int):
            raise TypeError(f"rate: expected an int (starts per `per` seconds), got {rate!r}")
        if not 1 <= rate <= MAX_RATE:
            raise ValueError(
                f"rate: 1-{MAX_RATE} starts per `per` seconds (concurrency=0 pauses the key), "
                f"got {rate}"
            )
    if isinstance(per, bool) or not isinstance(per, (int, float)):
        raise TypeError(f"per: expected a number of seconds, got {type(per).__name__}")
    if not math.isfinite(per) or not MIN_PER <= per <= MAX_PER:
        raise ValueError(f"per: {MIN_PER:g}-{MAX_PER:g} seconds, got {per:g}")
    if rate is None and per != 1.0:
        raise ValueError("per: only with rate (starts per `per` seconds)")
    per_ms = max(1, round(per * 1000))
    stored = f"{-1 if concurrency is None else concurrency} {rate or 0} {per_ms}"
    figures = {"concurrency": concurrency, "rate": rate, "per": per_ms / 1000}
    return stored, figures


def decode_limit(key: str, stored: str, in_use: int = 0, throttled: int = 0) -> Limit | None:
    """A stored limit, or None for a value jobdeck did not write (the claim ignores it too)."""
    parts = stored.split(" ")
    try:
        concurrency, rate, per_ms = (int(p) for p in parts)
    except ValueError:
        return None
    return Limit(
        key=key,
        concurrency=None if concurrency < 0 else concurrency,
        rate=rate or None,
        per=per_ms / 1000,
        in_use=in_use,
        throttled=throttled,
    )


async def set_limit(backend: Backend, key: Any, concurrency: Any, rate: Any, per: Any) -> Limit:
    """`JobService.set_limit`: checks everything before anything is written."""
    key = check_limit_key(key)
    stored, figures = encode_limit(concurrency, rate, per)
    if await backend.set_limit(key, stored, {"key": key, **figures, "removed": False}) < 0:
        raise ValueError(
            f"key: a queue has at most {MAX_LIMITS} limits; remove one first "
            "(a template, 'user:*', covers every key it matches)"
        )
    limit = decode_limit(key, stored)
    assert limit is not None
    return limit


async def remove_limit(backend: Backend, key: Any) -> bool:
    key = check_limit_key(key)
    return await backend.set_limit(key, "", {"key": key, "removed": True}) > 0


async def list_limits(backend: Backend) -> list[Limit]:
    raw = await backend.limits()
    found = (
        decode_limit(key, stored, raw.in_use.get(key, 0), raw.throttled.get(key, 0))
        for key, stored in raw.limits.items()
    )
    return sorted((limit for limit in found if limit is not None), key=lambda lim: lim.key)
