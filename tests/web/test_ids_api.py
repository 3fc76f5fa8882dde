"""Job ids and schedule names through the API: the core's rule (no word of the API's paths,
nothing in the scheduler's namespace) answers 422 naming the field, and the rule's list of
words covers every literal segment of every route the app serves: a route added with a new
word fails here until the word is reserved."""

from __future__ import annotations

import httpx
import pytest
from starlette.routing import Mount, Route

from jobdeck.core import JobService
from jobdeck.core.ids import RESERVED_IDS
from jobdeck.web import create_app

from .conftest import keyed_auth

pytestmark = pytest.mark.timeout(60)
API = "/api/v1"


@pytest.fixture(params=["memory"])
def url(request: pytest.FixtureRequest, prefix: str) -> str:
    return f"memory://{prefix}"


def _paths(app: object) -> list[str]:
    """Every route's path: the API's from its OpenAPI document (routers included with a
    prefix are not flattened into app.routes), and the routes and mounts outside it."""
    found = list(app.openapi()["paths"])  # type: ignore[attr-defined]
    found += [route.path for route in app.routes if isinstance(route, (Route, Mount))]  # type: ignore[attr-defined]
    return found


def test_every_word_of_every_route_is_reserved(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth())
    words = {
        segment
        for path in _paths(app)
        for segment in path.split("/")
        if segment and not segment.startswith("{")
    }
    assert {"healthz", "session", "retry-all", "docs"} <= words, words
    assert words <= RESERVED_IDS, f"route words not reserved as ids: {sorted(words - RESERVED_IDS)}"


@pytest.mark.parametrize("job_id", ["retry-all", "Dead-Letters", "metrics", "..", "sched:n:1"])
async def test_submitting_such_an_id_is_422(client: httpx.AsyncClient, job_id: str) -> None:
    one = await client.post(f"{API}/jobs", json={"name": "x", "job_id": job_id})
    assert one.status_code == 422 and one.json()["field"] == "body.job_id", one.text
    batch = await client.post(
        f"{API}/jobs/batch", json={"jobs": [{"name": "x"}, {"name": "x", "job_id": job_id}]}
    )
    assert batch.status_code == 422 and batch.json()["field"] == "body.jobs[1].job_id", batch.text
    # variants: a chain's job, a group's job and a group's then take ids by the same rule
    for path, body, field in (
        ("chains", {"jobs": [{"name": "x"}, {"name": "x", "job_id": job_id}]}, "jobs[1].job_id"),
        ("groups", {"jobs": [{"name": "x", "job_id": job_id}]}, "jobs[0].job_id"),
        ("groups", {"jobs": [{"name": "x"}], "then": {"name": "x", "job_id": job_id}},
         "then.job_id"),
    ):  # fmt: skip
        reply = await client.post(f"{API}/{path}", json=body)
        assert reply.status_code == 422 and reply.json()["field"] == f"body.{field}", reply.text
    assert (await client.get(f"{API}/jobs")).json()["total"] == 0


async def test_naming_a_schedule_such_a_word_is_422(client: httpx.AsyncClient) -> None:
    body = {"job": "work", "every": 60}
    for name in ("pause", "trigger", "retry-all"):
        reply = await client.put(f"{API}/schedules/{name}", json=body)
        assert reply.status_code == 422 and "word of the HTTP API" in reply.json()["detail"]
    assert (await client.put(f"{API}/schedules/nightly", json=body)).status_code == 200


async def test_the_words_are_in_the_vocabulary(client: httpx.AsyncClient) -> None:
    vocabulary = (await client.get(f"{API}/vocabulary")).json()
    assert set(vocabulary["reserved_ids"]) == RESERVED_IDS
    assert vocabulary["scheduler_id_prefix"] == "sched:"
