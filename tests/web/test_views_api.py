"""The API routes the dashboard's views need, over both engines through the ASGI app: a
job's events, search, acting on many jobs, running a delayed job now, every queue's
overview and the queue's history."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from jobdeck.core import JobService
from jobdeck.web import create_app
from jobdeck.web.queues import QueueServices

from ..waiting import eventually, finished
from .conftest import OPERATE_KEY, keyed_auth

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


async def test_search_finds_partial_names_args_errors_and_id_prefixes(
    client: httpx.AsyncClient, service: JobService
) -> None:
    ids = await service.submit_jobs(
        [
            {"name": "send_invoice", "args": [17]},
            {"name": "resize", "kwargs": {"path": "/img/Holiday.png"}},
            {"name": "other", "job_id": "order-42:mail"},
        ]
    )
    await service.submit_job("late", delay=600)

    async def found(**params: object) -> list[str]:
        reply = await client.get(f"{API}/search", params=params)
        assert reply.status_code == 200, reply.text
        return [job["name"] for job in reply.json()["jobs"]]

    assert await found(text="INVOICE") == ["send_invoice"]
    assert await found(text="holiday") == ["resize"]
    assert await found(text="order-42") == ["other"]
    assert await found(text="late") == ["late"]
    assert await found(text="late", status="pending") == []
    assert await found(text="late", status=["pending", "scheduled"]) == ["late"]
    assert ids[0] in [
        j["id"] for j in (await client.get(f"{API}/search", params={"text": ids[0]})).json()["jobs"]
    ]


async def test_search_goes_in_bounded_steps_with_a_cursor(
    client: httpx.AsyncClient, service: JobService
) -> None:
    await service.submit_jobs([{"name": f"job{n}", "args": [n % 3]} for n in range(30)])
    seen, cursor, steps = [], None, 0
    while True:
        params = {"text": "job", "budget": 7, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{API}/search", params=params)).json()
        assert page["scanned"] <= 7
        seen += [job["name"] for job in page["jobs"]]
        steps += 1
        cursor = page["cursor"]
        if cursor is None:
            break
    assert steps >= 5 and sorted(seen) == sorted(f"job{n}" for n in range(30))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "query.text"),
        ({"text": ""}, "query.text"),
        ({"text": "x", "status": "lost"}, "query.status[0]"),
        ({"text": "x", "cursor": "nowhere"}, "query.cursor"),
        ({"text": " \t"}, "query.text"),
        ({"text": "x", "budget": 0}, "query.budget"),
    ],
)
async def test_search_refuses_bad_input(
    client: httpx.AsyncClient, params: dict, field: str
) -> None:
    reply = await client.get(f"{API}/search", params=params)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field


async def test_run_now_queues_a_delayed_job_at_once(
    client: httpx.AsyncClient, service: JobService
) -> None:
    later = await service.submit_job("later", delay=600)
    reply = await client.post(f"{API}/jobs/{later}/run-now")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "pending"
    again = await client.post(f"{API}/jobs/{later}/run-now")
    assert again.status_code == 409 and "pending" in again.json()["detail"]
    assert (await client.post(f"{API}/jobs/nobody/run-now")).status_code == 404
    events = (await client.get(f"{API}/jobs/{later}/events")).json()["events"]
    assert events[-1]["type"] == "JOB_REQUEUED" and events[-1]["data"] == {"reason": "run_now"}


async def test_one_action_on_many_jobs(client: httpx.AsyncClient, service: JobService) -> None:
    @service.handler()
    async def fails() -> None:
        raise RuntimeError("no")

    dead = [await service.submit_job("fails") for _ in range(3)]
    await service.start_workers(2)
    for job_id in dead:
        await finished(service, job_id)
    await service.stop_workers()
    pending = await service.submit_job("nobody")
    later = [await service.submit_job("nobody", delay=600) for _ in range(2)]

    async def bulk(action: str, ids: list[str]) -> dict:
        reply = await client.post(f"{API}/jobs/bulk", json={"action": action, "ids": ids})
        assert reply.status_code == 200, reply.text
        return reply.json()

    reply = await bulk("retry", [*dead[:2], pending, "nobody"])
    assert (reply["count"], reply["done"], reply["skipped"]) == (2, dead[:2], [pending, "nobody"])
    assert (await bulk("run_now", [*later, pending]))["done"] == later
    assert (await bulk("delete", [dead[2], pending]))["done"] == [dead[2]]
    assert await service.get_job(dead[2]) is None
    cancelled = await bulk("cancel", [pending, *later, pending])
    assert cancelled["done"] == [pending, *later] and cancelled["skipped"] == []
    assert (await service.get_metrics(1)).depths["pending"] == 2  # the two retried


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "explode", "ids": ["a"]}, "body.action"),
        ({"action": "cancel", "ids": []}, "body.ids"),
        ({"action": "cancel", "ids": ["a b"]}, "body.ids[0]"),
        ({"action": "cancel", "ids": ["x"] * 1001}, "body.ids"),
        ({"action": "cancel"}, "body.ids"),
    ],
)
async def test_bulk_refuses_bad_input(client: httpx.AsyncClient, body: dict, field: str) -> None:
    reply = await client.post(f"{API}/jobs/bulk", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field


@pytest.fixture
async def queues_client(service: JobService) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose other queues' services are closed after the test (the ASGI
    transport runs no lifespan), so no connection is left to a finalizer."""
    app = create_app(service, auth=keyed_auth())
    headers = {"Authorization": f"Bearer {OPERATE_KEY}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield c
    await app.state.queues.close()


async def test_every_queue_of_the_prefix_under_its_own_routes(
    queues_client: httpx.AsyncClient, service: JobService
) -> None:
    client = queues_client
    other = service.for_queue("mail")
    try:
        mail_job = await other.submit_job("send", ["a@b"])
        await other.pause_queue()
        here = await service.submit_job("local")
        scoped = f"{API}/queues/mail"
        page = (await client.get(f"{scoped}/jobs")).json()
        assert [job["id"] for job in page["jobs"]] == [mail_job]
        assert [job["id"] for job in (await client.get(f"{API}/jobs")).json()["jobs"]] == [here]
        assert (await client.get(f"{scoped}/jobs/{here}")).status_code == 404
        assert (await client.get(f"{scoped}/jobs/metrics")).json()["paused"] is True
        assert (await client.get(f"{API}/jobs/metrics")).json()["paused"] is False
        submitted = await client.post(f"{scoped}/jobs", json={"name": "send"})
        assert submitted.headers["location"] == f"{scoped}/jobs/{submitted.json()['id']}"
        assert (await other.get_job(submitted.json()["id"])) is not None
        found = (await client.get(f"{scoped}/search", params={"text": "a@b"})).json()
        assert [job["id"] for job in found["jobs"]] == [mail_job]
        events = (await client.get(f"{scoped}/jobs/{mail_job}/events")).json()["events"]
        assert [e["type"] for e in events] == ["JOB_SUBMITTED"]
        assert (await client.post(f"{scoped}/queue/resume")).json() == {"paused": False}
        assert not (await other.get_metrics(1)).paused
        served = (await client.get(f"{API}/queues/{service.queue}/jobs")).json()["jobs"]
        assert [job["id"] for job in served] == [here]
    finally:
        await other.close()


@pytest.mark.parametrize(("queue", "status"), [("never-used", 404), ("bad name", 422)])
async def test_a_queue_the_prefix_does_not_have_is_refused(
    queues_client: httpx.AsyncClient, queue: str, status: int
) -> None:
    client = queues_client
    reply = await client.get(f"{API}/queues/{queue}/jobs")
    assert reply.status_code == status, reply.text
    assert reply.json()["field"] == "path.queue"


async def test_the_overview_of_every_queue(
    queues_client: httpx.AsyncClient, service: JobService
) -> None:
    client = queues_client
    other = service.for_queue("mail")
    try:
        await other.submit_jobs([{"name": "send"}, {"name": "send", "delay": 60}])
        await other.pause_queue()
        await service.submit_job("local")
        reply = (await client.get(f"{API}/queues/overview")).json()
        assert reply["current"] == service.queue and reply["omitted"] == 0
        by_name = {queue["name"]: queue for queue in reply["queues"]}
        assert sorted(by_name) == sorted(["mail", service.queue])
        mail = by_name["mail"]
        assert (mail["depths"]["pending"], mail["depths"]["scheduled"]) == (1, 1)
        assert mail["paused"] is True and by_name[service.queue]["paused"] is False
        assert mail["rates"]["submitted"] >= 0 and mail["workers"] == 0
        assert mail["worker_ids"] == [] and mail["throttled"] == mail["unserved"] == 0
        await other.set_limit("k", concurrency=0)  # nothing under "k" runs: it is held
        await other.submit_job("send", limit="k")
        await other.resume_queue()
        other.register_handler("send", lambda: None)
        await other.start_workers(1)

        async def throttled() -> int:
            reply = (await client.get(f"{API}/queues/overview")).json()
            return next(q for q in reply["queues"] if q["name"] == "mail")["throttled"]

        await eventually(throttled, what="the held job in the overview")
        await other.stop_workers()
    finally:
        await other.close()


async def test_the_server_keeps_a_bounded_number_of_other_queues_open(
    service: JobService,
) -> None:
    names = ["q1", "q2", "q3"]
    siblings = [service.for_queue(name) for name in names]
    for sibling in siblings:
        await sibling.submit_job("x")
    registry = QueueServices(service, max_open=2)
    try:
        first = await registry.get("q1")
        assert await registry.get("q1") is first  # kept open
        await registry.get("q2")
        hub = registry.hub(first)
        await registry.get("q3")  # past the bound: q1, the least recently used, is closed
        assert list(registry._open) == ["q2", "q3"]
        assert registry.hub(first) is not hub
        assert await registry.get(service.queue) is service
    finally:
        await registry.close()
        for sibling in siblings:
            await sibling.close()


async def test_history_per_minute_and_per_hour_and_counts_per_name(
    client: httpx.AsyncClient, service: JobService
) -> None:
    @service.handler()
    async def ok() -> int:
        return 1

    ids = await service.submit_jobs([{"name": "ok"}] * 3)
    await service.start_workers(1)
    for job_id in ids:
        await finished(service, job_id)
    day = (await client.get(f"{API}/history")).json()
    assert day["step"] == 60 and len(day["completed"]) == 1440 and sum(day["completed"]) == 3
    month = (await client.get(f"{API}/history", params={"step": "hour", "count": 1000})).json()
    assert month["step"] == 3600 and len(month["submitted"]) == 720
    assert sum(month["submitted"]) == 3 and month["start"] % 3600 == 0
    metrics = (await client.get(f"{API}/jobs/metrics")).json()
    assert metrics["by_name"] == {"ok": {"completed": 3, "failed": 0}}
    reply = await client.get(f"{API}/history", params={"step": "week"})
    assert reply.status_code == 422 and reply.json()["field"] == "query.step"
