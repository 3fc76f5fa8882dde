"""`/api/v1/schedules` over both engines."""

from __future__ import annotations

import httpx
import pytest

from jobdeck.core import JobService

from .conftest import READ_KEY

pytestmark = pytest.mark.timeout(60)
API = "/api/v1/schedules"


async def test_schedule_lifecycle(client: httpx.AsyncClient, service: JobService) -> None:
    reply = await client.put(
        f"{API}/nightly",
        json={"job": "backup", "cron": "0 3 * * *", "timezone": "Europe/Berlin", "args": ["/srv"]},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["name"], body["cron"], body["paused"]) == ("nightly", "0 3 * * *", False)
    assert body["next_fire"] is not None
    listed = (await client.get(API)).json()["schedules"]
    assert [s["name"] for s in listed] == ["nightly"]

    paused = (await client.post(f"{API}/nightly/pause")).json()
    assert paused["paused"] is True and paused["next_fire"] is None
    resumed = (await client.post(f"{API}/nightly/resume")).json()
    assert resumed["paused"] is False and resumed["next_fire"] == body["next_fire"]

    reply = await client.post(f"{API}/nightly/trigger")
    assert reply.status_code == 202
    job = await service.get_job(reply.json()["job_id"])
    assert job is not None and job.name == "backup" and list(job.args) == ["/srv"]

    assert (await client.delete(f"{API}/nightly")).status_code == 204
    for call in (
        client.get(f"{API}/nightly"),
        client.post(f"{API}/nightly/pause"),
        client.post(f"{API}/nightly/trigger"),
        client.delete(f"{API}/nightly"),
    ):
        reply = await call
        assert reply.status_code == 404
        assert reply.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"job": "x"}, "body.cron"),
        ({"job": "x", "cron": "0 3 * *"}, "body.cron"),
        ({"job": "x", "every": 10, "timezone": "Mars/Base"}, "body.timezone"),
        ({"job": "x", "every": 0}, "body.every"),
        ({"job": "x", "every": 10, "missed": "all"}, "body.missed"),
    ],
)
async def test_bad_definitions_are_422_naming_the_field(
    client: httpx.AsyncClient, body: dict, field: str
) -> None:
    reply = await client.put(f"{API}/s", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"].startswith(field)
    assert (await client.get(API)).json()["schedules"] == []


async def test_read_key_can_list_but_not_change(make_client) -> None:
    reader = await make_client(READ_KEY)
    assert (await reader.get(API)).status_code == 200
    assert (await reader.put(f"{API}/s", json={"job": "x", "every": 5})).status_code == 403
