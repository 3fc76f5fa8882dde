"""`meta` and `result_ttl` over the HTTP API: submitted in a body (one job or a batch),
returned with the job, refused with one problem naming the field when bad."""

from __future__ import annotations

import httpx
import pytest

from jobdeck.core import JobService

pytestmark = pytest.mark.timeout(60)
API = "/api/v1"


async def test_meta_and_result_ttl_go_in_and_come_back(client: httpx.AsyncClient) -> None:
    body = {"name": "mail", "meta": {"tenant": "acme", "trace": ["t", 1]}, "result_ttl": 90}
    reply = await client.post(f"{API}/jobs", json=body)
    assert reply.status_code == 201, reply.text
    job = (await client.get(reply.headers["location"])).json()
    assert job["meta"] == {"tenant": "acme", "trace": ["t", 1]} and job["result_ttl"] == 90.0
    plain = (await client.post(f"{API}/jobs", json={"name": "mail"})).json()["id"]
    job = (await client.get(f"{API}/jobs/{plain}")).json()
    assert job["meta"] == {} and job["result_ttl"] is None
    listed = (await client.get(f"{API}/jobs", params={"status": "pending"})).json()["jobs"]
    assert {j["id"]: j["meta"] for j in listed}[reply.json()["id"]]["tenant"] == "acme"
    found = (await client.get(f"{API}/search", params={"text": "acme"})).json()
    assert [j["id"] for j in found["jobs"]] == [reply.json()["id"]]
    batch = await client.post(
        f"{API}/jobs/batch", json={"jobs": [{"name": "b", "meta": {"n": 1}, "result_ttl": 5}]}
    )
    [batch_id] = batch.json()["ids"]
    job = (await client.get(f"{API}/jobs/{batch_id}")).json()
    assert job["meta"] == {"n": 1} and job["result_ttl"] == 5.0


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"name": "x", "meta": [1]}, "body.meta", None),
        ({"name": "x", "meta": "acme"}, "body.meta", None),
        ({"name": "x", "meta": {"x": "y" * 5000}}, "body.meta", "5008 bytes of JSON, at most 4096"),
        ({"name": "x", "result_ttl": 0}, "body.result_ttl", None),
        ({"name": "x", "result_ttl": -1}, "body.result_ttl", None),
        ({"name": "x", "result_ttl": "60"}, "body.result_ttl", None),
    ],
)
async def test_bad_meta_or_result_ttl_is_one_problem_and_nothing_written(
    client: httpx.AsyncClient, service: JobService, body: dict, field: str, detail: str | None
) -> None:
    reply = await client.post(f"{API}/jobs", json=body)
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert problem["field"] == field, problem
    assert detail is None or detail in problem["detail"]
    batch = await client.post(f"{API}/jobs/batch", json={"jobs": [{"name": "ok"}, body]})
    assert batch.status_code == 422
    assert batch.json()["field"] == field.replace("body.", "body.jobs[1].")
    assert (await service.get_metrics(1)).totals.get("submitted", 0) == 0


async def test_the_openapi_document_lists_meta_and_result_ttl(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert {"meta", "result_ttl"} <= set(schema["JobIn"]["properties"])
    assert {"meta", "result_ttl"} <= set(schema["JobOut"]["properties"])
