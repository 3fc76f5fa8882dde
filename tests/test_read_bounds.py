"""Reads are bounded in bytes as well as records, on both engines (issue 28, item 1): a search
step stops before it would search more than SEARCH_BYTES of text and never searches a value
over VALUE_BYTES; a page (list, search matches, a capped get) copies at most PAGE_BYTES of
values, naming the rest with their sizes. Search folds case the same way on both engines,
beyond ASCII too (item 12)."""

from __future__ import annotations

import pytest

from jobdeck.core.backend.base import Backend
from jobdeck.core.search import search_step

from .test_backend_contract import backend, job, make_backend, submit

__all__ = ["backend", "make_backend"]  # fixtures, used by name

KB100 = "x" * 100_000
# The engines' bounds (search.lua, page_fields in _lib.lua; core/backend/memory mirrors them)
SEARCH_BYTES, VALUE_BYTES, PAGE_BYTES, PAGE_FLOOR = 524_288, 131_072, 2_097_152, 256


def test_the_memory_engine_has_the_scripts_bounds() -> None:
    from jobdeck.core.backend.memory import jobs, search
    from jobdeck.core.backend.redis.scripts import script_source

    assert (search.SEARCH_BYTES, search.VALUE_BYTES) == (SEARCH_BYTES, VALUE_BYTES)
    assert (jobs.PAGE_BYTES, jobs.PAGE_FLOOR) == (PAGE_BYTES, PAGE_FLOOR)
    assert f"SEARCH_BYTES, VALUE_BYTES, SMALL_RECORD = {SEARCH_BYTES}, {VALUE_BYTES}," in (
        script_source("search")
    )
    assert f"PAGE_BYTES, PAGE_FLOOR = {PAGE_BYTES}, {PAGE_FLOOR}" in script_source("list")


async def test_a_search_step_stops_at_its_byte_bound_and_the_next_goes_on(
    backend: Backend,
) -> None:
    ids = await submit(backend, *(job("big", args=[KB100, f"needle{n}"]) for n in range(14)))
    rows, next_offset, ended = await backend.search("pending", "needle", 0, 1000, 1000, False)
    assert not ended and 1 <= next_offset <= SEARCH_BYTES // 100_000 < 14
    assert [job_id for job_id, _ in rows] == ids[:next_offset]
    found, cursor, read = await search_step(backend, "needle", ["pending"], None, 1000, 1000)
    assert cursor is None and read == 14  # step after step, every record was searched
    assert [job_id for job_id, _ in found] == ids


async def test_a_value_over_the_value_bound_is_not_searched(backend: Backend) -> None:
    huge = "y" * (VALUE_BYTES + 1)
    big, small = await submit(backend, job("a", args=[huge + "needle"]), job("b", args=["needle"]))
    found, cursor, _ = await search_step(backend, "needle", ["pending"], None, 100, 100)
    assert cursor is None and [job_id for job_id, _ in found] == [small]
    found, _, _ = await search_step(backend, big[:8], ["pending"], None, 100, 100)
    assert [job_id for job_id, _ in found] == [big]  # found by its id all the same


async def test_a_page_copies_at_most_its_byte_bound(backend: Backend) -> None:
    n = PAGE_BYTES // 200_000 + 5
    await submit(backend, *(job("big", args=["z" * 200_000]) for _ in range(n)))
    rows = await backend.list_jobs("pending", n, 0, False)
    assert len(rows) == n
    whole = [fields for _, fields in rows if "__omitted:args" not in fields]
    capped = [fields for _, fields in rows if "__omitted:args" in fields]
    assert 0 < len(whole) <= PAGE_BYTES // 200_000 and capped
    for fields in capped:  # the small values still come: the row shows
        assert int(fields["__omitted:args"]) == len('["' + "z" * 200_000 + '"]')
        assert fields.get("name") in (b"big", "big")
    assert PAGE_FLOOR < 200_000


@pytest.mark.parametrize(
    ("stored", "needle", "found"),
    [
        ("Müller GmbH", "MÜLLER", True),
        ("MÜLLER GMBH", "müller", True),
        ("ΣΟΦΊΑ", "σοφία", True),
        ("Москва", "МОСКВА", True),  # noqa: RUF001 (Cyrillic on purpose)
        ("ÉCOLE", "école", True),
        ("Straße", "STRASSE", False),  # no one-to-many folding, on either engine
        ("\u212a elvin", "k elvin", False),  # the Kelvin sign is three bytes: as written
        ("日本語のテキスト", "テキスト", True),
    ],
)
async def test_case_is_folded_the_same_on_both_engines(
    backend: Backend, stored: str, needle: str, found: bool
) -> None:
    [job_id] = await submit(backend, job("text", args=[stored]))
    rows, _, _ = await search_step(backend, needle, ["pending"], None, 10, 10)
    assert ([job_id] if found else []) == [j for j, _ in rows]


async def test_every_folded_letter_is_found_whatever_its_case(backend: Backend) -> None:
    """search.lua's table of two-byte letters is written from FOLD: every upper-case letter
    stored is found by its lower case."""
    from jobdeck.core.backend.fold import FOLD, fold

    uppers = "".join(FOLD)
    [job_id] = await submit(backend, job("letters", kwargs={"text": uppers}))
    for start in range(0, len(uppers), 100):
        needle = fold(uppers[start : start + 100])
        rows, _, _ = await search_step(backend, needle, ["pending"], None, 10, 10)
        assert [j for j, _ in rows] == [job_id], uppers[start : start + 100]


# -- the hot paths: a claim hands over, a finish and a submit store, bounded bytes ----------
CLAIM_BYTES = 524_288


async def test_a_claim_stops_at_its_byte_bound_and_keeps_the_rest_in_line(
    backend: Backend,
) -> None:
    ids = await submit(backend, *(job("big", args=[KB100]) for _ in range(30)))
    first = (await backend.claim("w1", 30, 60.0)).jobs
    assert 1 <= len(first) <= CLAIM_BYTES // 100_000 + 1 < 30
    assert [c.id for c in first] == ids[: len(first)]
    second = (await backend.claim("w1", 30, 60.0)).jobs
    assert [c.id for c in second] == ids[len(first) : len(first) + len(second)]
    await backend.wait_for_work(0.01)  # a wake-up was left: the worker claims again at once


async def test_a_finish_of_many_large_results_is_stored_in_bounded_calls(
    redis_url: str, prefix: str
) -> None:
    from jobdeck.core.backend.base import Finish, Outcome
    from jobdeck.core.backend.redis import RedisBackend
    from jobdeck.core.backend.redis.scripts import script_source

    backend = RedisBackend(redis_url, queue="q", prefix=prefix)
    await backend.initialize()
    try:
        await submit(backend, *(job("x") for _ in range(25)))
        claimed = (await backend.claim("w1", 25, 60.0)).jobs
        result = b'"' + b"r" * 100_000 + b'"'
        done = [Finish(c.id, c.token, Outcome.COMPLETED, result) for c in claimed]
        client = backend.client
        await client.script_load(script_source("finish"))  # no NOSCRIPT call in the log
        await client.config_set("slowlog-max-len", 100_000)
        await client.config_set("slowlog-log-slower-than", 0)
        await client.slowlog_reset()
        assert await backend.finish("w1", done) == [True] * 25
        log = await client.slowlog_get(100_000)
        await client.config_set("slowlog-log-slower-than", 10000)
        await client.config_set("slowlog-max-len", 128)
        calls = [e for e in log if e["command"].startswith(b"EVALSHA")]
        assert len(calls) == 5  # 5 results of 100 KB a call: 512 KB per call at most
    finally:
        await backend.close()


def test_a_bulk_submit_goes_in_chunks_of_bounded_bytes() -> None:
    from jobdeck.core.submission import chunks, prepare

    small = [prepare("s", [n]) for n in range(2500)]
    assert [len(c) for c in chunks(small)] == [1000, 1000, 500]
    big = [prepare("b", [KB100]) for _ in range(23)]
    assert [len(c) for c in chunks(big)] == [5, 5, 5, 5, 3]  # 512 KB a call
    assert [len(c) for c in chunks([prepare("huge", ["h" * 3_000_000])])] == [1]
