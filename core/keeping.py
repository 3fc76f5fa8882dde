"""What a job carries besides its call: `meta`, a small JSON object of the caller's (a
tenant, a trace id, who asked) stored and shown with the job and found by search; and
`result_ttl`, how long its record and result are kept once it completed, in place of the
queue's setting. Both are stored only when given (`meta`, `rttl` in the record), so a job
that uses neither costs nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .codec import JSONError, dumps

__all__ = ["MAX_META_BYTES", "MAX_RESULT_TTL", "check_meta", "check_result_ttl", "with_keeping"]

#: The largest `meta`, as encoded JSON: enough for ids and labels, small enough that every
#: list, search and detail view may carry it whole.
MAX_META_BYTES = 4096
#: The longest `result_ttl`: ten years, as for delays (past it, a unit mistake).
MAX_RESULT_TTL = 10 * 365 * 86400.0


def check_meta(meta: Any) -> bytes | None:
    """`meta` encoded, or None for an empty one (nothing stored). A JSON object of at most
    MAX_META_BYTES with string keys; every error names the field."""
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta: expected a JSON object (a dict), got {type(meta).__name__}")
    if not meta:
        return None
    if any(not isinstance(key, str) for key in meta):
        raise TypeError("meta: keys must be strings")
    try:
        encoded = dumps(meta if type(meta) is dict else dict(meta))
    except JSONError as exc:
        raise TypeError(f"meta: not JSON-serializable ({exc})") from None
    if len(encoded) > MAX_META_BYTES:
        raise ValueError(f"meta: {len(encoded)} bytes of JSON, at most {MAX_META_BYTES}")
    return encoded


def check_result_ttl(ttl: Any) -> int:
    """`result_ttl` in seconds (a number > 0, at most ten years) as whole milliseconds, at
    least one: how the backends keep it."""
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f"result_ttl: expected a number of seconds, got {type(ttl).__name__}")
    if not math.isfinite(ttl) or ttl <= 0:
        raise ValueError(f"result_ttl: must be a positive number of seconds, got {ttl}")
    if ttl > MAX_RESULT_TTL:
        raise ValueError(
            f"result_ttl: at most {MAX_RESULT_TTL:.0f} seconds (10 years), got {ttl:g}"
        )
    return max(1, round(ttl * 1000))


def with_keeping(
    record: dict[str, str | bytes], meta: Any, result_ttl: Any
) -> dict[str, str | bytes]:
    """`record` (a new job's, changed in place) carrying its meta and result ttl, each
    checked and stored only when given."""
    if meta is not None:
        encoded = check_meta(meta)
        if encoded is not None:
            record["meta"] = encoded
    if result_ttl is not None:
        record["rttl"] = str(check_result_ttl(result_ttl))
    return record
