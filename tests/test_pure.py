"""The pure modules (retry, metrics, keys, codec, models) against written-out numbers.

These need no server: each case states the answer by hand rather than recomputing it with
the code under test, so a changed formula fails here (and `tests/mutation/run.sh` measures how
many deliberate changes these tests catch).
"""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

import pytest

from jobdeck.core import RetryPolicy
from jobdeck.core.backend.base import RawMetrics
from jobdeck.core.bus import adapt_event_bus
from jobdeck.core.codec import (
    MalformedRecord,
    decode_control,
    decode_record,
    dumps,
    encodable,
    encode_record,
    loads,
)
from jobdeck.core.events import Event, EventBus, Events
from jobdeck.core.keys import key_prefix, validate_name
from jobdeck.core.metrics import QueueMetrics, build_metrics
from jobdeck.core.models import (
    MAX_DELAY,
    MAX_TIMEOUT,
    JobDefinition,
    JobError,
    JobPriority,
    JobProgress,
    JobStatus,
    new_job,
    parse_priority,
)


# -- retry ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RetryPolicy(), [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0)]),
        (RetryPolicy(base=0.4, jitter=0.5), [(0.2, 0.4), (0.4, 0.8), (0.8, 1.6), (1.6, 3.2)]),
        (RetryPolicy(base=2.0, factor=3.0, jitter=0.0), [(2, 2), (6, 6), (18, 18), (54, 54)]),
        (RetryPolicy(base=1.0, factor=1.0, jitter=1.0), [(0, 1), (0, 1), (0, 1), (0, 1)]),
        # the cap: 1, 2, 4, then 5 and 5 again rather than 8 and 16
        (
            RetryPolicy(base=1.0, max_delay=5.0, jitter=0.2),
            [(0.8, 1.0), (1.6, 2.0), (3.2, 4.0), (4.0, 5.0), (4.0, 5.0)],
        ),
    ],
)
def test_backoff_bounds_by_hand(policy: RetryPolicy, expected: list[tuple[float, float]]) -> None:
    for attempt, (low, high) in enumerate(expected, start=1):
        assert policy.bounds(attempt) == pytest.approx((low, high)), attempt


def test_backoff_caps_at_max_delay_however_many_attempts() -> None:
    policy = RetryPolicy(base=1.0, factor=2.0, max_delay=300.0, jitter=0.5)
    assert policy.bounds(9) == pytest.approx((128.0, 256.0))
    assert policy.bounds(10) == pytest.approx((150.0, 300.0))
    assert policy.bounds(40) == pytest.approx((150.0, 300.0))
    assert RetryPolicy(max_delay=0.0).bounds(3) == (0.0, 0.0)
    # attempt 0 (or less) is treated as the first
    assert policy.bounds(0) == policy.bounds(1) == pytest.approx((0.5, 1.0))


def test_default_policy_and_immutability() -> None:
    default = RetryPolicy()
    assert (default.base, default.factor, default.max_delay, default.jitter) == (1, 2, 300, 0.5)
    assert default.bounds(40) == (150.0, 300.0)
    with pytest.raises(AttributeError):
        default.base = 2.0  # type: ignore[misc]


def test_backoff_delay_is_drawn_within_the_bounds() -> None:
    random.seed(7)
    policy = RetryPolicy(base=1.0, factor=2.0, jitter=0.5)
    delays = [policy.delay(3) for _ in range(2000)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert min(delays) < 2.1 and max(delays) > 3.9, "jitter spreads over the whole range"
    assert RetryPolicy(base=0.3, jitter=0.0).delay(1) == 0.3


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"base": -0.1}, "base and max_delay must be >= 0"),
        ({"max_delay": -1.0}, "base and max_delay must be >= 0"),
        ({"factor": 0.99}, "factor must be >= 1"),
        ({"jitter": -0.01}, "jitter must be between 0 and 1"),
        ({"jitter": 1.01}, "jitter must be between 0 and 1"),
    ],
)
def test_retry_policy_validation(options: dict[str, float], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        RetryPolicy(**options)


def test_retry_policy_edges_are_allowed() -> None:
    for options in ({"base": 0.0}, {"max_delay": 0.0}, {"factor": 1.0}, {"jitter": 0.0}):
        RetryPolicy(**options)  # type: ignore[arg-type]
    RetryPolicy(jitter=1.0)


# -- metrics ----------------------------------------------------------------------------------
def test_metrics_from_known_buckets() -> None:
    buckets = [
        {"completed": 4, "started": 4, "finished": 4, "wait_ms": 400, "run_ms": 200},
        {"completed": 6, "failed": 1, "started": 2, "finished": 7, "wait_ms": 200, "run_ms": 500},
        {"completed": 100, "submitted": 3, "started": 4, "finished": 1, "wait_ms": 1400},
    ]
    raw = RawMetrics(now=12.5, depths={"pending": 3}, totals={"submitted": 9}, buckets=buckets)
    m = build_metrics(raw)
    assert m.timestamp == 12.5 and m.depths == {"pending": 3} and m.totals == {"submitted": 9}
    assert m.completed_per_second == [4, 6, 100]
    assert m.failed_per_second == [0, 1, 0]
    assert m.submitted_per_second == [0, 0, 3]
    assert m.window == 3
    # the current (last) second is still filling: rates use the whole ones, 10 in 2 s
    assert m.throughput == 5.0
    assert m.throughput_10s == 5.0
    # waits and run times count every bucket: 2000 ms over 10 starts, 700 ms over 12 ends
    assert m.avg_wait == pytest.approx(0.2)
    assert m.avg_run == pytest.approx(700 / 12 / 1000)
    assert m.paused is False


def test_metrics_throughput_10s_uses_the_last_ten_whole_seconds() -> None:
    buckets = [{"completed": 50}] * 5 + [{"completed": 2}] * 10 + [{"completed": 999}]
    m = build_metrics(RawMetrics(now=0.0, depths={}, totals={}, buckets=buckets, paused=True))
    assert m.throughput == pytest.approx((250 + 20) / 15)
    assert m.throughput_10s == 2.0
    assert m.paused is True


def test_metrics_defaults_and_buckets_without_completions() -> None:
    bare = QueueMetrics(timestamp=0.0, depths={}, totals={})
    assert (bare.throughput, bare.throughput_10s, bare.avg_wait, bare.avg_run) == (0, 0, None, None)
    assert bare.completed_per_second == [] and bare.paused is False and bare.window == 0
    with pytest.raises(AttributeError):
        bare.throughput = 1.0  # type: ignore[misc]
    buckets = [{"failed": 2}, {"completed": 3}, {"submitted": 1}, {}]
    m = build_metrics(RawMetrics(now=0.0, depths={}, totals={}, buckets=buckets))
    assert m.completed_per_second == [0, 3, 0, 0]
    assert m.failed_per_second == [2, 0, 0, 0] and m.submitted_per_second == [0, 0, 1, 0]
    assert m.throughput == 1.0 and m.throughput_10s == 1.0
    assert m.avg_wait is None and m.avg_run is None  # nothing started or finished


def test_metrics_edges_of_the_window() -> None:
    # two seconds: the first is whole, the second still filling
    two = build_metrics(RawMetrics(0.0, {}, {}, buckets=[{"completed": 4}, {"completed": 100}]))
    assert (two.throughput, two.throughput_10s) == (4.0, 4.0)
    # the last ten whole seconds: the tenth from the end counts, the eleventh does not
    buckets = [{"completed": 50}] + [{"completed": 11}] + [{"completed": 1}] * 9 + [{}]
    m = build_metrics(RawMetrics(0.0, {}, {}, buckets=buckets))
    assert m.throughput_10s == 2.0  # (11 + 9) / 10
    # a bucket with starts but no wait (or ends but no run) adds nothing to the sums
    buckets = [
        {"started": 2, "wait_ms": 400, "finished": 1, "run_ms": 300},
        {"started": 2, "finished": 2},
    ]
    m = build_metrics(RawMetrics(0.0, {}, {}, buckets=buckets))
    assert (m.avg_wait, m.avg_run) == (0.1, 0.1)


def test_metrics_of_an_idle_queue() -> None:
    m = build_metrics(RawMetrics(now=1.0, depths={}, totals={}))
    assert (m.throughput, m.throughput_10s, m.avg_wait, m.avg_run) == (0.0, 0.0, None, None)
    assert m.window == 0
    one = build_metrics(RawMetrics(now=1.0, depths={}, totals={}, buckets=[{"completed": 3}]))
    assert (one.throughput, one.throughput_10s) == (3.0, 3.0)  # one second: it is the window


# -- keys -------------------------------------------------------------------------------------
def test_key_prefix_and_names() -> None:
    assert key_prefix("jobdeck", "default") == "jobdeck:{default}:"
    assert validate_name("queue", "a" * 64) == "a" * 64
    assert validate_name("queue", "A-z_0.9:x") == "A-z_0.9:x"
    for bad in ("", "a" * 65, "has space", "a/b", "{q}", "é", None, 3):
        with pytest.raises(ValueError, match="queue: 1-64 characters"):
            validate_name("queue", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prefix"):
        key_prefix("bad prefix", "q")


# -- models -----------------------------------------------------------------------------------
def test_priorities_parse_from_names_numbers_and_members() -> None:
    assert parse_priority(JobPriority.HIGH) is JobPriority.HIGH
    assert parse_priority(0) is JobPriority.LOW and parse_priority(3) is JobPriority.CRITICAL
    assert parse_priority(" critical ") is JobPriority.CRITICAL
    assert parse_priority("Normal") is JobPriority.NORMAL
    for bad in (4, -1, True, "urgent", ""):
        with pytest.raises(ValueError, match="priority: expected one of low, normal, high"):
            parse_priority(bad)
    with pytest.raises(TypeError, match="priority: expected JobPriority, int or str, got float"):
        parse_priority(1.0)


def test_new_job_defaults_and_delay() -> None:
    job, delay = new_job("send", [1, "a"], {"k": 2}, job_id="id-1")
    assert (job.id, job.name, job.args, job.kwargs) == ("id-1", "send", (1, "a"), {"k": 2})
    assert (job.priority, job.status, job.max_retries, job.timeout) == (
        JobPriority.NORMAL,
        JobStatus.PENDING,
        0,
        None,
    )
    assert delay == 0.0
    job, delay = new_job("send", delay=5, timeout=2, max_retries=3, priority="high")
    assert (job.status, delay, job.timeout, job.max_retries) == (JobStatus.SCHEDULED, 5.0, 2.0, 3)
    assert isinstance(job.timeout, float) and job.priority is JobPriority.HIGH
    assert new_job("x", delay=0.0009)[0].status == JobStatus.PENDING  # under a millisecond
    assert new_job("x", delay=0.001) == (new_job("x", delay=0.001)[0].evolve(id=ANY_ID), 0.001)
    assert len(new_job("x")[0].id) == 20 and new_job("x")[0].id != new_job("x")[0].id
    assert new_job("n" * 200)[0].name == "n" * 200
    assert new_job("x", delay=MAX_DELAY)[1] == MAX_DELAY
    assert new_job("x", timeout=MAX_TIMEOUT)[0].timeout == MAX_TIMEOUT
    assert (MAX_DELAY, MAX_TIMEOUT) == (315_360_000, 2_592_000)  # ten years, thirty days
    assert new_job("x", job_id="a" * 128)[0].id == "a" * 128


def test_new_job_edges_that_are_allowed() -> None:
    """The smallest values on the allowed side of each check, and keyword-only options."""
    assert new_job("x", timeout=0.5)[0].timeout == 0.5  # under a second is a timeout too
    assert new_job("x", timeout=1)[0].timeout == 1.0
    assert new_job("x", job_id="a")[0].id == "a"  # one character is an id
    with pytest.raises(TypeError):
        new_job("x", (), None, 2)  # type: ignore[misc]  # priority is keyword-only


def test_priority_values_and_immutable_records() -> None:
    assert [(p.name, p.value) for p in JobPriority] == [
        ("LOW", 0),
        ("NORMAL", 1),
        ("HIGH", 2),
        ("CRITICAL", 3),
    ]
    assert JobProgress() == JobProgress(0.0, "")
    job, _ = new_job("x")
    for record, name in (
        (job, "status"),
        (JobError("E", "m"), "message"),
        (JobProgress(), "fraction"),
    ):
        with pytest.raises(AttributeError):
            setattr(record, name, None)  # frozen: records are shared, never changed in place


class _AnyId(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str)

    __hash__ = str.__hash__


ANY_ID = _AnyId("any")


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: new_job(3), TypeError, "name: expected str, got int"),  # type: ignore[arg-type]
        (lambda: new_job(""), ValueError, "name: must not be empty"),
        (lambda: new_job("n" * 201), ValueError, "name: at most 200 characters"),
        (lambda: new_job("x", "ab"), TypeError, "args: expected a tuple or list, got str"),
        (lambda: new_job("x", (), []), TypeError, "kwargs: expected a dict, got list"),
        (lambda: new_job("x", (), {1: 2}), TypeError, "kwargs: keys must be strings"),
        (lambda: new_job("x", max_retries=1.0), TypeError, "max_retries: expected int"),
        (lambda: new_job("x", max_retries=True), TypeError, "max_retries: expected int"),
        (lambda: new_job("x", max_retries=-1), ValueError, "max_retries: must be >= 0"),
        (lambda: new_job("x", timeout="1"), TypeError, "timeout: expected a number"),
        (lambda: new_job("x", timeout=True), TypeError, "timeout: expected a number"),
        (lambda: new_job("x", timeout=0), ValueError, "timeout: must be a positive"),
        (lambda: new_job("x", timeout=float("nan")), ValueError, "timeout: must be a positive"),
        (lambda: new_job("x", timeout=MAX_TIMEOUT + 1), ValueError, "timeout: at most"),
        (lambda: new_job("x", delay="1"), TypeError, "delay: expected a number"),
        (lambda: new_job("x", delay=True), TypeError, "delay: expected a number"),
        (lambda: new_job("x", delay=-0.5), ValueError, "delay: must be >= 0"),
        (lambda: new_job("x", delay=float("inf")), ValueError, "delay: must be >= 0"),
        (lambda: new_job("x", delay=MAX_DELAY + 1), ValueError, "delay: at most"),
        (lambda: new_job("x", job_id=""), ValueError, "job_id: 1-128 characters"),
        (lambda: new_job("x", job_id="a" * 129), ValueError, "job_id: 1-128 characters"),
        (lambda: new_job("x", job_id="a b"), ValueError, "job_id: 1-128 characters"),
        (lambda: new_job("x", job_id=5), ValueError, "job_id: 1-128 characters"),
        (lambda: new_job("bad\udc80"), ValueError, "name: not valid UTF-8 text"),
    ],
)
def test_new_job_refuses_naming_the_field(call: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error and words in str(caught.value), caught.value


def test_job_times_and_status() -> None:
    job = JobDefinition(id="j", name="n", created_at=10.0)
    assert job.wait_time is None and job.run_time is None
    assert job.evolve(started_at=12.5).wait_time == 2.5
    assert job.evolve(scheduled_for=12.0, started_at=12.5).wait_time == 0.5
    assert job.evolve(scheduled_for=13.0, started_at=12.5).wait_time == 0.0  # clock skew
    assert job.evolve(started_at=12.0, finished_at=15.5).run_time == 3.5
    assert job.evolve(started_at=16.0, finished_at=15.5).run_time == 0.0
    assert job.evolve(finished_at=15.5).run_time is None
    terminal = {s for s in JobStatus if s.is_terminal}
    assert terminal == {
        JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED
    }
    assert JobError.from_dict("x") is None
    assert JobError.from_dict({}) == JobError("Error", "", None)
    assert JobError.from_dict({"type": "T", "message": "m", "traceback": 3}) == JobError("T", "m")
    error = JobError("T", "m", "tb")
    assert JobError.from_dict(error.to_dict()) == error


# -- codec ------------------------------------------------------------------------------------
def test_dumps_is_strict_json() -> None:
    assert dumps({"a": [1, 2.5, None, "x"]}) == b'{"a":[1,2.5,null,"x"]}'
    assert dumps([None]) == b"[null]"
    for bad in (float("nan"), [float("inf")], {"k": (1, float("-inf"))}, {"k": [{"j": math.nan}]}):
        with pytest.raises(ValueError, match="NaN and Infinity are not JSON"):
            dumps(bad)
    with pytest.raises(TypeError):
        dumps({1: "non-string key"})
    with pytest.raises(TypeError):
        dumps(object())
    assert loads(b'{"a": 1}') == {"a": 1} and loads("[1]") == [1]
    assert decode_control([b'{"op": "pause"}', b"not json", b"[1]", '{"op": "x"}']) == [
        {"op": "pause"},
        {"op": "x"},
    ]


def test_text_that_cannot_be_encoded_is_escaped_not_refused() -> None:
    assert encodable("plain é") == "plain é"
    assert encodable("bad \udce9 name") == "bad \\udce9 name"


def test_records_round_trip_and_leave_defaults_out() -> None:
    job, _ = new_job("send", (1, "two"), {"k": [3]}, job_id="j1")
    record = encode_record(job)
    assert record == {
        "name": "send",
        "args": b'[1,"two"]',
        "kwargs": b'{"k":[3]}',
    }  # pending, the default priority, no retries and no timeout are left out
    assert decode_record("j1", {k.encode(): v for k, v in record.items()}).status == "pending"
    job, _ = new_job("send", max_retries=2, timeout=1.5, priority="critical", delay=3)
    record = encode_record(job)
    assert (record["max_retries"], record["timeout"], record["priority"]) == ("2", "1.5", "3")
    assert record["status"] == "scheduled"
    with pytest.raises(TypeError, match="args: not JSON-serializable"):
        encode_record(new_job("x", (object(),))[0])
    with pytest.raises(TypeError, match="kwargs: not JSON-serializable"):
        encode_record(new_job("x", (), {"k": float("nan")})[0])

    stored = {
        **{k.encode(): v for k, v in record.items()},
        b"attempts": b"2",
        b"created_at": b"100.5",
        b"scheduled_for": "103.5",
        b"started_at": b"104",
        b"finished_at": b"106.25",
        b"progress": b'[0.5, "half"]',
        b"result": b'{"ok": true}',
        b"error": b'{"type": "E", "message": "m"}',
        b"worker": b"w-1",
        b"stalls": b"1",
        b"cancel": b"1",
    }
    back = decode_record("j2", stored)
    assert (back.id, back.name, back.args, back.kwargs) == ("j2", "send", (), {})
    assert (back.priority, back.status, back.attempts, back.max_retries) == (
        JobPriority.CRITICAL,
        JobStatus.SCHEDULED,
        2,
        2,
    )
    assert (back.timeout, back.created_at, back.scheduled_for) == (1.5, 100.5, 103.5)
    assert (back.started_at, back.finished_at, back.stalls) == (104.0, 106.25, 1)
    assert back.progress == JobProgress(0.5, "half") and back.result == {"ok": True}
    assert back.error == JobError("E", "m") and back.worker == "w-1"
    assert back.cancel_requested is True
    plain = decode_record("j3", {"name": "n"})
    assert plain == JobDefinition(id="j3", name="n")
    assert decode_record("j4", {"name": "n", "cancel": "0", "progress": "[1]"}) == JobDefinition(
        id="j4", name="n"
    )
    assert decode_record("j5", {"name": "n", "progress": '["x", 1]'}).progress == JobProgress()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({}, "record is missing or empty"),
        ({"args": "[]"}, "field 'name' is missing"),
        ({"name": ""}, "field 'name' is missing"),
        ({"name": b"\xff"}, "field 'name' is not UTF-8"),
        ({"name": "n", "args": "{}"}, "field 'args' is not a JSON array"),
        ({"name": "n", "args": "[1"}, "field 'args' is not valid JSON"),
        ({"name": "n", "kwargs": "[]"}, "field 'kwargs' is not a JSON object"),
        ({"name": "n", "priority": "9"}, "field 'priority' is out of range"),
        ({"name": "n", "priority": "high"}, "field 'priority' is out of range"),
        ({"name": "n", "status": "lost"}, "field 'status' is not a known status"),
        ({"name": "n", "timeout": "soon"}, "field 'timeout' is not a number: 'soon'"),
        ({"name": "n", "attempts": "x" * 99}, "not an integer: '" + "x" * 40 + "'"),
        ({"name": "n", "started_at": "y" * 99}, "not a number: '" + "y" * 40 + "'"),
    ],
)
def test_malformed_records_say_why(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(MalformedRecord) as caught:
        decode_record("j", fields)
    assert words in str(caught.value), caught.value


# -- an application's event bus ---------------------------------------------------------------
async def test_adapting_an_applications_event_bus(caplog: pytest.LogCaptureFixture) -> None:
    event = Event(Events.JOB_COMPLETED, 1.0, "j1")
    seen: list[Any] = []

    class TwoArgs:
        def publish(self, event_type: Any, event: Any) -> None:
            seen.append(("two", event_type, event))

    class OneArg:
        def publish(self, event: Any) -> None:
            seen.append(("one", event))

    class Star:
        def publish(self, *args: Any) -> None:
            seen.append(("star", *args))

    class Broken:
        async def publish(self, event: Any) -> None:
            raise RuntimeError("bus down")

    async def coroutine(event: Any) -> None:
        seen.append(("async", event))

    assert adapt_event_bus(None) is None and adapt_event_bus(EventBus()) is None
    for bus in (TwoArgs(), OneArg(), Star(), seen.append, coroutine):
        forward = adapt_event_bus(bus)
        assert forward is not None
        forward(event)
    broken = adapt_event_bus(Broken())
    assert broken is not None
    with caplog.at_level("ERROR", logger="jobdeck.bus"):
        broken(event)
        for _ in range(5):
            await asyncio.sleep(0)
    assert seen == [
        ("two", Events.JOB_COMPLETED, event),
        ("one", event),
        ("star", Events.JOB_COMPLETED, event),
        event,
        ("async", event),
    ]
    assert "the application's event bus failed" in caplog.text
    with pytest.raises(TypeError, match="event_bus: expected an object with a publish"):
        adapt_event_bus(42)


def test_omitted_markers_of_a_capped_read() -> None:
    fields = {
        "name": "n",
        b"__omitted:args": b"x",  # not a size: skipped, the rest still read
        "__omitted:result": "5000000",
        b"__omitted:error": 12,
    }
    assert decode_record("j", fields).omitted == {"result": 5_000_000, "error": 12}
    assert decode_record("j", {"name": "n"}).omitted == {}
