"""The gate: nothing of a request's body is read before its caller is known and allowed;
bodies are bounded however they are sent; keyless mode takes writes only from its own pages
and answers only for its own host names; routes added later are guarded without a word;
HEAD answers as GET. Each class here is an attack the hostile review found or a variant."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from jobdeck.core import JobService
from jobdeck.web import create_app
from jobdeck.web.gate import is_json
from jobdeck.web.limits import BodyLimits

from .asgi_driver import drive
from .conftest import OPERATE_KEY, READ_KEY, keyed_auth

pytestmark = pytest.mark.timeout(60)
API = "/api/v1"
BIG = 16 * 1024 * 1024 - 1  # just under the default limit: before the gate, read and parsed
OPERATE = [("authorization", f"Bearer {OPERATE_KEY}")]


@pytest.fixture(params=["memory"])
def url(request: pytest.FixtureRequest, prefix: str) -> str:
    return f"memory://{prefix}"


def _later_routes(app: FastAPI) -> None:
    """Routes another module adds after `create_app`, declaring no access at all."""

    @app.post(f"{API}/added-later")
    async def added_later(body: dict) -> dict:  # type: ignore[type-arg]
        return {"ok": True, "keys": sorted(body)}

    @app.get("/also-later")
    async def also_later() -> dict:  # type: ignore[type-arg]
        return {"secret": "data"}

    # before the dashboard's files, which are mounted at / and would catch these paths
    app.router.routes.sort(key=lambda route: isinstance(route, Mount))


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", f"{API}/jobs"),
        ("POST", f"{API}/jobs/batch"),
        ("PUT", f"{API}/schedules/nightly"),
        ("POST", f"{API}/queue/pause"),
        ("POST", f"{API}/jobs/dead-letters/retry-all"),
        ("POST", f"{API}/added-later"),
        # variants: every route that takes a body, and another queue's routes
        ("POST", f"{API}/chains"),
        ("POST", f"{API}/groups"),
        ("PUT", f"{API}/limits/stripe"),
        ("POST", f"{API}/jobs/bulk"),
        ("POST", f"{API}/jobs/workers/scale"),
        ("POST", f"{API}/queues/other/jobs"),
        ("POST", f"{API}/queues/other/jobs/batch"),
        ("POST", "/nowhere"),
        ("PATCH", f"{API}/jobs"),
    ],
)
@pytest.mark.parametrize(
    "credential",
    [
        [],
        [("authorization", "Bearer wrong-key-0123456789")],
        [("x-api-key", READ_KEY)],
        [("cookie", "jobdeck_session=forged.value")],
        [("authorization", "Basic b3BlcmF0ZTprZXk=")],
    ],
    ids=["none", "wrong-key", "read-key", "forged-cookie", "basic"],
)
async def test_no_body_byte_is_read_before_the_caller_may_write(
    service: JobService, method: str, path: str, credential: list[tuple[str, str]]
) -> None:
    app = create_app(service, auth=keyed_auth())
    _later_routes(app)
    headers = [*credential, ("content-type", "application/json"), ("content-length", str(BIG))]
    reply = await drive(app, method, path, headers=headers, chunks=[b"{" + b" " * 65536] * 3)
    assert reply.status in (401, 403), (reply.status, reply.body)
    assert reply.reads == 0, "the body was read before the caller was refused"
    assert reply.headers["connection"] == "close"  # the rest of the upload is not waited for
    assert reply.headers["content-type"] == "application/problem+json"


async def test_unknown_paths_and_later_routes_need_a_credential(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth())
    _later_routes(app)
    for path in (f"{API}/added-later", "/also-later", f"{API}/nope", "/docs", "/openapi.json"):
        assert (await drive(app, "GET", path)).status == 401, path
    ok = await drive(
        app,
        "POST",
        f"{API}/added-later",
        headers=[*OPERATE, ("content-type", "application/json"), ("content-length", "8")],
        chunks=[b'{"a"', b": 1}"],
    )
    assert ok.status == 200 and ok.json() == {"ok": True, "keys": ["a"]}
    read_only_write = await drive(
        app, "POST", f"{API}/added-later", headers=[("x-api-key", READ_KEY)]
    )
    assert read_only_write.status == 403


async def test_a_body_over_the_limit_is_413_however_it_is_sent(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth(), max_body=1000)
    json = ("content-type", "application/json")
    declared = await drive(
        app, "POST", f"{API}/jobs", headers=[*OPERATE, json, ("content-length", "1001")]
    )
    assert declared.status == 413 and declared.reads == 0
    chunked = await drive(
        app,
        "POST",
        f"{API}/jobs/batch",
        headers=[*OPERATE, json, ("transfer-encoding", "chunked")],
        chunks=[b'{"jobs": [' + b" " * 300] * 5,
    )
    assert chunked.status == 413, chunked.body
    assert chunked.json()["field"] == "body" and "1000 bytes" in chunked.json()["detail"]
    assert chunked.reads <= 4  # stopped as soon as it passed the limit
    lying = await drive(  # declares less than it sends
        app,
        "POST",
        f"{API}/jobs",
        headers=[*OPERATE, json, ("content-length", "10")],
        chunks=[b" " * 600, b" " * 600],
    )
    assert lying.status == 413


async def test_a_body_sent_too_slowly_is_408(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth(), body_limits=BodyLimits(idle=0.2, total=5))
    reply = await drive(
        app,
        "POST",
        f"{API}/jobs",
        headers=[*OPERATE, ("content-type", "application/json"), ("content-length", "20")],
        chunks=[b'{"name":', b' "x"}'],
        chunk_delay=0.5,
    )
    assert reply.status == 408 and reply.headers["connection"] == "close"
    trickle = create_app(service, auth=keyed_auth(), body_limits=BodyLimits(idle=5, total=0.3))
    slow = await drive(
        trickle,
        "POST",
        f"{API}/jobs",
        headers=[*OPERATE, ("content-type", "application/json"), ("content-length", "20")],
        chunks=[b"{", b'"name"', b":", b' "x"', b"}"],
        chunk_delay=0.1,
    )
    assert slow.status == 408


async def test_sign_in_reads_at_most_a_small_json_body(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth())
    path = f"{API}/session"
    big = await drive(
        app,
        "POST",
        path,
        headers=[("content-type", "application/json"), ("content-length", str(BIG))],
        chunks=[b" " * 65536],
    )
    assert big.status == 413 and big.reads == 0
    chunked = await drive(
        app,
        "POST",
        path,
        headers=[("content-type", "application/json"), ("transfer-encoding", "chunked")],
        chunks=[b" " * 3000] * 10,
    )
    assert chunked.status == 413 and chunked.reads <= 2
    for content_type in (
        "text/plain; charset=application/json",
        "text/plain;application/json",
        "application/jsonx",
        "multipart/form-data; boundary=application/json",
        "",
    ):
        body = f'{{"key": "{OPERATE_KEY}"}}'.encode()
        reply = await drive(
            app,
            "POST",
            path,
            headers=[("content-type", content_type), ("content-length", str(len(body)))],
            chunks=[body],
        )
        assert reply.status == 415 and reply.reads == 0, content_type
    body = f'{{"key": "{OPERATE_KEY}"}}'.encode()
    signed = await drive(
        app,
        "POST",
        path,
        headers=[("content-type", "Application/JSON; charset=utf-8"), ("content-length", "40")],
        chunks=[body],
    )
    assert signed.status == 200 and "set-cookie" in signed.headers


def test_json_is_a_media_type_not_a_substring() -> None:
    assert is_json("application/json") and is_json(" APPLICATION/JSON ; charset=utf-8")
    assert not is_json("text/plain; a=application/json") and not is_json("application/json5")
    assert not is_json(None) and not is_json("")


async def test_head_answers_as_get_without_a_body(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth())
    await service.submit_job("x", [1])
    scoped = f"{API}/queues/{service.queue}"
    for path in (
        f"{API}/jobs?status=pending",
        "/healthz",
        f"{API}/jobs/metrics",
        "/",
        # variants: a queue's own routes, the overview, the vocabulary
        f"{scoped}/jobs?status=pending",
        f"{scoped}/jobs/metrics",
        f"{API}/queues/overview",
        f"{API}/vocabulary",
    ):
        # between two GETs of the same length (a rate or an age in the body may move on)
        for _ in range(5):
            get = await drive(app, "GET", path, headers=OPERATE)
            head = await drive(app, "HEAD", path, headers=OPERATE)
            again = await drive(app, "GET", path, headers=OPERATE)
            if len(get.body) == len(again.body):
                break
        assert get.status == head.status == 200, path
        assert head.body == b"" and head.headers.get("content-length") == str(len(get.body))
    stream = await drive(app, "HEAD", f"{API}/events", headers=OPERATE, timeout=5)
    assert stream.status == 200 and stream.body == b""
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert (await drive(app, "HEAD", f"{API}/jobs")).status == 401


# -- keyless mode ------------------------------------------------------------------------

LOCAL = [("host", "127.0.0.1:8080")]


async def test_keyless_writes_come_only_from_the_servers_own_pages(service: JobService) -> None:
    app = create_app(service, allowed_hosts=["127.0.0.1", "localhost", "::1"])
    pause = f"{API}/queue/pause"
    refused = {
        "cross-site fetch": [("origin", "http://evil.example"), ("x-csrf-token", "")],
        "same-site page on another port": [
            ("origin", "http://127.0.0.1:3000"),
            ("content-type", "application/json"),
        ],
        "sandboxed page": [("origin", "null"), ("content-type", "application/json")],
        "fetch metadata": [("sec-fetch-site", "cross-site"), ("x-csrf-token", "")],
        "same-site metadata": [("sec-fetch-site", "same-site"), ("x-csrf-token", "")],
        "simple form post": [("content-type", "application/x-www-form-urlencoded")],
        "text/plain with json inside": [("content-type", "text/plain; x=application/json")],
        "body-less post": [],
    }
    for name, headers in refused.items():
        reply = await drive(app, "POST", pause, headers=[*LOCAL, *headers])
        assert reply.status == 403, (name, reply.body)
    assert not (await service.get_metrics(1)).paused
    allowed = {
        "the dashboard (its header)": [
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
            ("x-csrf-token", ""),
        ],
        "curl with json": [("content-type", "application/json")],
        "a typed url": [("sec-fetch-site", "none"), ("x-csrf-token", "")],
    }
    for name, headers in allowed.items():
        reply = await drive(app, "POST", pause, headers=[*LOCAL, *headers])
        assert reply.status == 200, (name, reply.body)
    read = await drive(app, "GET", f"{API}/jobs", headers=[*LOCAL, ("origin", "http://x.test")])
    assert read.status == 200  # reads cross nothing: the browser keeps their reply


async def test_keyless_answers_only_for_its_own_host_names(service: JobService) -> None:
    app = create_app(service, allowed_hosts=["127.0.0.1", "localhost", "::1"])
    for host in ("127.0.0.1:8080", "localhost:8080", "[::1]:8080", "app.localhost", "127.0.0.2"):
        reply = await drive(app, "GET", f"{API}/jobs", headers=[("host", host)])
        assert reply.status == 200, host
    for host in ("evil.example", "evil.example:8080", "127.0.0.1.evil.example", "", "[::2]"):
        reply = await drive(app, "GET", f"{API}/jobs", headers=[("host", host)])
        assert reply.status == 400 and reply.json()["field"] == "header.host", host
    rebinding = await drive(
        app,
        "POST",
        f"{API}/queue/pause",
        headers=[("host", "evil.example"), ("origin", "http://evil.example"), ("x-csrf-token", "")],
    )
    assert rebinding.status == 400 and not (await service.get_metrics(1)).paused


# -- health and metrics ------------------------------------------------------------------


async def test_health_answers_anyone_and_reveals_nothing(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth())
    assert (await drive(app, "GET", "/healthz")).json() == {"status": "ok"}
    assert (await drive(app, "GET", "/readyz")).json() == {"status": "ready"}
    assert (await drive(app, "GET", "/metrics")).status == 401
    assert (await drive(app, "GET", "/metrics", headers=OPERATE)).status == 200
    opened = create_app(service, auth=keyed_auth(), open_metrics=True)
    assert (await drive(opened, "GET", "/metrics")).status == 200
    closed = create_app(service, auth=keyed_auth(), open_health=False)
    assert (await drive(closed, "GET", "/healthz")).status == 401


# -- smaller holes (issue 25 item 9) -----------------------------------------------------

BEYOND_64_BITS = "99999999999999999999-0"


async def test_an_event_id_beyond_64_bits_is_422_not_an_outage(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth())
    for path, headers in (
        (f"{API}/events", [*OPERATE, ("last-event-id", BEYOND_64_BITS)]),
        (f"{API}/events?after={BEYOND_64_BITS}", OPERATE),
        (f"{API}/events?after=1-18446744073709551616", OPERATE),
        # variants: another queue's stream, with summaries asked for
        (f"{API}/queues/{service.queue}/events?after={BEYOND_64_BITS}", OPERATE),
        (f"{API}/events?summaries=workers&after={BEYOND_64_BITS}", OPERATE),
    ):
        reply = await drive(app, "GET", path, headers=headers, timeout=5)
        assert reply.status == 422, (path, reply.body)
        assert reply.json()["field"] in ("header.last-event-id", "query.after")
    for summaries in ("everything", "workers,", "workers\r\nevent: x", ""):
        reply = await drive(app, "GET", f"{API}/events?summaries={summaries}", headers=OPERATE)
        assert reply.status == 422 and reply.json()["field"] == "query.summaries", summaries
    job_id = await service.submit_job("x")
    events = await drive(
        app, "GET", f"{API}/jobs/{job_id}/events?after={BEYOND_64_BITS}", headers=OPERATE
    )
    assert events.status == 422 and events.json()["field"] == "query.after"
    edge = await drive(
        app, "GET", f"{API}/jobs/{job_id}/events?after=18446744073709551615-0", headers=OPERATE
    )
    assert edge.status == 200


async def test_a_schedule_body_is_strictly_typed(service: JobService) -> None:
    app = create_app(service, auth=keyed_auth())

    async def put(body: dict) -> Any:  # type: ignore[type-arg]
        raw = orjson.dumps(body)
        return await drive(
            app,
            "PUT",
            f"{API}/schedules/nightly",
            headers=[
                *OPERATE,
                ("content-type", "application/json"),
                ("content-length", str(len(raw))),
            ],
            chunks=[raw],
        )

    for bad, field in (
        ({"job": "w", "every": True}, "body.every"),
        ({"job": "w", "every": "60"}, "body.every"),
        ({"job": "w", "every": 60, "max_retries": True}, "body.max_retries"),
        ({"job": "w", "every": 60, "priority": True}, "body.priority"),
        ({"job": "w", "every": 60, "timeout": "5"}, "body.timeout"),
        ({"job": 7, "every": 60}, "body.job"),
    ):
        reply = await put(bad)
        assert reply.status == 422 and reply.json()["field"] == field, (bad, reply.body)
    assert await service.list_schedules() == []
    assert (await put({"job": "w", "every": 60.0, "timeout": 5})).status == 200


async def test_readyz_answers_503_within_a_probes_patience_when_redis_is_down() -> None:
    from ..redis_server import RedisServer

    server = RedisServer().start()
    service = JobService(server.url, prefix="readyz")
    try:
        await service.initialize()
        app = create_app(service, auth=keyed_auth())
        assert (await drive(app, "GET", "/readyz")).status == 200
        server.stop()
        started = time.monotonic()
        reply = await drive(app, "GET", "/readyz", timeout=10)
        took = time.monotonic() - started
        assert reply.status == 503 and "retry-after" in reply.headers
        assert took < 2.5, f"readyz took {took:.1f} s: a 5 s probe would see a timeout"
    finally:
        await service.close()
        server.stop()


@pytest.mark.slow
async def test_a_session_checked_while_redis_is_down_is_503_not_500() -> None:
    from ..redis_server import RedisServer

    server = RedisServer().start()
    service = JobService(server.url, prefix="gate503")
    try:
        await service.initialize()
        app = create_app(service, auth=keyed_auth())
        body = f'{{"key": "{OPERATE_KEY}"}}'.encode()
        signed = await drive(
            app,
            "POST",
            f"{API}/session",
            headers=[("content-type", "application/json"), ("content-length", str(len(body)))],
            chunks=[body],
        )
        cookie = signed.headers["set-cookie"].split(";", 1)[0]
        server.stop()
        reply = await drive(app, "GET", f"{API}/jobs", headers=[("cookie", cookie)], timeout=20)
        assert reply.status == 503 and reply.headers["content-type"] == "application/problem+json"
    finally:
        await service.close()
        server.stop()
