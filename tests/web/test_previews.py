"""Lists send previews: a job's value over 8 KiB stays on the server and is named with its
size in `omitted` (a page of 50 jobs with 50 MB arguments was hundreds of MB); the job's
own page (GET /jobs/{id}) sends it whole."""

from __future__ import annotations

import httpx
import pytest

from jobdeck.core import JobFailed, JobService

pytestmark = pytest.mark.timeout(60)
API = "/api/v1"
BIG = "x" * 1_000_000


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest, prefix: str) -> str:
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return f"memory://{prefix}"


async def test_lists_send_previews_and_the_job_page_the_whole(
    client: httpx.AsyncClient, service: JobService
) -> None:
    big = await service.submit_job("big", [BIG], {"k": BIG})
    small = await service.submit_job("small", [1, 2], {"k": "v"})
    page = await client.get(f"{API}/jobs", params={"limit": 500})
    assert len(page.content) < 20_000, len(page.content)
    jobs = {job["id"]: job for job in page.json()["jobs"]}
    assert jobs[big]["args"] == [] and jobs[big]["kwargs"] == {}
    assert jobs[big]["omitted"]["args"] > 1_000_000 and jobs[big]["omitted"]["kwargs"] > 1_000_000
    assert jobs[small]["args"] == [1, 2] and jobs[small]["omitted"] == {}
    named = await client.get(f"{API}/jobs", params={"name": "big"})
    assert len(named.content) < 20_000 and named.json()["jobs"][0]["omitted"]
    found = await client.get(f"{API}/search", params={"text": "big"})
    assert found.status_code == 200 and len(found.content) < 20_000
    whole = (await client.get(f"{API}/jobs/{big}")).json()
    assert whole["args"] == [BIG] and whole["kwargs"] == {"k": BIG} and whole["omitted"] == {}


async def test_dead_letters_send_previews(client: httpx.AsyncClient, service: JobService) -> None:
    def fail(text: str) -> None:
        raise RuntimeError(text)

    service.register_handler("fail", fail)
    job_id = await service.submit_job("fail", [BIG])
    await service.start_workers(1)
    try:
        with pytest.raises(JobFailed):
            await service.result(job_id, timeout=20)
    finally:
        await service.stop_workers()
    page = await client.get(f"{API}/jobs/dead-letters")
    assert len(page.content) < 20_000
    [dead] = page.json()["jobs"]
    assert dead["args"] == [] and set(dead["omitted"]) >= {"args", "error"}


async def test_a_waiting_jobs_long_parent_list_is_a_preview_too(
    client: httpx.AsyncClient, service: JobService
) -> None:
    """A variant: ids, not values. Jobs waiting for 10,000 parents each (~200 KB of ids): a
    list names the size, the job's page counts them and lists the first 50 with statuses."""
    from jobdeck.core.submission import JobSpec

    await service.pause_queue()
    parents = await service.submit_jobs([JobSpec("p", [n]) for n in range(10_000)])
    children = [await service.submit_job("c", [n], after=parents) for n in range(3)]
    page = await client.get(f"{API}/jobs", params={"status": "waiting", "limit": 500})
    assert len(page.content) < 20_000, len(page.content)
    listed = page.json()["jobs"]
    assert {job["id"] for job in listed} == set(children)
    assert all(job["parents"] == [] and job["omitted"]["after"] > 200_000 for job in listed)
    whole = (await client.get(f"{API}/jobs/{children[0]}")).json()
    assert whole["parents_total"] == 10_000 and len(whole["parent_statuses"]) == 50
