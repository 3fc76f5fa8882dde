"""Property-based fuzzing of the whole OpenAPI document (SSE excluded) with schemathesis:
positive and negative data, every check (status codes documented, bodies conform to the
schema, bad input refused, no server error, auth not ignored), over a real Redis.
Small example counts keep it within CI's budget; JOBDECK_FUZZ_EXAMPLES raises them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from jobdeck.core import JobService
from jobdeck.web import create_app

from .conftest import OPERATE_KEY, keyed_auth

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
EXAMPLES = int(os.environ.get("JOBDECK_FUZZ_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def api_schema(redis_server, tmp_path_factory) -> Iterator[schemathesis.BaseSchema]:
    prefix = "fuzz" + tmp_path_factory.mktemp("fuzz").name[-6:].replace("-", "")
    service = JobService(redis_server.url, prefix=prefix)  # used on schemathesis's own loop
    app = create_app(service, auth=keyed_auth())
    # The document is behind the same keys as the API.
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, headers={"Authorization": f"Bearer {OPERATE_KEY}"}
    )
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
    )
    yield schema


# The SSE stream never ends. The dashboard's sign-in (tag "session") and the schedules
# (a cron expression's validity is not expressible in JSON Schema) have their own tests
# (tests/dashboard, tests/test_schedules*).
schema = (
    schemathesis.pytest.from_fixture("api_schema")
    .exclude(path_regex="/events$")
    .exclude(tag="session")
    .exclude(tag="schedules")
)


# The rules JSON Schema cannot state (they compare two fields, or two jobs of one body),
# written in JobFields' docstring and the fields' descriptions: schema-valid data that breaks
# one gets a 422 naming that field, with these words, and that is the answer it should get.
# (`after`'s ids being distinct is `uniqueItems`, left out of the document: over 10,000 ids
# the fuzzer spends minutes building distinct arrays.) So is one rule of the queue's state:
# a parent in `after` must be a job of the queue (the fuzzer names jobs that never were).
CROSS_FIELD_RULES = {
    "after": (
        "cannot wait for itself",
        "is submitted later in this batch",
        "a cycle",
        "is listed twice",
        "a parent must be a job of the same queue",
    ),
    "expires": ("comes before the job's delay",),
}


@schema.parametrize()
def test_api_conforms(case: schemathesis.Case) -> None:
    _short_waits(case)
    headers = {"Authorization": f"Bearer {OPERATE_KEY}"}
    response = case.call(headers=headers)
    excluded = [positive_data_acceptance] if _cross_field_refusal(response) else []
    case.validate_response(response, headers=headers, excluded_checks=excluded)
    assert "Traceback" not in response.text


def _cross_field_refusal(response: Any) -> bool:
    """A 422 for one of CROSS_FIELD_RULES, naming its field (`body.jobs[2].after`)."""
    if response.status_code != 422:
        return False
    problem = response.json()
    field = str(problem.get("field", "")).rpartition(".")[2]
    return any(words in problem.get("detail", "") for words in CROSS_FIELD_RULES.get(field, ()))


def _short_waits(case: schemathesis.Case) -> None:
    """A long poll (`?wait=`, up to 60 s) on a pending job the fuzzer submitted would outlast
    the client's timeout: a valid wait is cut to 0.2 s, a malformed one stays as generated."""
    query = case.query or {}
    try:
        wait = float(query["wait"])
    except (KeyError, TypeError, ValueError):
        return
    if 0.2 < wait <= 60:
        query["wait"] = 0.2
