"""The submit path's fast checks (`submission.prepare`) against the full ones (`new_job`,
`encode_record`, `check_unique`): for every input, valid or not, both must agree exactly on
the stored record, the delay and the error (type and message); and every surface that
takes submit options lists the same ones. No server needed."""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import re
from collections import UserDict
from typing import Any

import pytest

from jobdeck.core import JobService, SyncJobService
from jobdeck.core.codec import encode_record
from jobdeck.core.ids import new_id
from jobdeck.core.models import MAX_DELAY, MAX_TIMEOUT, JobPriority, new_job
from jobdeck.core.submission import JobSpec, prepare, prepare_spec
from jobdeck.core.unique import check_unique
from jobdeck.core.worker.context import HandlerService


def reference(name: Any, args: Any = (), kwargs: Any = None, **options: Any) -> Any:
    """What a submit stores, by the full checks: new_job, then the record, then unique."""
    unique_key, unique_for = options.pop("unique_key", None), options.pop("unique_for", None)
    kwargs = dict(kwargs) if isinstance(kwargs, UserDict | dict) else kwargs
    job, delay = new_job(name, args, kwargs, **options)
    record = encode_record(job)
    unique, window = check_unique(unique_key, unique_for)
    return job.name, int(job.priority), int(delay * 1000), record, unique, window


def stored(job: Any) -> Any:
    """What `reference` gives, read from a prepared job."""
    return job.name, job.priority, job.delay_ms, job.fields, job.unique_key, job.unique_window_ms


def outcome(call: Any) -> Any:
    try:
        return call()
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)


VALID: list[tuple[Any, ...]] = [
    ("noop",),
    ("noop", [], {}),
    ("add", (1, 2)),
    ("add", [1, [2, {"x": None}]], {"k": "v", "n": 1.5}),
    ("ünïcode name",),
    ("x" * 200,),
    (" padded ",),
    ("add", (), None, {"priority": JobPriority.HIGH}),
    ("add", (), None, {"priority": 0}),
    ("add", (), None, {"priority": 3}),
    ("add", (), None, {"priority": "critical"}),
    ("add", (), None, {"priority": "low"}),
    ("add", (), None, {"priority": "normal"}),
    ("add", (), None, {"priority": " High "}),  # any case, spaces around: the full checks
    ("add", (), None, {"max_retries": 5}),
    ("add", (), None, {"timeout": 2}),
    ("add", (), None, {"timeout": 0.25}),
    ("add", (), None, {"timeout": MAX_TIMEOUT}),
    ("add", (), None, {"delay": 0}),
    ("add", (), None, {"delay": 0.0004}),  # under a millisecond: no delay at all
    ("add", (), None, {"delay": 0.001}),
    ("add", (), None, {"delay": 3}),
    ("add", (), None, {"delay": MAX_DELAY}),
    ("add", (), None, {"job_id": "order:42_a.b-c"}),
    ("add", (), UserDict({"k": 1})),  # a mapping that is not a dict
    ("add", (), None, {"unique_key": "u1"}),
    ("add", (), None, {"unique_key": "u1", "unique_for": 2.5}),
]

INVALID: list[tuple[Any, ...]] = [
    ("",),
    ("   ",),
    ("\t\n",),
    (42,),
    (None,),
    ("x" * 201,),
    ("bad \udce9 name",),
    ("add", "not a list"),
    ("add", None),
    ("add", ({1, 2},)),
    ("add", (object(),)),
    ("add", (float("nan"),)),
    ("add", (), [1, 2]),
    ("add", (), {1: "x"}),
    ("add", (), {"k": float("inf")}),
    ("add", (), None, {"priority": 4}),
    ("add", (), None, {"priority": -1}),
    ("add", (), None, {"priority": True}),
    ("add", (), None, {"priority": 1.0}),
    ("add", (), None, {"priority": "urgent"}),
    ("add", (), None, {"priority": ""}),
    ("add", (), None, {"priority": "Normal\x00"}),
    ("add", (), None, {"max_retries": -1}),
    ("add", (), None, {"max_retries": True}),
    ("add", (), None, {"max_retries": 1.0}),
    ("add", (), None, {"timeout": 0}),
    ("add", (), None, {"timeout": -1}),
    ("add", (), None, {"timeout": True}),
    ("add", (), None, {"timeout": math.nan}),
    ("add", (), None, {"timeout": math.inf}),
    ("add", (), None, {"timeout": MAX_TIMEOUT * 2}),
    ("add", (), None, {"timeout": "5"}),
    ("add", (), None, {"delay": -0.5}),
    ("add", (), None, {"delay": math.nan}),
    ("add", (), None, {"delay": math.inf}),
    ("add", (), None, {"delay": MAX_DELAY * 2}),
    ("add", (), None, {"delay": True}),
    ("add", (), None, {"delay": None}),
    ("add", (), None, {"job_id": ""}),
    ("add", (), None, {"job_id": "has spaces"}),
    ("add", (), None, {"job_id": "x" * 129}),
    ("add", (), None, {"job_id": 7}),
    ("add", (), None, {"unique_key": ""}),
    ("add", (), None, {"unique_for": 5}),
    ("add", (), None, {"unique_key": "u", "unique_for": -1}),
    ("", (), None, {"priority": 9}),  # two faults: the same one is named first
]


def split(case: tuple[Any, ...]) -> tuple[Any, Any, Any, dict[str, Any]]:
    """(name[, args[, kwargs[, options]]]) with the defaults filled in."""
    name, args, kwargs, options = case + ((), None, {})[len(case) - 1 :]
    return name, args, kwargs, dict(options)


def case_id(case: object) -> str:
    """A test id that is the same in every process (an object's repr holds its address, and
    parallel runs must collect the same ids)."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(case))[:40]


@pytest.mark.parametrize("case", VALID, ids=[case_id(c) for c in VALID])
def test_valid_submissions_store_what_the_full_checks_store(case: tuple[Any, ...]) -> None:
    name, args, kwargs, options = split(case)
    options.setdefault("job_id", "fixed-id")
    job = prepare(name, args, kwargs, **options)
    expected = reference(name, args, kwargs, **options)
    assert stored(job) == expected
    assert job.id == options["job_id"]
    assert type(job.delay_ms) is int and type(job.priority) is int


@pytest.mark.parametrize("case", INVALID, ids=[case_id(c) for c in INVALID])
def test_invalid_submissions_get_the_full_checks_error(case: tuple[Any, ...]) -> None:
    name, args, kwargs, options = split(case)
    got = outcome(lambda: prepare(name, args, kwargs, **options))
    expected = outcome(lambda: reference(name, args, kwargs, **options))
    assert isinstance(expected, tuple) and isinstance(expected[0], type), "case must be invalid"
    assert got == expected


def test_specs_and_mappings_prepare_alike() -> None:
    spec = JobSpec("add", (1, 2), {"k": 1}, priority=2, delay=1.5, job_id="j", max_retries=1)
    fields = {
        "name": "add",
        "args": (1, 2),
        "kwargs": {"k": 1},
        "priority": 2,
        "delay": 1.5,
        "job_id": "j",
        "max_retries": 1,
    }
    assert (
        prepare_spec(spec)
        == prepare_spec(fields)
        == prepare("add", (1, 2), {"k": 1}, 2, 1, None, 1.5, "j")
    )
    with pytest.raises(TypeError, match=r"^unknown field\(s\): colour, size$"):
        prepare_spec({"name": "add", "size": 1, "colour": "red"})
    with pytest.raises(TypeError, match=r"^name: missing$"):
        prepare_spec({"args": (1,)})


#: A valid value other than the default for every submit option. A new option needs one here
#: (the first test below says so), and the second then proves it is passed on.
SAMPLES: dict[str, Any] = {
    "name": "add",
    "args": (1, 2),
    "kwargs": {"k": 1},
    "priority": 2,
    "max_retries": 3,
    "timeout": 4.5,
    "delay": 1.5,
    "job_id": "j-1",
    "unique_key": "u",
    "unique_for": 60.0,
    "limit": "stripe",
    "group": "tenant-42",
    "result_ttl": 30.0,
    "meta": {"tenant": "acme"},
    "expires": 3600.0,
    "after": ["parent-1", "parent-2"],
    "on_parent_failure": "run",
}


def _options(func: Any) -> dict[str, Any]:
    params = list(inspect.signature(func).parameters.values())
    return {p.name: p.default for p in params if p.name != "self"}


def test_every_surface_lists_the_same_submit_options() -> None:
    """Adding an option is a change in `core/submission.py` (its docstring says how); this
    fails until `JobSpec`, `prepare` and each `submit_job` list it with the same default."""
    spec = {
        f.name: inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        for f in dataclasses.fields(JobSpec)
    }
    assert set(SAMPLES) == set(spec), "give the new option a sample value in SAMPLES"
    assert _options(prepare) == spec
    for surface in (JobService.submit_job, SyncJobService.submit_job, HandlerService.submit_job):
        assert _options(surface) == spec, surface.__qualname__


def test_a_spec_passes_every_option_on() -> None:
    expected = prepare(**SAMPLES)
    assert prepare_spec(JobSpec(**SAMPLES)) == expected
    assert prepare_spec(dict(SAMPLES)) == expected
    defaults = _options(prepare)
    for option in SAMPLES.keys() - {"name", "job_id"}:  # each sample makes a difference
        without = {**SAMPLES, option: defaults[option]}
        assert outcome(lambda: prepare(**without)) != expected, option  # noqa: B023


def test_generated_ids_are_20_random_base32_characters() -> None:
    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"[a-z2-7]{20}", job_id) for job_id in ids)
    # Every character of the alphabet occurs in every position: nothing is fixed or skewed.
    for position in range(20):
        assert {job_id[position] for job_id in ids} == set("abcdefghijklmnopqrstuvwxyz234567")
    job = prepare("noop")
    assert re.fullmatch(r"[a-z2-7]{20}", job.id)


def test_a_forked_child_never_hands_out_its_parents_ids() -> None:
    new_id()  # the parent now holds ids drawn ahead
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.write(write_end, " ".join(new_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write_end)
    parent = {new_id() for _ in range(10)}
    with os.fdopen(read_end) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    assert len(child) == 10 and not parent & child
