"""Unique jobs: while a job with a given key is pending, scheduled or running (and, with a
window, until the window ends), submitting another job with that key queues nothing and
returns the first job's id. The check and the claim are one step of the submit script."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_unique"]

MAX_KEY_LENGTH = 200


def check_unique(unique_key: Any, unique_for: Any) -> tuple[str, int]:
    """The unique key ('' for none) and its window in milliseconds (0 for none), checked."""
    if unique_key is None:
        if unique_for is not None:
            raise ValueError("unique_for: only with a unique_key")
        return "", 0
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
    return unique_key, window
