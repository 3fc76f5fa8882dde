"""What `celery -A bench.peers.celery_tasks worker` imports: a Celery app with the Redis broker
(no result backend: Celery's default) and the four tasks. Tasks run on the thread pool, so the
sleep job uses time.sleep."""

from __future__ import annotations

import time

from celery import Celery

from bench.peers.base import SLEEP_SECONDS, env_redis_url
from bench.peers.completion import mark_done, mark_started, round_trip

app = Celery("bench", broker=env_redis_url())


@app.task(name="noop")
def noop() -> None:
    mark_done()


@app.task(name="sleep")
def sleep() -> None:
    mark_started()
    time.sleep(SLEEP_SECONDS)
    mark_done()


@app.task(name="probe")
def probe(index: int) -> None:
    mark_done(index)


@app.task(name="rt")
def rt() -> None:
    round_trip()
    mark_done()
