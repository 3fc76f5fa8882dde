"""`/api/v1/limits`, and what the API says of throttled and unserved jobs (issues 22, 24)."""

from __future__ import annotations

import httpx
import pytest

from jobdeck.core import JobService

from .conftest import READ_KEY
from .test_prometheus import parse

pytestmark = pytest.mark.timeout(60)
API = "/api/v1/limits"


async def test_limit_lifecycle(client: httpx.AsyncClient) -> None:
    assert (await client.get(API)).json() == {"limits": []}
    reply = await client.put(f"{API}/stripe", json={"concurrency": 5, "rate": 100, "per": 1})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "key": "stripe",
        "concurrency": 5,
        "rate": 100,
        "per": 1.0,
        "in_use": 0,
        "throttled": 0,
        "template": False,
    }
    reply = await client.put(f"{API}/user:*", json={"concurrency": 1})
    assert reply.status_code == 200, reply.text
    assert reply.json()["template"] is True
    keys = [lim["key"] for lim in (await client.get(API)).json()["limits"]]
    assert keys == ["stripe", "user:*"]
    assert (await client.delete(f"{API}/user:*")).status_code == 204
    reply = await client.delete(f"{API}/user:*")
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("key", "body", "field"),
    [
        ("k", {}, "body.concurrency"),
        ("k", {"concurrency": -1}, "body.concurrency"),
        ("k", {"rate": 0}, "body.rate"),
        ("k", {"rate": 10**9}, "body.rate"),
        ("k", {"rate": 5, "per": 0}, "body.per"),
        ("k", {"concurrency": 1, "per": 5}, "body.per"),
        ("k", {"concurrency": "1"}, "body.concurrency"),
        ("user*", {"concurrency": 1}, "path.key"),
        ("a b", {"concurrency": 1}, "path.key"),
    ],
)
async def test_bad_limits_are_refused_naming_the_field(
    client: httpx.AsyncClient, key: str, body: dict, field: str
) -> None:
    reply = await client.put(f"{API}/{key}", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"].startswith(field), reply.json()
    assert (await client.get(API)).json() == {"limits": []}


async def test_the_document_says_what_a_limit_body_needs(client: httpx.AsyncClient) -> None:
    """What the server refuses above ({} and a `per` without a rate) the schema refuses too,
    and a removal's 404 is documented."""
    doc = (await client.get("/openapi.json")).json()
    rules = doc["components"]["schemas"]["LimitIn"]["allOf"]
    rate = {"required": ["rate"], "properties": {"rate": {"type": "integer"}}}
    assert {"anyOf": [{"required": ["concurrency"], "properties": {"concurrency": {"type":
            "integer"}}}, rate]} in rules  # fmt: skip
    assert {"anyOf": [{"properties": {"per": {"const": 1}}}, rate]} in rules
    assert "404" in doc["paths"]["/api/v1/limits/{key}"]["delete"]["responses"]


async def test_throttled_jobs_show_in_jobs_and_metrics(
    client: httpx.AsyncClient, service: JobService
) -> None:
    await client.put(f"{API}/k", json={"concurrency": 1})
    ids = []
    for _ in range(3):
        reply = await client.post("/api/v1/jobs", json={"name": "work", "limit": "k", "group": "t"})
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["id"])
    batch = await service.backend.claim("w1", 10, 30.0, ["work"])
    assert [job.id for job in batch.jobs] == ids[:1]
    body = (await client.get(f"/api/v1/jobs/{ids[1]}")).json()
    assert (body["limit"], body["group"], body["throttled"]) == ("k", "t", "k")
    metrics = (await client.get("/api/v1/jobs/metrics")).json()
    assert (metrics["throttled"], metrics["held"]["throttled"]) == (2, {"k": 2})
    assert metrics["depths"]["pending"] == 2
    [limit] = (await client.get(API)).json()["limits"]
    assert (limit["in_use"], limit["throttled"]) == (1, 2)


async def test_unserved_jobs_show_in_metrics(
    client: httpx.AsyncClient, service: JobService
) -> None:
    await client.post("/api/v1/jobs", json={"name": "resize"})
    assert (await service.backend.claim("w1", 10, 30.0, ["mail"])).jobs == []
    metrics = (await client.get("/api/v1/jobs/metrics")).json()
    assert (metrics["unserved"], metrics["held"]["unserved"]) == (1, {"resize": 1})


async def test_a_bad_limit_or_group_on_a_job_is_422(client: httpx.AsyncClient) -> None:
    for body, field in (
        ({"name": "w", "limit": "a b"}, "body.limit"),
        ({"name": "w", "group": "*"}, "body.group"),
        ({"name": "w", "limit": "user:*"}, "body.limit"),
    ):
        reply = await client.post("/api/v1/jobs", json=body)
        assert reply.status_code == 422, reply.text
        assert reply.json()["field"] == field


async def test_read_key_can_list_but_not_change(make_client) -> None:
    reader = await make_client(READ_KEY)
    assert (await reader.get(API)).status_code == 200
    assert (await reader.put(f"{API}/k", json={"concurrency": 1})).status_code == 403
    assert (await reader.delete(f"{API}/k")).status_code == 403


async def test_prometheus_gauges_throttled_by_limit_and_unserved_by_name(
    client: httpx.AsyncClient, service: JobService
) -> None:
    """A template is one series, not one per key it covers."""
    await client.put(f"{API}/user:*", json={"concurrency": 1})
    for user in ("1", "1", "2", "2"):
        await client.post("/api/v1/jobs", json={"name": "sync", "limit": f"user:{user}"})
    await client.post("/api/v1/jobs", json={"name": "resize"})
    assert len((await service.backend.claim("w1", 10, 30.0, ["sync"])).jobs) == 2
    got = parse((await client.get("/metrics")).text)
    assert got[("jobdeck_jobs_throttled", (("limit", "user:*"), ("queue", "default")))] == 2
    assert got[("jobdeck_jobs_unserved", (("job_name", "resize"), ("queue", "default")))] == 1
    assert not [key for key in got if key[0] == "jobdeck_jobs_throttled" and len(key[1]) != 2]
