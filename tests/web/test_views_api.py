"""The API routes the dashboard's views need, over both engines through the ASGI app: a
job's events, search, acting on many jobs, running a delayed job now, every queue's
overview and the queue's history."""

from __future__ import annotations

import httpx
import pytest

from jobdeck.core import JobService

from ..waiting import finished

pytestmark = pytest.mark.timeout(60)
API = "/api/v1"


async def test_a_jobs_events_as_they_happened(
    client: httpx.AsyncClient, service: JobService
) -> None:
    @service.handler()
    async def fails(n: int) -> None:
        raise RuntimeError(f"no {n}")

    job_id = (await client.post(f"{API}/jobs", json={"name": "fails", "args": [1]})).json()["id"]
    await service.start_workers(1)
    await finished(service, job_id)
    (await client.post(f"{API}/jobs/dead-letters/{job_id}")).raise_for_status()
    await finished(service, job_id)
    reply = await client.get(f"{API}/jobs/{job_id}/events")
    assert reply.status_code == 200, reply.text
    page = reply.json()
    assert [e["type"] for e in page["events"]] == [
        "JOB_SUBMITTED",
        "JOB_STARTED",
        "JOB_FAILED",
        "JOB_REQUEUED",
        "JOB_STARTED",
        "JOB_FAILED",
    ]
    requeued = page["events"][3]
    assert requeued["data"] == {"reason": "retry"} and requeued["job_id"] == job_id
    assert requeued["status"] == "pending" and requeued["name"] == "fails"
    assert page["next"] is None and page["trimmed"] is False and page["scanned"] >= 6

    step = (await client.get(f"{API}/jobs/{job_id}/events", params={"budget": 2})).json()
    assert len(step["events"]) <= 2 and step["next"] is not None and step["more"]
    rest = await client.get(f"{API}/jobs/{job_id}/events", params={"after": step["next"]})
    assert [e["id"] for e in step["events"] + rest.json()["events"]] == [
        e["id"] for e in page["events"]
    ]


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("no-such-job", {}, 404, None),
        ("{job}", {"after": "yesterday"}, 422, "query.after"),
        ("{job}", {"budget": 0}, 422, "query.budget"),
        ("a b", {}, 422, "path.job_id"),
    ],
)
async def test_a_jobs_events_refuse_bad_input(
    client: httpx.AsyncClient, path: str, params: dict, status: int, field: str | None
) -> None:
    job_id = (await client.post(f"{API}/jobs", json={"name": "x"})).json()["id"]
    reply = await client.get(f"{API}/jobs/{path.format(job=job_id)}/events", params=params)
    assert reply.status_code == status, reply.text
    assert reply.json().get("field") == field
