"""API keys and scopes: no key, wrong key, read key on operate, read-only, keys files."""

from __future__ import annotations

import hashlib
import logging

import pytest

from jobdeck.web import ApiKeys
from jobdeck.web.auth import parse_key_lines

from .conftest import OPERATE_KEY, READ_KEY

pytestmark = pytest.mark.timeout(60)
API = "/api/v1"


@pytest.fixture(params=["memory"])
def url(request: pytest.FixtureRequest, prefix: str) -> str:
    return f"memory://{prefix}"


async def test_missing_and_wrong_keys_are_401_with_a_challenge(make_client) -> None:
    anonymous = await make_client(key=None)
    for method, path in [("GET", f"{API}/jobs"), ("POST", f"{API}/jobs"), ("GET", "/metrics")]:
        reply = await anonymous.request(method, path, json={"name": "x"})
        assert reply.status_code == 401, (path, reply.text)
        assert reply.headers["www-authenticate"].startswith("Bearer")
        assert reply.headers["content-type"] == "application/problem+json"
    wrong = await make_client(key="not-the-key-at-all-000")
    reply = await wrong.get(f"{API}/jobs")
    assert reply.status_code == 401 and "not-the-key" not in reply.text
    basic = await anonymous.get(f"{API}/jobs", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


async def test_read_key_reads_but_does_not_operate(make_client) -> None:
    reader = await make_client(key=READ_KEY)
    assert (await reader.get(f"{API}/jobs")).status_code == 200
    assert (await reader.get(f"{API}/jobs/metrics")).status_code == 200
    refused = await reader.post(f"{API}/jobs", json={"name": "x"})
    assert refused.status_code == 403 and "operate" in refused.json()["detail"]
    assert (await reader.post(f"{API}/queue/pause")).status_code == 403
    via_header = await make_client(key=None)
    ok = await via_header.get(f"{API}/jobs", headers={"X-API-Key": READ_KEY})
    assert ok.status_code == 200


async def test_read_only_refuses_operate_whatever_the_key(make_client) -> None:
    operator = await make_client(key=OPERATE_KEY, read_only=True)
    assert (await operator.get(f"{API}/jobs")).status_code == 200
    for method, path in [
        ("POST", f"{API}/jobs"),
        ("POST", f"{API}/jobs/batch"),
        ("DELETE", f"{API}/jobs/x"),
        ("POST", f"{API}/queue/pause"),
        ("POST", f"{API}/jobs/dead-letters/retry-all"),
    ]:
        reply = await operator.request(method, path, json={"name": "x"})
        assert reply.status_code == 403, (method, path)
        assert reply.json()["detail"] == "this server is read-only"


async def test_open_metrics_flag(make_client) -> None:
    anonymous = await make_client(key=None, open_metrics=True)
    assert (await anonymous.get("/metrics")).status_code == 200
    assert (await anonymous.get("/healthz")).status_code == 200
    assert (await anonymous.get(f"{API}/jobs")).status_code == 401


def test_keys_file_forms_and_errors(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "a-file-key-0123456789"
    digest = hashlib.sha256(b"hashed-key-0123456789").hexdigest()
    path = tmp_path / "keys"
    path.write_text(f"# ops\noperate:{secret}\n\nread:sha256:{digest}\n")
    keys = ApiKeys.load("read:env-key-0123456789abc", path)
    assert keys.match(secret).allows("operate")
    assert not keys.match("hashed-key-0123456789").allows("operate")
    assert keys.match("hashed-key-0123456789").allows("read")
    assert keys.match("env-key-0123456789abc") is not None
    assert keys.match("nope") is None
    for bad in ["admin:whatever-0123456789", "read:short", "read:sha256:zz", "nocolon"]:
        with pytest.raises(ValueError) as info:
            parse_key_lines([bad], "f")
        assert "whatever" not in str(info.value) and "short" not in str(info.value)
    assert secret not in caplog.text
