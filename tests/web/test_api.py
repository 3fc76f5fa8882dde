"""Every JSON endpoint over both engines, through the ASGI app: shapes, statuses, and that a
refused request writes nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from jobdeck.core import JobService

from ..waiting import eventually, finished

pytestmark = pytest.mark.timeout(60)
API = "/api/v1"


async def test_submit_read_and_list(client: httpx.AsyncClient, service: JobService) -> None:
    reply = await client.post(
        f"{API}/jobs",
        json={"name": "mail", "args": [1, "x"], "kwargs": {"to": "a"}, "priority": "high"},
    )
    assert reply.status_code == 201, reply.text
    job_id = reply.json()["id"]
    assert reply.headers["location"].endswith(f"/api/v1/jobs/{job_id}")
    job = (await client.get(reply.headers["location"])).json()
    assert (job["name"], job["status"], job["priority"]) == ("mail", "pending", "high")
    assert job["args"] == [1, "x"] and job["kwargs"] == {"to": "a"}
    assert job["timeline"][0]["what"] == "submitted"

    await client.post(f"{API}/jobs", json={"name": "other"})
    page = (await client.get(f"{API}/jobs", params={"status": "pending", "limit": 1})).json()
    assert page["total"] == 2 and len(page["jobs"]) == 1
    assert page["jobs"][0]["id"] == job_id  # high priority runs first
    named = (await client.get(f"{API}/jobs", params={"name": "other"})).json()
    assert [j["name"] for j in named["jobs"]] == ["other"] and named["total"] == 1


async def test_idempotent_submit_and_delay(client: httpx.AsyncClient) -> None:
    body = {"name": "once", "job_id": "order-17:mail"}
    first = await client.post(f"{API}/jobs", json=body)
    second = await client.post(f"{API}/jobs", json=body)
    assert first.json() == second.json() == {"id": "order-17:mail"}
    assert (await client.get(f"{API}/jobs")).json()["total"] == 1
    later = await client.post(f"{API}/jobs", json={"name": "later", "delay": 60, "priority": 3})
    job = (await client.get(f"{API}/jobs/{later.json()['id']}")).json()
    assert job["status"] == "scheduled" and job["priority"] == "critical"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"args": []}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "x", "priority": "urgent"}, "body.priority"),
        ({"name": "x", "max_retries": -1}, "body.max_retries"),
        ({"name": "x", "max_retries": "3"}, "body.max_retries"),
        ({"name": "x", "timeout": 0}, "body.timeout"),
        ({"name": "x", "job_id": "a b"}, "body.job_id"),
        ({"name": "x", "colour": "red"}, "body.colour"),
        ({"name": "x", "kwargs": []}, "body.kwargs"),
    ],
)
async def test_bad_submit_names_the_field_and_writes_nothing(
    client: httpx.AsyncClient, service: JobService, body: dict, field: str
) -> None:
    reply = await client.post(f"{API}/jobs", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert problem["field"] == field and problem["status"] == 422 and problem["detail"]
    assert (await service.get_metrics(1)).totals.get("submitted", 0) == 0


async def test_malformed_json_and_oversized_body(make_client) -> None:
    client = await make_client(max_body=1000)
    reply = await client.post(
        f"{API}/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 422 and reply.json()["field"].startswith("body")
    big = await client.post(f"{API}/jobs", json={"name": "x", "args": ["y" * 2000]})
    assert big.status_code == 413 and "1000 bytes" in big.json()["detail"]
    assert big.headers["content-type"] == "application/problem+json"


async def test_batch_all_or_nothing(client: httpx.AsyncClient, service: JobService) -> None:
    jobs = [{"name": "b", "args": [i]} for i in range(300)]
    reply = await client.post(f"{API}/jobs/batch", json={"jobs": jobs})
    assert reply.status_code == 201 and reply.json()["count"] == 300
    assert len(set(reply.json()["ids"])) == 300
    bad = [*jobs, {"name": "b", "priority": "nope"}]
    refused = await client.post(f"{API}/jobs/batch", json={"jobs": bad})
    assert refused.status_code == 422
    assert refused.json()["field"] == "body.jobs[300].priority"
    assert (await service.get_metrics(1)).totals["submitted"] == 300
    too_many = await client.post(f"{API}/jobs/batch", json={"jobs": [{"name": "b"}] * 10_001})
    assert too_many.status_code == 422 and too_many.json()["field"] == "body.jobs"


async def test_unknown_job_and_wrong_state(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{API}/jobs/nope")).status_code == 404
    assert (await client.delete(f"{API}/jobs/nope")).status_code == 404
    assert (await client.post(f"{API}/jobs/dead-letters/nope")).status_code == 404
    bad_id = await client.get(f"{API}/jobs/a%20b")
    assert bad_id.status_code == 422 and bad_id.json()["field"] == "path.job_id"
    job_id = (await client.post(f"{API}/jobs", json={"name": "x"})).json()["id"]
    retried = await client.post(f"{API}/jobs/dead-letters/{job_id}")
    assert retried.status_code == 409 and "not a dead letter" in retried.json()["detail"]
    cancelled = await client.delete(f"{API}/jobs/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    deleted = await client.delete(f"{API}/jobs/{job_id}")  # a finished job: deleted
    assert deleted.status_code == 200 and deleted.json()["status"] == "cancelled"
    assert (await client.get(f"{API}/jobs/{job_id}")).status_code == 404


async def test_dead_letters_retry_and_purge(client: httpx.AsyncClient, service: JobService) -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    service.register_handler("boom", boom)
    service.register_handler("ok", lambda: 1)
    await service.start_workers(2)
    ids = [(await client.post(f"{API}/jobs", json={"name": "boom"})).json()["id"] for _ in "ab"]
    ok = (await client.post(f"{API}/jobs", json={"name": "ok"})).json()["id"]
    for job_id in [*ids, ok]:
        await finished(service, job_id)
    await service.pause_queue()  # retried jobs stay pending, to be seen
    dead = (await client.get(f"{API}/jobs/dead-letters")).json()
    assert dead["total"] == 2 and {j["id"] for j in dead["jobs"]} == set(ids)
    assert dead["jobs"][0]["error"]["message"] == "boom"
    assert "RuntimeError" in dead["jobs"][0]["error"]["traceback"]
    one = await client.post(f"{API}/jobs/dead-letters/{ids[0]}")
    assert one.status_code == 200 and one.json()["status"] == "pending"
    rest = await client.post(f"{API}/jobs/dead-letters/retry-all")
    assert rest.json() == {"count": 1}
    purged = await client.delete(f"{API}/jobs", params={"status": "completed"})
    assert purged.json() == {"count": 1}
    assert (await client.get(f"{API}/jobs/{ok}")).status_code == 404
    bad = await client.delete(f"{API}/jobs", params={"status": "running"})
    assert bad.status_code == 422 and bad.json()["field"] == "query.status"


async def test_expired_jobs_purge_as_the_cli_purges_them(
    client: httpx.AsyncClient, service: JobService
) -> None:
    """`DELETE /jobs?status=expired` was a 422 ("completed, failed or cancelled") though an
    expired job is finished and `jobdeck purge expired` deletes them."""
    late = await service.submit_job("report", expires=0.05)
    await asyncio.sleep(0.1)
    await service.backend.claim("w1", 10, 30.0, ["nothing"])  # finds `late` expired
    assert (await client.get(f"{API}/jobs/{late}")).json()["status"] == "expired"
    purged = await client.delete(f"{API}/jobs", params={"status": "expired"})
    assert purged.status_code == 200 and purged.json() == {"count": 1}, purged.text
    assert (await client.get(f"{API}/jobs/{late}")).status_code == 404


async def test_metrics_workers_scale_pause(client: httpx.AsyncClient, service: JobService) -> None:
    await service.start_workers(2)
    workers = await eventually(
        lambda: _json(client.get(f"{API}/jobs/workers")), what="worker listed"
    )
    worker = workers["workers"][0]
    assert worker["concurrency"] == 2 and worker["id"] == service.pool.id
    assert worker["handlers"] == sorted(service.handlers)[:100]
    assert worker["handler_count"] == len(service.handlers)
    scaled = await client.post(f"{API}/jobs/workers/scale", json={"concurrency": 3})
    assert scaled.status_code == 200 and scaled.json()["told"] >= 1
    await eventually(lambda: _concurrency(service, 3), what="scaled to 3")
    delta = await client.post(
        f"{API}/jobs/workers/scale", json={"delta": -1, "worker_id": worker["id"]}
    )
    assert delta.json()["told"] == 1
    await eventually(lambda: _concurrency(service, 2), what="scaled to 2")
    both = await client.post(f"{API}/jobs/workers/scale", json={"delta": 1, "concurrency": 1})
    assert both.status_code == 422
    nobody = await client.post(f"{API}/jobs/workers/scale", json={"delta": 1, "worker_id": "zz"})
    assert nobody.status_code == 404

    assert (await client.post(f"{API}/queue/pause")).json() == {"paused": True}
    metrics = (await client.get(f"{API}/jobs/metrics", params={"window": 10})).json()
    assert metrics["paused"] is True and metrics["window"] == 10
    assert set(metrics["depths"]) >= {"pending", "running", "failed"}
    assert (await client.post(f"{API}/queue/resume")).json() == {"paused": False}
    assert (await client.get(f"{API}/jobs/metrics", params={"window": 0})).status_code == 422


async def _json(request) -> dict | None:
    reply = await request
    data = reply.json()
    return data if data.get("workers") else None


async def _concurrency(service: JobService, n: int) -> bool:
    await asyncio.sleep(0)
    return service.pool is not None and service.pool.concurrency == n


async def test_health_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    doc = (await client.get("/openapi.json")).json()
    assert "/api/v1/jobs/{job_id}" in doc["paths"] and "/api/v1/events" in doc["paths"]
    missing = await client.get(f"{API}/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (await client.put(f"{API}/jobs")).status_code == 405


async def test_unreachable_server_is_503_without_traceback(prefix: str) -> None:
    from jobdeck.web import create_app

    from ..redis_server import free_port

    service = JobService(f"redis://127.0.0.1:{free_port()}/0", prefix=prefix)
    app = create_app(service)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for method, path in [("GET", f"{API}/jobs"), ("POST", f"{API}/jobs"), ("GET", "/readyz")]:
            reply = await client.request(method, path, json={"name": "x"})
            assert reply.status_code == 503, reply.text
            assert reply.headers["retry-after"] == "5"
            assert "Traceback" not in reply.text and "File " not in reply.text
    await service.close()


async def test_queues_lists_every_queue_under_the_prefix(
    client: httpx.AsyncClient, service: JobService
) -> None:
    other = service.for_queue("reports")
    try:
        await other.submit_job("noop")
        await service.submit_job("noop")
        reply = await client.get("/api/v1/queues")
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["current"] == service.queue
        assert {service.queue, "reports"} <= set(body["queues"]), body
        assert body["queues"] == sorted(body["queues"])
    finally:
        await other.close()


def test_a_blank_name_is_what_the_core_calls_blank_in_every_regex_dialect() -> None:
    """The schema's name pattern decides "blank" as `str.strip` does, whichever regex dialect
    reads it: JSON Schema's (ECMA-262), the server's, Python's. With `\\S` they disagreed on
    U+0085 and U+FEFF, so a schema-valid name could be refused (a schemathesis run found it)."""
    import re

    from pydantic import ValidationError

    from jobdeck.web.models import NOT_BLANK, JobIn

    for char in ["a", "\u0085", "\ufeff", "\x1c", "\u3000", "\u200b", " ", "\t", "é", "\x00"]:
        blank = not char.strip()
        assert (re.search(NOT_BLANK, char) is None) is blank, repr(char)
        try:
            JobIn(name=char)
            assert not blank, f"accepted the blank name {char!r}"
        except ValidationError:
            assert blank, f"refused the name {char!r}"
