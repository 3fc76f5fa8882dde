"""(workflows) What a child reads of its parents before its handler runs: their results, in
the order of its `after`, read in bounded calls (`Backend.parent_results`). A chain's job
gets its parent's result as its first argument, a group's `then` the list of the group's
results; any child finds them in `current_job().parent_results()`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..backend.base import Backend
from ..codec import loads

__all__ = ["PER_CALL", "fed_args", "read_parents"]

PER_CALL = 1000  # parents read per call (and about 2 MB of their results)


async def read_parents(backend: Backend, job_id: str) -> list[tuple[str, str, Any]]:
    """(id, status, result) of each parent of `job_id`, in order: the result is None for a
    parent that did not complete ('' status: its record is gone)."""
    out: list[tuple[str, str, Any]] = []
    cursor = 0
    while True:
        found, cursor = await backend.parent_results(job_id, cursor, PER_CALL)
        for parent in found:
            result = loads(parent.result) if parent.result else None
            out.append((parent.id, parent.status, result))
        if not cursor or not found:
            return out


Parents = list[tuple[str, str, Any]]


def fed_args(feed: Any, parents: Parents, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The handler's arguments: with feed '1' the first parent's result goes first (a chain),
    with 'n' the list of every parent's (a group's `then`), else `args` as they are."""
    if feed in (b"1", "1"):
        return (parents[0][2] if parents else None, *args)
    if feed in (b"n", "n"):
        return ([result for _, _, result in parents], *args)
    return args


def completed_results(parents: list[tuple[str, str, Any]]) -> Mapping[str, Any]:
    """`current_job().parent_results()`: the completed parents' results by id, in order."""
    return {pid: result for pid, status, result in parents if status == "completed"}
