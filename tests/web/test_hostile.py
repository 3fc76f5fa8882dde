"""The hostile-string corpus through the API: stored and returned exactly as valid JSON,
never in a header, never breaking an SSE frame; what cannot be stored is a 422, not a 500."""

from __future__ import annotations

import json

import httpx
import orjson
import pytest

from jobdeck.core import JobService
from jobdeck.web.sse import EventHub

from ..hostile import HOSTILE_REQUESTS, LONG, STORABLE

pytestmark = pytest.mark.timeout(60)
API = "/api/v1"


async def test_corpus_round_trips_as_json(client: httpx.AsyncClient) -> None:
    submitted = {}
    for key, text in STORABLE.items():
        body = {"name": text, "args": [text, {text: text}], "kwargs": {text: [text]}}
        reply = await client.post(f"{API}/jobs", json=body)
        assert reply.status_code == 201, (key, reply.text)
        assert "\r" not in reply.headers["location"] and "\n" not in reply.headers["location"]
        submitted[reply.json()["id"]] = body
    page = await client.get(f"{API}/jobs", params={"limit": 500})
    json.loads(page.content)  # the strict parser: valid JSON, whatever the names
    for job_id, body in submitted.items():
        job = (await client.get(f"{API}/jobs/{job_id}")).json()
        assert {k: job[k] for k in body} == body
    for text in STORABLE.values():
        named = await client.get(f"{API}/jobs", params={"name": text})
        assert named.status_code == 200 and named.json()["total"] == 1, repr(text)


async def test_long_and_unstorable_values_are_refused_cleanly(client: httpx.AsyncClient) -> None:
    too_long = await client.post(f"{API}/jobs", json={"name": LONG})
    assert too_long.status_code == 422 and too_long.json()["field"] == "body.name"
    long_arg = await client.post(f"{API}/jobs", json={"name": "x", "args": [LONG]})
    assert long_arg.status_code == 201
    raw = b'{"name": "x", "args": ["bad\\udc80"]}'  # a lone surrogate: not UTF-8, not storable
    lone = await client.post(
        f"{API}/jobs", content=raw, headers={"content-type": "application/json"}
    )
    assert lone.status_code == 422 and "Traceback" not in lone.text, lone.text
    assert lone.json()["field"].startswith("body")


@pytest.mark.parametrize("job_id", ["a\r\nSet-Cookie: x=1", "a\nb", "id with space", "é"])
async def test_ids_that_could_inject_a_header_are_refused(
    client: httpx.AsyncClient, job_id
) -> None:
    reply = await client.post(f"{API}/jobs", json={"name": "x", "job_id": job_id})
    assert reply.status_code == 422 and reply.json()["field"] == "body.job_id"
    assert "set-cookie" not in reply.headers
    from urllib.parse import quote

    encoded = await client.get(f"{API}/jobs/" + quote(job_id, safe=""))
    assert encoded.status_code in (404, 422) and "set-cookie" not in encoded.headers


async def test_sse_frames_stay_well_formed(service: JobService) -> None:
    hub = EventHub(service)
    stream = hub.stream(None, None, heartbeat=5)
    await stream.__anext__()
    for text in STORABLE.values():
        await service.submit_job(text, [text])
    raw = b""
    while raw.count(b"\n\n") < len(STORABLE):  # frames may come several to a write
        raw += await stream.__anext__()
    frames = raw.decode().split("\n\n")
    assert frames[-1] == "" and len(frames) == len(STORABLE) + 1
    for text, frame in zip(STORABLE.values(), frames, strict=False):
        lines = frame.split("\n")
        assert [line.split(":", 1)[0] for line in lines] == ["id", "event", "data"], frame
        assert orjson.loads(lines[2][len("data: ") :])["name"] == text
    await stream.aclose()


@pytest.mark.parametrize("name", sorted(HOSTILE_REQUESTS))
async def test_hostile_requests_are_refused_and_change_nothing(
    service: JobService, name: str
) -> None:
    from jobdeck.web import create_app

    from .asgi_driver import drive
    from .conftest import OPERATE_KEY, keyed_auth

    case = HOSTILE_REQUESTS[name]
    headers = dict(case.get("headers", {}))  # type: ignore[call-overload]
    if case.get("keyed"):
        headers["authorization"] = f"Bearer {OPERATE_KEY}"
    if case.get("keyless"):
        app = create_app(service, allowed_hosts=["127.0.0.1", "localhost", "::1"])
    else:
        app = create_app(service, auth=keyed_auth())
    body: bytes = case.get("body", b"")  # type: ignore[assignment]
    if body and "content-length" not in headers and "transfer-encoding" not in headers:
        headers["content-length"] = str(len(body))
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    before = await service.get_metrics(1)
    reply = await drive(
        app, str(case["method"]), str(case["path"]), headers=list(headers.items()), chunks=chunks
    )
    assert reply.status == case["status"], (name, reply.status, reply.body[:300])
    assert "Traceback" not in reply.body.decode("utf-8", "replace")
    after = await service.get_metrics(1)
    assert after.paused == before.paused and after.depths == before.depths
    assert await service.list_schedules() == []
