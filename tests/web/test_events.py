"""Live events over SSE: a real `jobdeck serve`, a real worker process producing events, and
a client that disconnects and resumes with Last-Event-ID without a gap or a duplicate. The
hub's edge cases (trimmed log, slow client, heartbeats, filters) are driven directly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from jobdeck.core import BackendSettings, JobService
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.web.sse import EventHub

from ..waiting import eventually
from ..worker_process import WorkerProcess
from .serve_process import ServeProcess

pytestmark = pytest.mark.timeout(90)


async def frames(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """SSE frames as dicts of their fields (comments under ":")."""
    frame: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if frame:
                yield frame
            frame = {}
            continue
        name, _, value = line.partition(":")
        frame[name or ":"] = value[1:] if value.startswith(" ") else value


async def read_events(response: httpx.Response, count: int) -> list[dict[str, str]]:
    got: list[dict[str, str]] = []
    async for frame in frames(response):
        if "id" in frame:
            got.append(frame)
            if len(got) == count:
                break
    return got


@pytest.mark.slow
async def test_resume_with_last_event_id_misses_nothing(redis_url: str, prefix: str) -> None:
    env = {"JOBDECK_API_KEYS": "", "JOBDECK_TEST_URL": redis_url}
    worker = WorkerProcess("tests.apps.tasks:service", redis_url, queue="apps", prefix=prefix)
    async with JobService(redis_url, queue="apps", prefix=prefix) as truth:
        start = await truth.last_event_id()
        with ServeProcess(
            "--url", redis_url, "--queue", "apps", "--prefix", prefix, env=env
        ) as srv:
            worker.start()
            try:
                async with httpx.AsyncClient(base_url=srv.base_url, timeout=30) as http:
                    async with http.stream("GET", "/api/v1/events") as first:
                        assert first.headers["content-type"].startswith("text/event-stream")
                        for i in range(10):
                            await http.post("/api/v1/jobs", json={"name": "add", "args": [i, 1]})
                        seen = await read_events(first, 12)  # then hang up mid-flow
                    for i in range(10):  # while disconnected
                        await http.post("/api/v1/jobs", json={"name": "add", "args": [i, 2]})

                    async def all_done() -> bool:
                        return (await truth.get_metrics(1)).depths["completed"] == 20

                    await eventually(all_done, 30, "20 jobs completed")
                    log = [e.id async for e in _log(truth, start)]
                    resumed_at = seen[-1]["id"]
                    headers = {"Last-Event-ID": resumed_at}
                    async with http.stream("GET", "/api/v1/events", headers=headers) as second:
                        rest = await read_events(second, log.index(log[-1]) - log.index(resumed_at))
            finally:
                worker.stop()
    ids = [frame["id"] for frame in seen + rest]
    log = log[log.index(ids[0]) :]  # from the first event after the client connected
    assert ids == log, "the two connections together are the log: no gap, no duplicate"
    kinds = {json.loads(frame["data"])["type"] for frame in seen + rest}
    assert {"JOB_SUBMITTED", "JOB_STARTED", "JOB_COMPLETED"} <= kinds
    assert all(frame["event"] == json.loads(frame["data"])["type"] for frame in seen + rest)


async def _log(service: JobService, start: str) -> AsyncIterator:
    """Every event after `start` that is in the log now."""
    last = await service.last_event_id()
    async for event in service.events(after=start):
        yield event
        if event.id == last:
            return


@pytest.fixture
async def small_log(prefix: str) -> AsyncIterator[JobService]:
    settings = BackendSettings(events_maxlen=10)
    async with JobService(f"memory://{prefix}", prefix=prefix, settings=settings) as service:
        yield service
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


async def _take(stream: AsyncIterator[bytes], n: int) -> list[bytes]:
    out = []
    async for chunk in stream:
        out.append(chunk)
        if len(out) == n:
            break
    return out


async def test_resume_after_trimmed_ids_sends_reset(small_log: JobService) -> None:
    first = await small_log.submit_job("x")
    first_id = await small_log.last_event_id()
    for _ in range(20):
        await small_log.submit_job("x")
    assert await small_log.events_lost_after(first_id)
    hub = EventHub(small_log)
    stream = hub.stream(first_id, None, heartbeat=5)
    chunks = await _take(stream, 12)
    await stream.aclose()
    assert chunks[0].startswith(b"retry:")
    assert chunks[1].startswith(b"event: reset\n") and b'"trimmed"' in chunks[1]
    assert len(chunks[2:]) == 10  # then every event the log still keeps
    assert first.encode() not in b"".join(chunks[2:])
    assert not hub.clients and hub._task is None  # the last client gone, the reader stops


async def test_heartbeat_filter_and_slow_client(small_log: JobService) -> None:
    hub = EventHub(small_log, client_buffer=3)
    quiet = hub.stream(None, ["JOB_CANCELLED"], heartbeat=0.05)
    assert (await quiet.__anext__()).startswith(b"retry:")
    job_id = await small_log.submit_job("x")  # filtered out
    assert await quiet.__anext__() == b": keep-alive\n\n"
    await small_log.cancel_job(job_id)
    cancelled = await asyncio.wait_for(quiet.__anext__(), 5)
    assert cancelled.startswith(b"id: ") and b"event: JOB_CANCELLED\n" in cancelled

    slow = hub.stream(None, None, heartbeat=5)
    await slow.__anext__()
    for _ in range(6):
        await small_log.submit_job("x")
    got = await asyncio.wait_for(_take(slow, 10), 5)
    assert got[-1].startswith(b"event: lagged")  # told, then the stream ends
    await quiet.aclose()


async def test_bad_resume_id_and_types_are_422(prefix: str) -> None:
    from jobdeck.web import create_app

    async with JobService(f"memory://{prefix}", prefix=prefix) as service:
        app = create_app(service)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            bad = await http.get("/api/v1/events", headers={"Last-Event-ID": "yesterday"})
            assert bad.status_code == 422 and bad.json()["field"] == "header.last-event-id"
            bad = await http.get("/api/v1/events", params={"types": "A\r\nB"})
            assert bad.status_code == 422 and bad.json()["field"] == "query.types"
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


async def test_summaries_are_pushed_when_they_change_and_only_then(small_log: JobService) -> None:
    """A client asking for `workers` gets the server's read at once, nothing while the read
    gives the same, the new one when it changes; the reads stop when no client wants them."""
    from jobdeck.web.summaries import SummaryFeed

    payload = {"workers": [], "omitted": 0}
    reads = 0

    async def read() -> dict:
        nonlocal reads
        reads += 1
        return payload

    hub = EventHub(small_log, summaries=SummaryFeed(interval=0.01))
    hub.summaries.provide("workers", read)
    plain = hub.stream(None, None, heartbeat=5)  # asked for none: gets none
    assert (await plain.__anext__()).startswith(b"retry:")
    stream = hub.stream(None, None, heartbeat=5, summaries=["workers"])
    assert (await stream.__anext__()).startswith(b"retry:")
    first = await asyncio.wait_for(stream.__anext__(), 5)
    assert first == b'event: workers\ndata: {"workers":[],"omitted":0}\n\n'
    seen = reads

    async def read_again() -> bool:
        return reads >= seen + 3

    await eventually(read_again, what="more reads")  # the same each time: nothing sent
    payload = {"workers": [{"id": "w1"}], "omitted": 0}
    changed = await asyncio.wait_for(stream.__anext__(), 5)
    assert changed == b'event: workers\ndata: {"workers":[{"id":"w1"}],"omitted":0}\n\n'
    late = hub.stream(None, None, heartbeat=5, summaries=["workers"])
    await late.__anext__()
    assert await asyncio.wait_for(late.__anext__(), 5) == changed  # the latest, at once
    plain_client = next(c for c in hub.clients if not c.summaries)
    assert not plain_client.frames
    await stream.aclose()
    await late.aclose()
    assert hub.summaries._task is None  # nobody wants them: no more reads
    await plain.aclose()
