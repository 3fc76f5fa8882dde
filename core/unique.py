"""Unique jobs: while a job with a given key is pending, scheduled or running (and, with a
window, until the window ends), submitting another job with that key queues nothing and
returns the first job's id. The check and the claim are one step of the submit script."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .backend.base import UNIQUE_KEY, UNIQUE_WINDOW

__all__ = ["with_unique"]

MAX_KEY_LENGTH = 200


def with_unique(record: Mapping[str, Any], unique_key: Any, unique_for: Any) -> Mapping[str, Any]:
    """`record` carrying the unique key and window for the backend; validates both."""
    if unique_key is None:
        if unique_for is not None:
            raise ValueError("unique_for: only with a unique_key")
        return record
    if not isinstance(unique_key, str) or not unique_key or len(unique_key) > MAX_KEY_LENGTH:
        raise ValueError(f"unique_key: expected 1-{MAX_KEY_LENGTH} characters, got {unique_key!r}")
    window = 0
    if unique_for is not None:
        if (
            isinstance(unique_for, bool)
            or not isinstance(unique_for, (int, float))
            or not math.isfinite(unique_for)
            or unique_for <= 0
        ):
            raise ValueError(f"unique_for: expected seconds > 0, got {unique_for!r}")
        window = max(1, int(unique_for * 1000))
    return {**record, UNIQUE_KEY: unique_key, UNIQUE_WINDOW: str(window)}
