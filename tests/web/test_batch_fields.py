"""POST /jobs/batch hands the core only the fields a job's body set (`job_fields`, the fast
path of a 10,000-job batch): that is the same job only while every default of `JobIn` is one
the core treats alike. A field added to `JobIn` with a default of its own breaks this test,
not silently the batches."""

from __future__ import annotations

from typing import Any

import pytest

from jobdeck.core.submission import prepare_spec
from jobdeck.web.api.jobs import job_fields, job_spec
from jobdeck.web.models import JobIn


def _stored(spec: Any) -> Any:
    job = prepare_spec(spec)
    return (job.name, job.priority, job.delay_ms, job.fields, job.unique_key, job.after)


@pytest.mark.parametrize(
    "name", [n for n, f in JobIn.model_fields.items() if not f.is_required()]
)
def test_every_default_of_a_job_body_is_the_cores(name: str) -> None:
    field = JobIn.model_fields[name]
    default = field.get_default(call_default_factory=True)
    given = JobIn.model_validate({"name": "x", "job_id": "fixed-id", name: default})
    left_out = JobIn.model_validate({"name": "x", "job_id": "fixed-id"})
    assert _stored(job_fields(left_out)) == _stored(job_spec(given)), name


def test_a_body_with_every_field_set_is_the_same_job_either_way() -> None:
    body = {
        "name": "x",
        "args": [1, "a"],
        "kwargs": {"k": [1]},
        "priority": "high",
        "max_retries": 3,
        "timeout": 2.5,
        "delay": 4,
        "job_id": "fixed-id",
        "limit": "user:1",
        "group": "g",
        "result_ttl": 60,
        "meta": {"m": 1},
    }
    job = JobIn.model_validate(body)
    assert job_fields(job).keys() == body.keys()
    assert _stored(job_fields(job)) == _stored(job_spec(job))
