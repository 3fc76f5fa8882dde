"""Workflows over the HTTP API (issue 23): `after`, `on_parent_failure` and `expires` in a
job's body, POST /chains and /groups, a job's parents and children in GET /jobs/{id}, the
waiting and expired counts, all in the OpenAPI document; bad ones one problem naming the
field, nothing written."""

from __future__ import annotations

import httpx
import pytest

from jobdeck.core import JobService

pytestmark = pytest.mark.timeout(60)
API = "/api/v1"


async def test_a_job_after_another_shows_its_family(client: httpx.AsyncClient) -> None:
    parent = (await client.post(f"{API}/jobs", json={"name": "a", "delay": 600})).json()["id"]
    reply = await client.post(
        f"{API}/jobs",
        json={"name": "b", "after": [parent], "on_parent_failure": "run", "expires": 3600},
    )
    assert reply.status_code == 201, reply.text
    child = reply.json()["id"]
    job = (await client.get(f"{API}/jobs/{child}")).json()
    assert job["status"] == "waiting" and job["parents"] == [parent]
    assert job["waiting_for"] == 1 and job["on_parent_failure"] == "run"
    assert job["expires_at"] > job["created_at"] + 3500
    assert job["parent_statuses"] == [{"id": parent, "status": "scheduled"}]
    parent_page = (await client.get(f"{API}/jobs/{parent}")).json()
    assert parent_page["children"] == [{"id": child, "status": "waiting"}]
    assert parent_page["children_total"] == 1 and parent_page["parents_total"] == 0
    listed = (await client.get(f"{API}/jobs", params={"status": "waiting"})).json()
    assert [j["id"] for j in listed["jobs"]] == [child] and listed["total"] == 1
    depths = (await client.get(f"{API}/jobs/metrics")).json()["depths"]
    assert depths["waiting"] == 1 and depths["expired"] == 0
    metrics = (await client.get("/metrics")).text
    assert 'jobdeck_jobs{queue="default",status="waiting"} 1.0' in metrics
    assert 'jobdeck_jobs{queue="default",status="expired"} 0.0' in metrics


async def test_chains_and_groups(client: httpx.AsyncClient, service: JobService) -> None:
    reply = await client.post(
        f"{API}/chains",
        json={"jobs": [{"name": "a"}, {"name": "b"}, {"name": "c"}], "pass_results": True},
    )
    assert reply.status_code == 201, reply.text
    ids = reply.json()["ids"]
    jobs = [(await client.get(f"{API}/jobs/{i}")).json() for i in ids]
    assert [j["parents"] for j in jobs] == [[], [ids[0]], [ids[1]]]
    reply = await client.post(
        f"{API}/groups", json={"jobs": [{"name": "x"}, {"name": "y"}], "then": {"name": "sum"}}
    )
    assert reply.status_code == 201, reply.text
    group = reply.json()
    then = (await client.get(f"{API}/jobs/{group['then_id']}")).json()
    assert then["parents"] == group["ids"] and then["status"] == "waiting"

    @service.handler("x")
    @service.handler("y")
    async def one() -> int:
        return 1

    @service.handler("sum")
    async def total(results: list[int]) -> int:
        return sum(results)

    await service.start_workers(2)
    assert await service.result(group["then_id"], timeout=10) == 2


@pytest.mark.parametrize(
    ("path", "body", "field", "detail"),
    [
        ("/jobs", {"name": "x", "after": "abc"}, "body.after", None),
        ("/jobs", {"name": "x", "after": []}, "body.after", None),
        ("/jobs", {"name": "x", "after": {"id": "a"}}, "body.after", None),
        ("/jobs", {"name": "x", "after": [f"j{i}" for i in range(1_000_000)]}, "body.after",
         None),
        ("/jobs", {"name": "x", "expires": -5}, "body.expires", None),
        ("/groups", {"jobs": [{"name": "a"}], "then": {"name": "t", "expires": -1}},
         "body.then.expires", None),
        ("/groups", {"jobs": [{"name": "a", "meta": {"x": "y" * 5000}}]}, "body.jobs[0].meta",
         "at most 4096"),
        ("/jobs", {"name": "x", "after": ["nope"]}, "body.after", "no job 'nope'"),
        ("/jobs", {"name": "x", "after": ["a", "a"]}, "body.after", "listed twice"),
        ("/jobs", {"name": "x", "on_parent_failure": "maybe"}, "body.on_parent_failure", None),
        ("/jobs", {"name": "x", "expires": 0}, "body.expires", None),
        ("/jobs", {"name": "x", "expires": 5, "delay": 10}, "body.expires", "could never start"),
        ("/groups", {"jobs": []}, "body.jobs", None),
        ("/chains", {"jobs": []}, "body.jobs", None),
        # a chain's or group's jobs wait for what it says: `after` is not in their schema
        ("/chains", {"jobs": [{"name": "a"}, {"name": "b", "after": ["z"]}]}, "body.jobs[1].after",
         "not permitted"),
        ("/groups", {"jobs": [{"name": "a"}], "then": {"name": "b", "after": ["a"]}},
         "body.then.after", "not permitted"),
        ("/jobs", {"name": "x", "on_parent_failure": "run"}, "body.on_parent_failure",
         "only with after"),
        # the core's message names the place within the body, and so does the problem
        ("/groups", {"jobs": [{"name": "a"}], "then": {"name": "b", "delay": 9, "expires": 1}},
         "body.then.expires", "could never start"),
    ],
)
async def test_bad_workflow_bodies_are_one_problem_and_nothing_written(
    client: httpx.AsyncClient, service: JobService, path: str, body: dict, field: str,
    detail: str | None,
) -> None:
    reply = await client.post(f"{API}{path}", json=body)
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert problem["field"] == field, problem
    assert detail is None or detail in problem["detail"], problem
    assert (await service.get_metrics(1)).totals.get("submitted", 0) == 0


async def test_the_openapi_document_has_the_workflow_shapes(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    job_in = doc["components"]["schemas"]["JobIn"]["properties"]
    assert {"after", "on_parent_failure", "expires"} <= job_in.keys()
    assert "/api/v1/chains" in doc["paths"] and "/api/v1/groups" in doc["paths"]
    schemas = doc["components"]["schemas"]
    assert "after" not in schemas["MemberIn"]["properties"]  # refused in a chain or group
    assert "after" not in schemas["ThenIn"]["properties"]  # it runs after the group
    assert "on_parent_failure" in schemas["ThenIn"]["properties"]
    # on_parent_failure other than "fail" only with after: the document says it
    assert {"required": ["after"], "properties": {"after": {"type": "array"}}} in schemas[
        "JobIn"
    ]["anyOf"]
    job_out = doc["components"]["schemas"]["JobOut"]["properties"]
    assert {"parents", "children", "parent_statuses", "expires_at", "waiting_for"} <= set(job_out)
    statuses = doc["components"]["schemas"]["JobOut"]["properties"]["status"]
    assert "waiting" in str(statuses) and "expired" in str(statuses)
