"""`SyncJobService.submit_job` sent by the calling thread (issue 27, item 1): the same checks,
errors, refusals and answers as the loop's path, from any number of threads and after a fork,
on every kind of server.

Each test opens the path the way a user does (the first submit goes through the loop and
connects; the next ones are the calling thread's) and checks that it stayed in use, so a test
cannot pass by quietly falling back to the old path.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from jobdeck.core import JobPriority, OutOfMemory, SyncJobService
from jobdeck.core.backend.redis.sync_submit import SyncSubmitter

from .hostile import CORPUS, LONG
from .redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)


def opened(url: str, prefix: str, queue: str = "default", **options: Any) -> SyncJobService:
    """A client whose calling-thread path is open (one submit through the loop first)."""
    client = SyncJobService(url, queue=queue, prefix=prefix, **options)
    client.submit_job("warm-up")
    assert isinstance(client._submitter, SyncSubmitter)
    return client


def on_the_fast_path(client: SyncJobService) -> bool:
    submitter = client._submitter
    return isinstance(submitter, SyncSubmitter) and submitter._link is not None


@pytest.fixture
def pair(redis_url: str, prefix: str) -> Iterator[tuple[SyncJobService, SyncJobService]]:
    """The calling thread's path, and the loop's (as every submit went before)."""
    fast = opened(redis_url, prefix, "fast")
    loop = opened(redis_url, prefix, "loop")
    loop._submitter = False
    yield fast, loop
    fast.close()
    loop.close()


def outcome(client: SyncJobService, **submit: Any) -> tuple[Any, ...]:
    """What a submit came to: the error (type and message) or the job as stored."""
    try:
        job_id = client.submit_job(**submit)
    except Exception as exc:
        return ("refused", type(exc).__name__, str(exc))
    job = client.get_job(job_id)
    assert job is not None, submit
    given = submit.get("job_id")
    return ("queued", job_id if given else "<new id>", job.name, job.args, job.kwargs,
            job.priority, job.max_retries, job.timeout, job.status, job.meta, job.result_ttl,
            job.limit, job.group)  # fmt: skip


HOSTILE = {**CORPUS, "long": LONG, "empty": "", "spaces": "   "}
ODD_VALUES: dict[str, Any] = {
    "none": None, "float": 1.5, "nan": math.nan, "inf": math.inf, "negative": -1,
    "huge": 10**30, "bytes": b"raw", "bool": True, "list": [1], "dict": {"a": 1},
    "object": object(), "priority-name": "high", "priority-bad": "urgent",
}  # fmt: skip


def hostile_submits() -> list[tuple[str, dict[str, Any]]]:
    """Every field of a submit with every hostile string, and the odd values of each type."""
    cases: list[tuple[str, dict[str, Any]]] = []
    for key, text in HOSTILE.items():
        cases += [
            (f"name={key}", {"name": text}),
            (f"args={key}", {"name": "x", "args": [text, {text: text}]}),
            (f"kwargs-key={key}", {"name": "x", "kwargs": {text: 1}}),
            (f"kwargs-value={key}", {"name": "x", "kwargs": {"k": text}}),
            (f"job_id={key}", {"name": "x", "job_id": text}),
            (f"unique_key={key}", {"name": "x", "unique_key": text}),
            (f"limit={key}", {"name": "x", "limit": text}),
            (f"group={key}", {"name": "x", "group": text}),
            (f"meta-key={key}", {"name": "x", "meta": {text: 1}}),
            (f"meta-value={key}", {"name": "x", "meta": {"k": text}}),
        ]
    for key, value in ODD_VALUES.items():
        for field in ("name", "args", "kwargs", "priority", "max_retries", "timeout", "delay",
                      "job_id", "unique_key", "unique_for", "limit", "group", "result_ttl",
                      "meta"):  # fmt: skip
            cases.append((f"{field}={key}", {"name": "x", field: value}))
    cases.append(("args-not-json", {"name": "x", "args": [object()]}))
    cases.append(("kwargs-int-key", {"name": "x", "kwargs": {1: "a"}}))
    cases.append(("priority-enum", {"name": "x", "priority": JobPriority.HIGH}))
    return cases


def test_the_hostile_corpus_gets_the_same_answers_on_both_paths(
    pair: tuple[SyncJobService, SyncJobService],
) -> None:
    """Every hostile string in every field, and odd values of every type: the calling
    thread's path refuses what the loop's refuses, with the same error and message, and
    stores what it stores, the same way; a refusal writes nothing."""
    fast, loop = pair
    cases = hostile_submits()
    refused = 0
    for label, submit in cases:
        expected = outcome(loop, **submit)
        got = outcome(fast, **submit)
        assert got == expected, label
        refused += expected[0] == "refused"
    assert 0 < refused < len(cases)  # the corpus has both kinds
    fast_depth = fast.get_metrics(1).depths
    loop_depth = loop.get_metrics(1).depths
    assert fast_depth == loop_depth
    assert on_the_fast_path(fast)


def test_sixteen_threads_get_their_own_answers(redis_url: str, prefix: str) -> None:
    """Threads whose submits go out together in one script call each get their own job's
    answer: a unique key taken by a job of the same batch answers with that job's id."""
    with opened(redis_url, prefix) as client:
        answers: dict[tuple[int, int], str] = {}
        start = threading.Barrier(16)

        def submit(thread: int) -> None:
            start.wait()
            for i in range(60):
                key = f"u{i % 5}" if i % 3 == 0 else None
                answers[thread, i] = client.submit_job(
                    "x", (thread, i), job_id=f"j{thread}-{i}", unique_key=key
                )

        threads = [threading.Thread(target=submit, args=(t,)) for t in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        holders: dict[str, str] = {}
        for (thread, i), job_id in answers.items():
            if i % 3 == 0:  # one job per unique key was queued; the rest got its id
                holders.setdefault(f"u{i % 5}", job_id)
                assert job_id == holders[f"u{i % 5}"]
            else:
                assert job_id == f"j{thread}-{i}"
        assert len(holders) == 5
        for key, holder in holders.items():
            job = client.get_job(holder)
            assert job is not None and job.status == "pending", key
        pending = client.get_metrics(1).depths["pending"]
        assert pending == 1 + 16 * 40 + 5  # the warm-up, the plain jobs, one per key
        assert on_the_fast_path(client)


def test_concurrent_submits_share_script_calls(prefix: str) -> None:
    """Sixteen threads submitting at once make fewer script calls than jobs (the jobs that
    wait while a call is out go together in the next one), one by one one call each."""
    server = RedisServer().start()
    try:
        admin = redis.Redis.from_url(server.url)
        with opened(server.url, prefix) as client:

            def calls(work: Callable[[], None]) -> int:
                admin.config_resetstat()
                work()
                stats = admin.info("commandstats")
                return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))

            def alone() -> None:
                for _ in range(200):
                    client.submit_job("x")

            def together() -> None:
                threads = [threading.Thread(target=alone) for _ in range(16)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()

            assert calls(alone) == 200
            assert calls(together) < 16 * 200
            assert client.get_metrics(1).depths["pending"] == 1 + 200 + 16 * 200
    finally:
        server.stop()


def test_a_forked_child_uses_its_own_connection(redis_url: str, prefix: str) -> None:
    """A pre-forking server: the client is opened in the parent, used in the child. The
    child's submits go over a connection of its own (named with its pid)."""
    client = opened(redis_url, prefix)
    pid = os.fork()
    if pid == 0:  # the child: any failure shows as its exit status
        code = 1
        try:
            ids = [client.submit_job("child", (i,)) for i in range(3)]
            assert all(client.get_job(job_id) is not None for job_id in ids)
            names = redis.Redis.from_url(redis_url).client_list()
            mine = [c for c in names if c["name"].endswith(f":{os.getpid()}")]
            assert any(c["cmd"] == "evalsha" for c in mine), mine
            assert on_the_fast_path(client)
            code = 0
        finally:
            os._exit(code)
    parent_ids = [client.submit_job("parent", (i,)) for i in range(3)]
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert all(client.get_job(job_id) is not None for job_id in parent_ids)
    assert client.get_metrics(1).depths["pending"] == 7
    client.close()


@pytest.mark.slow
def test_a_full_redis_refuses_the_same_way(prefix: str) -> None:
    """maxmemory reached (noeviction): OutOfMemory, as the loop's path raises it."""
    from .test_full_redis import fill

    server = RedisServer(extra=["--maxmemory", "6mb", "--maxmemory-policy", "noeviction"])
    server.start()
    try:
        with opened(server.url, prefix) as client:
            fill(redis.Redis.from_url(server.url), prefix)
            with pytest.raises(OutOfMemory, match="out of memory"):
                client.submit_job("x", job_id="refused")
            assert on_the_fast_path(client)
            assert client.get_job("refused") is None
    finally:
        server.stop()


def test_a_dropped_connection_or_flushed_scripts_lose_nothing(redis_url: str, prefix: str) -> None:
    """The calling thread's socket killed by the server: that submit goes through the loop
    (which reconnects) and the next one is the calling thread's again; scripts flushed
    from the server are loaded again."""
    admin = redis.Redis.from_url(redis_url)
    with opened(redis_url, prefix) as client:
        before = client.submit_job("x")
        assert on_the_fast_path(client)
        name = client._service.backend.connection.client_name  # type: ignore[union-attr]
        killed = admin.client_kill_filter(_type="normal", skipme=True)
        assert killed >= 1, name
        after = client.submit_job("x")
        again = client.submit_job("x")
        assert on_the_fast_path(client)
        admin.script_flush()
        flushed = client.submit_job("x")
        for job_id in (before, after, again, flushed):
            assert client.get_job(job_id) is not None
        assert client.get_metrics(1).depths["pending"] == 5


def test_a_server_that_does_not_answer_times_out(redis_url: str, prefix: str) -> None:
    """The client's `timeout` bounds a submit on the calling thread's path as on the loop's."""
    admin = redis.Redis.from_url(redis_url)
    with opened(redis_url, prefix, timeout=0.5) as client:
        admin.execute_command("CLIENT", "PAUSE", 2000, "WRITE")
        try:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                client.submit_job("x")
            assert time.monotonic() - started < 1.5
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")
        assert client.submit_job("x")


def test_a_closed_client_refuses(redis_url: str, prefix: str) -> None:
    client = opened(redis_url, prefix)
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.submit_job("x")


@pytest.mark.slow
def test_a_password_is_never_shown_when_the_path_fails(prefix: str) -> None:
    """The password changes under an open client: reconnecting fails; the error (from the
    loop's path, where the calling thread's hands a failed connection) never quotes it."""
    secret = "s3cret-pw-27"
    server = RedisServer().start()
    try:
        server.cli("CONFIG", "SET", "requirepass", secret)
        url = f"redis://:{secret}@127.0.0.1:{server.port}/0"
        with opened(url, prefix, timeout=3.0) as client:
            admin = redis.Redis.from_url(url)
            admin.config_set("requirepass", "another-one")
            admin.client_kill_filter(_type="normal", skipme=True)
            with pytest.raises(Exception) as caught:
                client.submit_job("x")
            assert secret not in str(caught.value) and secret not in repr(caught.value)
    finally:
        server.stop()
