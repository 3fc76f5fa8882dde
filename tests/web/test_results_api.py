"""The API's long poll (`GET /jobs/{id}?wait=N`) and deleting one finished job."""

from __future__ import annotations

import asyncio
import time

import httpx

from jobdeck.core import JobService

from ..waiting import finished

API = "/api/v1"


async def test_a_long_poll_answers_when_the_job_finishes(
    client: httpx.AsyncClient, service: JobService
) -> None:
    service.register_handler("square", lambda n: n * n)
    job_id = (await client.post(f"{API}/jobs", json={"name": "square", "args": [7]})).json()["id"]
    poll = asyncio.create_task(client.get(f"{API}/jobs/{job_id}", params={"wait": 20}))
    await asyncio.sleep(0.2)
    assert not poll.done()
    began = time.monotonic()
    await service.start_workers(1)
    reply = await poll
    assert reply.status_code == 200 and reply.json()["status"] == "completed"
    assert reply.json()["result"] == 49 and time.monotonic() - began < 5
    # A finished job answers at once; a job that does not finish answers as it is.
    assert (await client.get(f"{API}/jobs/{job_id}", params={"wait": 60})).json()["result"] == 49
    later = (await client.post(f"{API}/jobs", json={"name": "square", "delay": 60})).json()["id"]
    began = time.monotonic()
    still = await client.get(f"{API}/jobs/{later}", params={"wait": 0.3})
    assert still.status_code == 200 and still.json()["status"] == "scheduled"
    assert 0.25 < time.monotonic() - began < 3
    assert (await client.get(f"{API}/jobs/nope", params={"wait": 0.2})).status_code == 404


async def test_a_long_poll_refuses_a_bad_wait(client: httpx.AsyncClient) -> None:
    for wait in ("61", "-1", "soon", "nan", "inf", "1e9"):
        reply = await client.get(f"{API}/jobs/some-id", params={"wait": wait})
        assert reply.status_code == 422, (wait, reply.text)
        assert reply.json()["field"] == "query.wait"
    schema = (await client.get("/openapi.json")).json()
    [wait] = [
        p
        for p in schema["paths"]["/api/v1/jobs/{job_id}"]["get"]["parameters"]
        if p["name"] == "wait"
    ]
    assert wait["schema"]["maximum"] == 60 and "finish" in wait["description"]


async def test_deleting_one_dead_letter(client: httpx.AsyncClient, service: JobService) -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    service.register_handler("boom", boom)
    await service.start_workers(1)
    first, second = [
        (await client.post(f"{API}/jobs", json={"name": "boom"})).json()["id"] for _ in "ab"
    ]
    for job_id in (first, second):
        await finished(service, job_id)
    deleted = await client.delete(f"{API}/jobs/{first}")
    assert deleted.status_code == 200 and deleted.json()["status"] == "failed"
    assert (await client.get(f"{API}/jobs/{first}")).status_code == 404
    one = await client.delete(f"{API}/jobs/dead-letters/{second}")
    assert one.status_code == 200 and one.json()["error"]["message"] == "boom"
    assert (await client.delete(f"{API}/jobs/dead-letters/{second}")).status_code == 404
    dead = (await client.get(f"{API}/jobs/dead-letters")).json()
    assert dead["total"] == 0 and dead["jobs"] == []
    pending = (await client.post(f"{API}/jobs", json={"name": "x", "delay": 60})).json()["id"]
    refused = await client.delete(f"{API}/jobs/dead-letters/{pending}")
    assert refused.status_code == 409 and "not a dead letter" in refused.json()["detail"]
