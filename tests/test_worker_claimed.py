"""The worker's decoder of claimed records agrees with the general one on every record, and
takes its own short path for the plain ones (the reason it exists)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from jobdeck.core import JobService
from jobdeck.core.codec import MalformedRecord, decode_record
from jobdeck.core.worker import claimed
from jobdeck.core.worker.claimed import decode_claimed

_VALUES: dict[str, list[Any]] = {
    "name": [b"noop", b"caf\xc3\xa9", b"", None, "noop", b"\xff", b"<malformed>"],
    "args": [None, b"[]", b'[1,"a",null]', b"", b"{}", b"nope", b'"x"', b"[NaN]", "[]"],
    "kwargs": [None, b"{}", b'{"a":[1]}', b"[]", b"bad", b""],
    "max_retries": [None, b"0", b"3", b"-1", b"x", b"2.0", b"", b" 4"],
    "timeout": [None, b"1.5", b"30", b"", b"x", b"nan", b"inf", b"0", 2.5],
    "priority": [None, b"0", b"1", b"3", b"7", b"x", b"2.0", b"02", b"-1"],
    "attempts": [None, b"1", b"12", b"x", b"", b"1e3"],
    "status": [b"running", b"pending", None, b"weird"],
    "error": [None, b'{"type":"E","message":"m"}', b"bad"],
    "stalls": [None, b"0", b"2", b"-3"],
    "created_at": [None, b"1764614400.123456", b"0", b"", b"x", b"nan"],
    "scheduled_for": [None, b"1764614401.5", b"", b"x"],
    "meta": [None, b'{"tenant":"acme"}', b"{}", b"[]", b"bad", b"", "{}"],
}
_EXTRA: list[dict[str, Any]] = [{}, {"__omitted:args": b"10"}, {"other": b"x"}]


def _outcome(decode: Any, fields: dict[str, Any]) -> str:
    try:
        return repr(decode("job-1", dict(fields)))  # repr: a NaN timeout equals itself
    except MalformedRecord as exc:
        return f"MalformedRecord({exc})"


def _plain() -> dict[str, Any]:
    return {
        "name": b"noop",
        "args": None,
        "kwargs": None,
        "max_retries": None,
        "timeout": None,
        "priority": None,
        "attempts": b"1",
        "status": b"running",
        "error": None,
        "stalls": None,
    }


@pytest.mark.parametrize("seed", range(4))
def test_same_job_or_same_error_as_the_general_decoder(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(1500):
        fields = {key: rng.choice(values) for key, values in _VALUES.items()}
        fields = {k: v for k, v in fields.items() if v is not None or rng.random() < 0.5}
        fields.update(rng.choice(_EXTRA))
        assert _outcome(decode_claimed, fields) == _outcome(decode_record, fields), fields


def test_every_single_field_variant_agrees() -> None:
    for key, values in _VALUES.items():
        for value in values:
            fields = {**_plain(), key: value}
            assert _outcome(decode_claimed, fields) == _outcome(decode_record, fields), fields


def test_plain_records_take_the_short_path() -> None:
    full = {
        **_plain(),
        "args": b"[1,2]",
        "kwargs": b'{"k":"v"}',
        "max_retries": b"3",
        "timeout": b"2.5",
        "priority": b"3",
        "stalls": b"1",
        "meta": b'{"trace":"t-1"}',
    }
    for fields in (_plain(), full):
        job = claimed._plain("job-1", fields)
        assert job is not None
        assert job == decode_record("job-1", dict(fields))
    assert claimed._plain("job-1", {**_plain(), "error": b'{"type":"E"}'}) is None


def test_the_worker_decodes_plain_claims_without_the_general_decoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def general(job_id: str, fields: dict[str, Any]) -> Any:
        raise AssertionError("the general decoder was called for a plain claim")

    monkeypatch.setattr(claimed, "decode_record", general)
    assert decode_claimed("job-1", _plain()).attempts == 1


async def test_the_redis_claim_reply_takes_the_short_path(redis_url: str, prefix: str) -> None:
    """The claim script's reply shape belongs to the backend: if it changes, this says so
    (the worker would still be right, through the general decoder, only slower)."""
    async with JobService(redis_url, queue="claimed", prefix=prefix) as service:
        await service.submit_job("plain")
        await service.submit_job(
            "full", (1, "a"), {"k": [2]}, priority="high", max_retries=3, timeout=2.5,
            meta={"trace": "t-1"},
        )  # fmt: skip
        batch = await service.backend.claim("w-1", 10, 30.0)
        assert len(batch.jobs) == 2
        for job in batch.jobs:
            fast = claimed._plain(job.id, job.fields)
            assert fast is not None, dict(job.fields)
            assert fast == decode_record(job.id, dict(job.fields))
        assert {j.name for j in (claimed._plain(c.id, c.fields) for c in batch.jobs) if j} == {
            "plain",
            "full",
        }
