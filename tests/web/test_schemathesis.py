"""Property-based fuzzing of the whole OpenAPI document (SSE excluded) with schemathesis:
positive and negative data, every check (status codes documented, bodies conform to the
schema, bad input refused, no server error, auth not ignored), over a real Redis.
Small example counts keep it within CI's budget; JOBDECK_FUZZ_EXAMPLES raises them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis import GenerationMode

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


@schema.parametrize()
def test_api_conforms(case: schemathesis.Case) -> None:
    _short_waits(case)
    response = case.call_and_validate(headers={"Authorization": f"Bearer {OPERATE_KEY}"})
    assert "Traceback" not in response.text


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
