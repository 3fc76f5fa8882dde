"""What a job carries besides its call (issue 23, section 2): `meta`, a small JSON object kept,
shown, handed to the handler and found by search; `result_ttl`, how long this job's record is
kept once it completed, in place of the queue's setting. On both engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobdeck.core import JobService, JobSpec, SyncJobService, WorkerSettings, current_job
from jobdeck.core.backend import BackendSettings
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.keeping import MAX_META_BYTES

from .waiting import eventually

pytestmark = pytest.mark.timeout(30)

FAST = WorkerSettings(lease=5.0, heartbeat_interval=0.5)


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest, prefix: str) -> Any:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/k")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(url, "k", prefix, worker_settings=FAST) as service:
        yield service


async def _raw(service: JobService, job_id: str) -> dict[str, Any]:
    fields = await service.backend.get(job_id)
    assert fields is not None
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in fields.items()}


async def test_meta_is_kept_shown_and_handed_to_the_handler(service: JobService) -> None:
    seen: list[dict[str, Any]] = []

    @service.handler()
    async def bill(amount: int) -> int:
        seen.append(current_job().job.meta)
        return amount

    meta = {"tenant": "acme", "trace": {"id": "t-1"}, "tags": ["a", "ü"]}
    job_id = await service.submit_job("bill", [3], meta=meta)
    job = await service.get_job(job_id)
    assert job is not None and job.meta == meta
    assert job.to_dict()["meta"] == meta
    [listed] = await service.list_jobs("pending")
    assert listed.meta == meta
    await service.start_workers(1)
    assert await service.result(job_id, timeout=10) == 3
    assert seen == [meta]  # the claim carries it: middleware and handlers read it
    done = await service.get_job(job_id)
    assert done is not None and done.meta == meta


async def test_a_job_without_meta_or_result_ttl_stores_nothing_more(service: JobService) -> None:
    plain = await service.submit_job("noop")
    empty = await service.submit_job("noop", meta={})
    for job_id in (plain, empty):
        fields = await _raw(service, job_id)
        assert "meta" not in fields and "rttl" not in fields
        job = await service.get_job(job_id)
        assert job is not None and job.meta == {} and job.result_ttl is None


async def test_search_finds_a_job_by_its_meta(service: JobService) -> None:
    wanted = await service.submit_job("export", meta={"customer": "Zebra-Corp"})
    await service.submit_job("export", meta={"customer": "other"})
    await service.submit_job("export", ["zebra-corp"])  # found by its args, as before
    page = await service.search_jobs("zebra-corp")
    assert {job.id for job in page.jobs} >= {wanted}
    assert len(page.jobs) == 2
    page = await service.search_jobs("ZEBRA-CORP", ["pending"])
    assert wanted in {job.id for job in page.jobs}


async def test_a_bulk_submit_keeps_each_jobs_meta_and_ttl(service: JobService) -> None:
    ids = await service.submit_jobs(
        [
            JobSpec("a", meta={"n": 1}, result_ttl=60),
            {"name": "b", "meta": {"n": 2}},
            JobSpec("c"),
        ]
    )
    jobs = [await service.get_job(job_id) for job_id in ids]
    assert [(j.meta, j.result_ttl) for j in jobs if j] == [
        ({"n": 1}, 60.0),
        ({"n": 2}, None),
        ({}, None),
    ]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"meta": [1, 2]}, TypeError, "meta: expected a JSON object (a dict), got list"),
        ({"meta": "x"}, TypeError, "meta: expected a JSON object (a dict), got str"),
        ({"meta": {1: "x"}}, TypeError, "meta: keys must be strings"),
        ({"meta": {"s": {1, 2}}}, TypeError, "meta: not JSON-serializable"),
        ({"meta": {"x": float("nan")}}, TypeError, "meta: not JSON-serializable"),
        (
            {"meta": {"x": "y" * MAX_META_BYTES}},
            ValueError,
            "meta: 4104 bytes of JSON, at most 4096",
        ),
        ({"result_ttl": 0}, ValueError, "result_ttl: must be a positive number of seconds, got 0"),
        ({"result_ttl": -5}, ValueError, "result_ttl: must be a positive number"),
        ({"result_ttl": float("inf")}, ValueError, "result_ttl: must be a positive number"),
        ({"result_ttl": 1e10}, ValueError, "result_ttl: at most 315360000 seconds"),
        ({"result_ttl": "60"}, TypeError, "result_ttl: expected a number of seconds, got str"),
        ({"result_ttl": True}, TypeError, "result_ttl: expected a number of seconds, got bool"),
    ],
)
async def test_bad_meta_or_result_ttl_is_one_clear_error_and_nothing_written(
    service: JobService, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        await service.submit_job("noop", **options)
    assert str(caught.value).startswith(message)
    with pytest.raises(error) as caught:
        await service.submit_jobs([JobSpec("noop"), {"name": "noop", **options}])
    assert str(caught.value).startswith(f"job 1: {message}")
    metrics = await service.get_metrics()
    assert sum(metrics.depths.values()) == 0


def test_meta_at_the_cap_is_accepted() -> None:
    from jobdeck.core.keeping import check_meta

    at_cap = {"x": "y" * (MAX_META_BYTES - 8)}  # {"x":"…"} is 8 bytes besides the value
    assert check_meta(at_cap) is not None and len(check_meta(at_cap) or b"") == MAX_META_BYTES


async def test_a_shorter_result_ttl_drops_the_job_early(service: JobService) -> None:
    service.register_handler("noop", lambda: "ok")
    await service.start_workers(1)
    short = await service.submit_job("noop", result_ttl=0.3)
    kept = await service.submit_job("noop")
    assert await service.result(short, timeout=10) == "ok"
    assert await service.result(kept, timeout=10) == "ok"
    job = await service.get_job(short)
    assert job is not None and job.result_ttl == 0.3

    async def gone() -> bool:
        return await service.get_job(short) is None

    await eventually(gone, timeout=5, what="the short-lived record to expire")
    assert await service.get_job(kept) is not None  # the queue's day


@pytest.mark.parametrize("engine", ["memory", "redis"])
async def test_a_longer_result_ttl_outlives_the_queues(
    engine: str, prefix: str, request: pytest.FixtureRequest
) -> None:
    """The queue keeps completed jobs 0.3 s here: a job with a ttl of its own leaves the
    Completed list with the others, but its record and result stay readable by id."""
    url = request.getfixturevalue("redis_url") if engine == "redis" else f"memory://{prefix}-long"
    settings = BackendSettings(result_ttl=0.3)
    async with JobService(url, "long", prefix, settings=settings, worker_settings=FAST) as svc:
        svc.register_handler("noop", lambda n: n)
        await svc.start_workers(1)
        long = await svc.submit_job("noop", [1], result_ttl=60)
        plain = await svc.submit_job("noop", [2])
        assert await svc.result(long, timeout=10) == 1
        assert await svc.result(plain, timeout=10) == 2
        await asyncio.sleep(0.4)
        # another finish trims the list by the queue's age
        assert await svc.result(await svc.submit_job("noop", [3]), timeout=10) == 3
        assert await svc.get_job(plain) is None
        listed = {job.id for job in await svc.list_jobs("completed")}
        assert long not in listed and plain not in listed
        job = await svc.get_job(long)
        assert job is not None and job.result == 1 and job.result_ttl == 60.0
        assert await svc.result(long, timeout=1) == 1
    if engine == "memory":
        MemoryBackend.forget(f"{prefix}-long/{prefix}/long")


def test_the_sync_service_passes_meta_and_result_ttl_on(prefix: str) -> None:
    with SyncJobService(f"memory://{prefix}-sync", "k", prefix) as client:
        job_id = client.submit_job("noop", meta={"who": "cron"}, result_ttl=5)
        job = client.get_job(job_id)
        assert job is not None and job.meta == {"who": "cron"} and job.result_ttl == 5.0
    MemoryBackend.forget(f"{prefix}-sync/{prefix}/k")


def test_the_cli_submits_and_shows_meta_and_result_ttl(redis_url: str, prefix: str) -> None:
    from click.testing import CliRunner

    from jobdeck.core.cli import main

    where = ["--url", redis_url, "--queue", "kcli", "--prefix", prefix]

    def cli(*args: str) -> Any:
        return CliRunner().invoke(main, list(args), env={"JOBDECK_URL": None})

    submitted = cli("submit", "noop", *where, "--meta", '{"tenant": "acme"}', "--result-ttl", "60")
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.output.strip()
    shown = cli("job", "show", job_id, *where)
    assert 'meta        {"tenant": "acme"}' in shown.output
    assert "result_ttl  60s once completed" in shown.output
    for meta, message in (
        ("[1]", "--meta: expected a JSON object"),
        ("{", "--meta: not valid JSON"),
        (f'{{"x": "{"y" * 5000}"}}', "meta: 5008 bytes of JSON, at most 4096"),
    ):
        refused = cli("submit", "noop", *where, "--meta", meta)
        assert refused.exit_code != 0 and message in refused.output, refused.output
        assert "Traceback" not in refused.output
    refused = cli("submit", "noop", *where, "--result-ttl", "0")
    assert "result_ttl: must be a positive number of seconds" in refused.output
