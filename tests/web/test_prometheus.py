"""`/metrics` parsed back with prometheus_client's own parser: the figures are the API's, read
from the queue's server, so two API processes over one Redis report the same."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobdeck.core import JobService
from jobdeck.web import create_app

from ..waiting import finished

pytestmark = pytest.mark.timeout(60)


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_metrics_match_the_api(client: httpx.AsyncClient, service: JobService) -> None:
    def boom() -> None:
        raise RuntimeError("no")

    service.register_handler("ok", lambda: None)
    service.register_handler("boom", boom)
    await service.start_workers(3)
    ids = [(await client.post("/api/v1/jobs", json={"name": "ok"})).json()["id"] for _ in "abc"]
    ids.append((await client.post("/api/v1/jobs", json={"name": "boom"})).json()["id"])
    for job_id in ids:
        await finished(service, job_id)
    await client.post("/api/v1/jobs", json={"name": "later", "delay": 300})
    await client.post("/api/v1/queue/pause")

    reply = await client.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    got = parse(reply.text)
    api = (await client.get("/api/v1/jobs/metrics")).json()
    q = (("queue", "default"),)
    assert got[("jobdeck_jobs_submitted_total", q)] == api["totals"]["submitted"] == 5
    assert got[("jobdeck_jobs_completed_total", q)] == 3
    assert got[("jobdeck_jobs_dead_lettered_total", q)] == 1
    assert got[("jobdeck_jobs_failed_total", q)] == 1
    assert got[("jobdeck_jobs_dead_letters_dropped_total", q)] == 0
    for status, depth in api["depths"].items():
        assert got[("jobdeck_jobs", (("queue", "default"), ("status", status)))] == depth
    assert got[("jobdeck_jobs", (("queue", "default"), ("status", "scheduled")))] == 1
    assert got[("jobdeck_queue_paused", q)] == 1
    assert got[("jobdeck_workers", q)] == 1 and got[("jobdeck_worker_concurrency", q)] == 3
    for kind in ("wait", "run"):
        count = got[(f"jobdeck_job_{kind}_seconds_count", q)]
        assert count == 4, kind  # four attempts started and finished
        inf = (("le", "+Inf"), ("queue", "default"))
        assert got[(f"jobdeck_job_{kind}_seconds_bucket", inf)] == count
        assert got[(f"jobdeck_job_{kind}_seconds_sum", q)] < 60
    buckets = [v for (name, labels), v in got.items() if name == "jobdeck_job_run_seconds_bucket"]
    assert buckets == sorted(buckets)  # cumulative
    for job_id in ids:
        assert job_id not in reply.text  # never an id as a label


async def test_two_api_processes_agree(redis_url: str, prefix: str) -> None:
    async with (
        JobService(redis_url, prefix=prefix) as one,
        JobService(redis_url, prefix=prefix) as two,
    ):
        await one.submit_jobs([{"name": "a"}] * 7)
        texts = []
        for svc in (one, two):
            transport = httpx.ASGITransport(app=create_app(svc))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                texts.append(parse((await http.get("/metrics")).text))
        key = ("jobdeck_jobs_submitted_total", (("queue", "default"),))
        assert texts[0][key] == texts[1][key] == 7


async def test_completed_and_failed_by_job_name_with_a_bounded_label(
    client: httpx.AsyncClient, service: JobService
) -> None:
    def boom() -> None:
        raise RuntimeError("no")

    service.register_handler("ok", lambda: None)
    service.register_handler("boom", boom)
    await service.start_workers(2)
    ids = await service.submit_jobs([{"name": "ok"}] * 2 + [{"name": "boom", "max_retries": 1}])
    for job_id in ids:
        await finished(service, job_id)
    got = parse((await client.get("/metrics")).text)
    ok = (("job_name", "ok"), ("queue", "default"))
    boom_ = (("job_name", "boom"), ("queue", "default"))
    assert got[("jobdeck_jobs_completed_by_name_total", ok)] == 2
    assert got[("jobdeck_jobs_failed_by_name_total", ok)] == 0
    assert got[("jobdeck_jobs_failed_by_name_total", boom_)] == 2  # both attempts
    names = {dict(labels).get("job_name") for (metric, labels) in got if "by_name" in metric}
    assert names == {"ok", "boom"}
